"""Markup that arrives at render time (``|safe``, ``Markup``, a rich-text field), inlined alone.

A compiled template cannot see markup that a value brings in, so each place that outputs such
a value (a *site*) keeps, from compile time, the chain of elements around it and the
stylesheets premailer reads. At render time :class:`FragmentInliner` runs premailer on that
chain with the fragment inside, and takes the fragment back out: the same rules match the same
elements as they would in the whole document, at a cost that grows with the fragment, not the
email. Where that cannot hold for one value (it brings its own ``<style>``, or the HTML parser
would move it out of its parent), :class:`NeedsWholeDocument` tells the renderer to inline the
whole rendering instead.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    import lxml.html

FILTER = "emailkit_fragment"
_MARKER = "data-emailkit-fragment"
_END = "<emailkit-fragment-end></emailkit-fragment-end>"
_BRINGS_CSS = re.compile(r"<\s*(?:style|link)\b", re.IGNORECASE)


class NeedsWholeDocument(Exception):
    """This rendering's markup cannot be inlined alone; inline the whole document instead."""


@dataclass(frozen=True)
class Site:
    """Where markup from a value lands: its ancestors (tag and attributes, outermost first)
    and the stylesheets premailer reads, in document order."""

    ancestors: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    stylesheets: tuple[str, ...]

    @functools.cached_property
    def inert(self) -> bool:
        """No rule premailer would inline: markup here comes out as it went in."""
        from .cssrules import inlined_selectors  # cssutils: only once markup arrives

        return not any(next(inlined_selectors(css), None) for css in self.stylesheets)

    @property
    def key(self) -> str:
        return hashlib.sha1(repr(self).encode()).hexdigest()[:16]

    def document(self, fragment: str) -> str:
        """A document holding only this site's ancestors, the stylesheets and ``fragment``."""
        styles = "".join(f"<style>{css}</style>" for css in self.stylesheets)
        opening, closing = [], []
        for depth, (tag, attributes) in enumerate(self.ancestors):
            pairs = [*attributes, (_MARKER, "")] if depth == len(self.ancestors) - 1 else attributes
            attrs = "".join(f' {name}="{html.escape(value)}"' for name, value in pairs)
            opening.append(f"<{tag}{attrs}>")
            if tag == "html":
                opening.append(f"<head>{styles}</head>")
            closing.append(f"</{tag}>")
        return "".join(opening) + fragment + _END + "".join(reversed(closing))


def site_for(element: lxml.html.HtmlElement, stylesheets: Sequence[str]) -> Site:
    """The :class:`Site` of a placeholder's parent ``element`` in the protected document."""
    chain = [element, *element.iterancestors()]
    ancestors = tuple(
        (str(node.tag), tuple((str(k), str(v)) for k, v in node.attrib.items()))
        for node in reversed(chain)
    )
    return Site(ancestors, tuple(stylesheets))


class FragmentInliner:
    """The ``emailkit_fragment`` filter: inline a value's markup with its site's stylesheets."""

    def __init__(self) -> None:
        self.sites: dict[str, Site] = {}

    def register(self, site: Site) -> str:
        self.sites[site.key] = site
        return site.key

    def __call__(self, value: object, key: str) -> object:
        if not hasattr(value, "__html__"):
            return value  # plain text: autoescaping makes it text in the whole document too
        markup = str(value.__html__())
        site = self.sites[key]
        if "<" not in markup:
            return value
        if _BRINGS_CSS.search(markup):
            raise NeedsWholeDocument("the markup brings its own stylesheet")
        if site.inert:
            return value
        return Markup(_inline(site, markup))


@functools.lru_cache(maxsize=1024)
def _inline(site: Site, markup: str) -> str:
    import lxml.html

    from .cssrules import Premailer  # premailer: only once markup arrives

    inlined = Premailer().transform(site.document(markup), pretty_print=False)
    document = lxml.html.document_fromstring(inlined)
    found = document.xpath(f"//*[@{_MARKER}]")
    end = document.xpath("//emailkit-fragment-end")
    if len(found) != 1 or len(end) != 1:
        raise NeedsWholeDocument("the HTML parser moves the markup out of its element")
    holder = found[0]
    if end[0].getparent() is holder:
        holder.remove(end[0])
        parts = [html.escape(holder.text or "", quote=False)]
        parts.extend(lxml.html.tostring(child, encoding="unicode") for child in holder)
        return "".join(parts)
    return _moved(site, holder, end[0])


def _moved(site: Site, holder: lxml.html.HtmlElement, end: lxml.html.HtmlElement) -> str:
    """The markup when the parser closed its element early (a ``<p>`` inside a ``<p>``): the
    holder's content, then its siblings up to the end mark. Placed in the whole document, it
    is moved the same way, so the same rules match, unless a rule tests siblings."""
    import lxml.html

    from .cssrules import inlined_selectors, is_structural

    if end.getparent() is not holder.getparent() or any(
        is_structural(selector) for css in site.stylesheets for selector in inlined_selectors(css)
    ):
        raise NeedsWholeDocument("the HTML parser moves the markup out of its element")
    parts = [html.escape(holder.text or "", quote=False)]
    parts.extend(lxml.html.tostring(child, encoding="unicode") for child in holder)
    sibling = holder.getnext()
    while sibling is not None and sibling is not end:
        parts.append(lxml.html.tostring(sibling, encoding="unicode", with_tail=True))
        sibling = sibling.getnext()
    return "".join(parts)

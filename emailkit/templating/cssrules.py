"""What premailer does with a stylesheet, without the network, and which of its rules it inlines.

:class:`Premailer` is premailer with cssutils' ``@import`` fetching turned off (premailer's own
``allow_network=False`` covers ``<link>`` only): nothing is ever fetched, and a remote
``@import`` stays in the ``<style>`` left in ``<head>``, where mail clients that support it load
it. :func:`inlined_selectors` lists the selectors premailer copies into ``style=`` attributes,
and :func:`sibling_sensitive` says which elements a selector's match depends on the siblings
of, so compile-time inlining can tell when control flow could change what a rule matches.
"""

from __future__ import annotations

import copy
import functools
import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import cssselect
import cssutils
import lxml.etree
import premailer
import premailer.merge_style
import premailer.premailer
from cssselect import parser as css
from cssselect.parser import Tree

# Leftover rules (@media, :hover) keep their !important: without it they cannot beat inline styles.
PREMAILER_OPTIONS = {
    "allow_network": False,
    "strip_important": False,
    "keep_style_tags": False,
    "remove_classes": False,
    "exclude_pseudoclasses": True,
    "cssutils_logging_level": logging.CRITICAL,
}

# Selectors with these endings are inlined although they hold a ':' (premailer's own list).
_INLINED_PSEUDO = set(premailer.premailer.FILTER_PSEUDOSELECTORS)
_POSITIONAL = {
    "first-child",
    "last-child",
    "only-child",
    "first-of-type",
    "last-of-type",
    "only-of-type",
    "nth-child",
    "nth-last-child",
    "nth-of-type",
    "nth-last-of-type",
}
_TRANSLATOR = cssselect.HTMLTranslator()


def _no_fetch(url: str) -> None:
    """cssutils' fetcher for ``@import``: never fetch (None leaves the rule as written)."""
    return None


@functools.lru_cache(maxsize=256)
def parse_stylesheet(css_text: str, validate: bool = True) -> cssutils.css.CSSStyleSheet:
    """The parsed sheet, with ``@import`` never fetched; cached on the text, like premailer's."""
    parser = cssutils.CSSParser(fetcher=_no_fetch, validate=validate, loglevel=logging.CRITICAL)
    return parser.parseString(css_text)


def _lasting_cache(function: Any, size: int = 8192) -> Any:
    """premailer's own ``function_cache`` keeps 128 entries for everything together, so a
    stylesheet of a few hundred selectors is re-parsed on every call: the undecorated
    function behind an LRU cache of its own (same results, kept)."""
    plain = function
    while hasattr(plain, "__wrapped__"):
        plain = plain.__wrapped__
    cached = functools.lru_cache(maxsize=size)(plain)
    cached._lock = getattr(function, "_lock", None)  # type: ignore[attr-defined]
    return cached


premailer.premailer._create_cssselector = _lasting_cache(premailer.premailer._create_cssselector)
premailer.merge_style.csstext_to_pairs = _lasting_cache(premailer.merge_style.csstext_to_pairs)
premailer.premailer.csstext_to_pairs = premailer.merge_style.csstext_to_pairs


class _Leftover(list):  # type: ignore[type-arg]
    """The rules a stylesheet leaves in ``<style>``, with their text once written."""

    text: str | None = None


class Premailer(premailer.Premailer):  # type: ignore[misc]
    """premailer that fetches nothing and keeps ``@import`` rules in the leftover ``<style>``.

    What depends on a stylesheet's text only (its rules, their selectors compiled, the text of
    the rules left in ``<style>``) is worked out once per text and kept: on every later call
    premailer only matches and merges, giving the same output as before.
    """

    def __init__(self, **options: object) -> None:
        super().__init__(**{**PREMAILER_OPTIONS, **options})

    def _parse_css_string(self, css_body: str, validate: bool = True) -> cssutils.css.CSSStyleSheet:
        return parse_stylesheet(css_body, validate)

    def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list, list]:
        return _style_rules(self, css_body, ruleset_index)

    def _css_rules_to_string(self, rules: list) -> str:
        if isinstance(rules, _Leftover) and rules.text is not None:
            return rules.text
        imports = [rule.cssText for rule in rules if isinstance(rule, cssutils.css.CSSImportRule)]
        others = [rule for rule in rules if not isinstance(rule, cssutils.css.CSSImportRule)]
        text = "\n".join([*imports, super()._css_rules_to_string(others)]).strip("\n")
        if isinstance(rules, _Leftover):
            rules.text = text
        return text


_rules_lock = threading.Lock()


@functools.lru_cache(maxsize=256)
def _cached_style_rules(
    css_body: str, ruleset_index: int, validate: bool, options: tuple[tuple[str, object], ...]
) -> tuple[tuple[Any, ...], _Leftover]:
    reader = Premailer(**dict(options))
    with _rules_lock:
        rules, leftover = premailer.Premailer._parse_style_rules(reader, css_body, ruleset_index)
        if css_body and "@import" in css_body.lower():
            sheet = parse_stylesheet(css_body, validate)
            imports = [rule for rule in sheet if rule.type == rule.IMPORT_RULE]
            leftover = [*imports, *leftover]
    return tuple(rules), _Leftover(leftover)


def _style_rules(reader: Premailer, css_body: str, ruleset_index: int) -> tuple[list, list]:
    options = tuple(
        (name, getattr(reader, name))
        for name in ("exclude_pseudoclasses", "disable_validation", "strip_important")
    )
    rules, leftover = _cached_style_rules(
        css_body, ruleset_index, not reader.disable_validation, options
    )
    return list(rules), leftover


def inlined_selectors(css_text: str) -> Iterator[str]:
    """The selectors of ``css_text`` that premailer copies into ``style=`` attributes."""
    for rule in parse_stylesheet(css_text):
        if rule.type != rule.STYLE_RULE:
            continue
        for selector in (part.strip() for part in rule.selectorText.split(",")):
            if not selector or selector.startswith(("@", ":")) or "*" in selector:
                continue
            if ":" in selector and ":" + selector.split(":", 1)[1] not in _INLINED_PSEUDO:
                continue
            yield selector


def styles_premailer_reads(document: lxml.etree._Element) -> Iterator[str]:
    """The text of each ``<style>`` premailer inlines from, as it picks them."""
    for style in document.iter("style"):
        media = style.get("media")
        if media and media not in ("all", "screen"):
            continue
        if style.get("data-premailer") == "ignore":
            continue
        yield style.text or ""


def sibling_sensitive(
    selector: str, document: lxml.etree._Element
) -> Iterator[tuple[lxml.etree._Element, bool]]:
    """Elements whose siblings (or, with ``True``, children) decide whether ``selector`` matches.

    These are the elements a positional compound (``:first-child``, ``:nth-child``...) could
    match, found with the selector's positional parts dropped, and the elements either side of
    a ``+``/``~`` combinator could match that share a parent with one the other side could
    match; the answer errs towards too many. A selector cssselect cannot read yields the root.
    """
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        yield document, True
        return
    for item in parsed:
        for prefix, children_too in _positional_prefixes(item.parsed_tree):
            yield from ((element, children_too) for element in _matches(prefix, document))
        for left, right in _sibling_pairs(item.parsed_tree):
            # Renders repeat or drop a template's elements under the same parent, so only
            # elements that share a parent in the template can ever be siblings.
            lefts: dict[object, list[lxml.etree._Element]] = {}
            for element in _matches(left, document):
                lefts.setdefault(element.getparent(), []).append(element)
            for element in _matches(right, document):
                others = [e for e in lefts.get(element.getparent(), ()) if e is not element]
                if others:
                    yield element, False
                    yield from ((other, False) for other in others)


def is_structural(selector: str) -> bool:
    """Whether ``selector`` tests an element's siblings or children (``+``, ``~``,
    ``:first-child``...), so content around an element can change whether it matches."""
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        return True
    return any(
        next(_positional_prefixes(item.parsed_tree), None) is not None
        or next(_sibling_pairs(item.parsed_tree), None) is not None
        for item in parsed
    )


def reaches_new_children(selector: str, document: lxml.etree._Element, parent: object) -> bool:
    """Whether markup added under ``parent`` at render time could change what ``selector``
    matches: an element the selector tests for its position or siblings could be one of the
    new elements, or be ``parent`` or one of its ancestors. Errs towards ``True``."""
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        return True
    assert isinstance(parent, lxml.etree._Element)
    chain = {parent, *parent.iterancestors()}
    if any(element in chain for element, _ in sibling_sensitive(selector, document)):
        return True
    probe = lxml.etree.SubElement(parent, "emailkit-probe")
    try:
        for item in parsed:
            tree = item.parsed_tree
            prefixes = [prefix for prefix, _ in _positional_prefixes(tree)]
            prefixes += [side for pair in _sibling_prefixes(tree) for side in pair]
            if any(probe in _matches(_any_subject(prefix), document) for prefix in prefixes):
                return True
        return False
    finally:
        parent.remove(probe)


def attribute_tests(selector: str) -> set[str]:
    """The attributes whose values ``selector`` tests (``[style*=...]``, ``.a`` tests
    ``class``, ``#a`` tests ``id``); every attribute when cssselect cannot read it."""
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        return {"*"}
    found: set[str] = set()
    for item in parsed:
        _collect_attributes(item.parsed_tree, found)
    return found


def may_match_whatever(
    selector: str, document: lxml.etree._Element, element: lxml.etree._Element, attribute: str
) -> bool:
    """Whether ``selector`` could match ``element`` whatever value its ``attribute`` takes:
    the selector with its tests of that attribute dropped matches it. Errs towards ``True``."""
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        return True
    for item in parsed:
        relaxed = _without_attribute(_without_positions(item.parsed_tree), attribute)
        if element in _matches(relaxed, document):
            return True
    return False


def _collect_attributes(tree: Tree | None, found: set[str]) -> None:
    while tree is not None and not isinstance(tree, css.Element):
        if isinstance(tree, css.CombinedSelector):
            _collect_attributes(tree.subselector, found)
        elif isinstance(tree, css.Attrib):
            found.add(tree.attrib.lower())
        elif isinstance(tree, css.Class):
            found.add("class")
        elif isinstance(tree, css.Hash):
            found.add("id")
        elif isinstance(tree, css.Negation):
            _collect_attributes(tree.subselector, found)
        tree = getattr(tree, "selector", None)


def _without_attribute(tree: Tree, attribute: str) -> Tree:
    """The selector without its tests of ``attribute``: it matches at least as much."""
    if isinstance(tree, css.CombinedSelector):
        return css.CombinedSelector(
            _without_attribute(tree.selector, attribute),
            tree.combinator,
            _without_attribute(tree.subselector, attribute),
        )
    dropped = (
        (isinstance(tree, css.Attrib) and tree.attrib.lower() == attribute)
        or (isinstance(tree, css.Class) and attribute == "class")
        or (isinstance(tree, css.Hash) and attribute == "id")
    )
    if dropped:
        return _without_attribute(tree.selector, attribute)  # type: ignore[union-attr]
    if isinstance(tree, (css.Class, css.Hash, css.Attrib)):
        return _copy_with_selector(tree, _without_attribute(tree.selector, attribute))
    return tree


def _sibling_prefixes(tree: Tree) -> Iterator[tuple[Tree, Tree]]:
    """For each ``+``/``~``, the selector up to its right side and up to its left side."""
    while isinstance(tree, css.CombinedSelector):
        if tree.combinator in "+~":
            yield tree, tree.selector
        tree = tree.selector


def _any_subject(tree: Tree) -> Tree:
    """``tree`` with its last compound made ``*``: any element in that place."""
    if isinstance(tree, css.CombinedSelector):
        return css.CombinedSelector(tree.selector, tree.combinator, css.Element())
    return css.Element()


def _matches(tree: Tree, document: lxml.etree._Element) -> list[lxml.etree._Element]:
    xpath = _TRANSLATOR.selector_to_xpath(css.Selector(_without_positions(tree)))
    return list(document.xpath(xpath))


def _positional_prefixes(tree: Tree) -> Iterator[tuple[Tree, bool]]:
    """Selector prefixes whose subject is tested on its siblings (``True``: its children)."""
    subject = tree.subselector if isinstance(tree, css.CombinedSelector) else tree
    names = set(_pseudo_names(subject))
    if names & _POSITIONAL:
        yield tree, False
    if "empty" in names:
        yield tree, True
    if isinstance(tree, css.CombinedSelector):
        yield from _positional_prefixes(tree.selector)


def _sibling_pairs(tree: Tree) -> Iterator[tuple[Tree, Tree]]:
    """The two compounds around each ``+`` or ``~`` combinator."""
    while isinstance(tree, css.CombinedSelector):
        if tree.combinator in "+~":
            left = tree.selector
            while isinstance(left, css.CombinedSelector):
                left = left.subselector
            yield left, tree.subselector
        tree = tree.selector


def _pseudo_names(tree: Tree | None) -> Iterable[str]:
    while tree is not None and not isinstance(tree, css.Element):
        if isinstance(tree, css.Pseudo):
            yield tree.ident.lower()
        elif isinstance(tree, css.Function):
            yield tree.name.lower()
        elif isinstance(tree, css.Negation):
            yield from _pseudo_names(tree.subselector)
        elif isinstance(tree, css.CombinedSelector):  # inside :not(), conservatively
            yield from _POSITIONAL
        tree = getattr(tree, "selector", None)


def _without_positions(tree: Tree) -> Tree:
    """The selector with positional and negated parts dropped: it matches at least as much."""
    if isinstance(tree, css.CombinedSelector):
        return css.CombinedSelector(
            _without_positions(tree.selector), tree.combinator, _without_positions(tree.subselector)
        )
    if isinstance(tree, (css.Pseudo, css.Function, css.Negation)):
        return _without_positions(tree.selector)
    if isinstance(tree, (css.Class, css.Hash, css.Attrib)):
        return _copy_with_selector(tree, _without_positions(tree.selector))
    return tree


def _copy_with_selector(tree: Tree, selector: Tree) -> Tree:
    copied = copy.copy(tree)
    copied.selector = selector  # type: ignore[union-attr]
    return copied

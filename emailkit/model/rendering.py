"""Rendering an email: subject, text and HTML, with errors traced to their file and line."""

from __future__ import annotations

import inspect
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask_mail
from jinja2 import Template, TemplateNotFound, TemplateSyntaxError, UndefinedError

from ..errors import ContextError, EmailError, HeaderError, TemplateError
from ..mime import images
from ..mime.headers import check_unsubscribe_url, forbidden
from ..mime.message import (
    Message,
    Recipient,
    as_attachment,
    check_attachment,
    cid_references,
    content_id,
)
from ..templating.compiled import CompiledEmail, LineBreakInHeader
from ..templating.fragments import NeedsWholeDocument
from ..templating.i18n import locales
from ..templating.mjml import compiler as mjml
from ..templating.tags import syntax_message
from ..templating.templates import HTML, SUBJECT, TEXT
from ..templating.text.html2text import html_to_text

if TYPE_CHECKING:
    from .email import Email

logger = logging.getLogger("emailkit")


@dataclass(frozen=True)
class Rendered:
    """One rendered email. ``text`` comes from ``body.txt``, or from the HTML when there is none.

    ``unsubscribe_url`` (from the email's ``unsubscribe_url`` attribute, when it has one) adds
    the List-Unsubscribe headers to its messages; ``language`` (the BCP 47 tag of a translated
    rendering) adds Content-Language. ``root`` (the emails root) lets messages embed the
    HTML's relative ``<img src>`` files (see :mod:`emailkit.mime.images`).
    """

    email: str
    subject: str
    html: str | None
    text_part: str | None = field(default=None, repr=False)
    unsubscribe_url: str | None = None
    locale: str | None = None
    language: str | None = None
    root: Path | None = field(default=None, repr=False, compare=False)

    @cached_property
    def text(self) -> str:
        if self.text_part is not None:
            return self.text_part
        return html_to_text(self.html or "")

    def message(
        self,
        to: Recipient | Iterable[Recipient] | None = None,
        *,
        cc: Recipient | Iterable[Recipient] | None = None,
        bcc: Recipient | Iterable[Recipient] | None = None,
        reply_to: Recipient | Iterable[Recipient] | None = None,
        sender: Recipient | None = None,
        attachments: Iterable[flask_mail.Attachment | os.PathLike[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        message_id: str | None = None,
    ) -> Message:
        """A :class:`~emailkit.mime.message.Message`: text then HTML (UTF-8), attachments and
        inline images (see :func:`~emailkit.attachment`, :func:`~emailkit.inline_image`).

        Addresses may be ``"ada@example.com"``, ``"Ada <ada@example.com>"``, a
        ``(name, address)`` pair, a string of comma-separated addresses, or a list of those.
        """
        files = [as_attachment(item) for item in attachments or ()]
        for index, item in enumerate(files):  # before comparing content ids with the HTML
            check_attachment(item, index, email=self.email)
        html = self.html
        if html is not None and self.root is not None:
            html, embedded = images.embed(html, self.root, self.email, images.url_prefix())
            files += embedded
        if html is not None:
            missing = cid_references(html) - {content_id(item) for item in files}
            if missing:
                raise ContextError(
                    f"{self.email}: the HTML shows cid:{sorted(missing)[0]} but no inline image "
                    f"has that id; pass attachments=[inline_image({sorted(missing)[0]!r}, path)]."
                )
        extra = dict(headers or {})
        if self.language:
            extra.setdefault("Content-Language", self.language)
        if self.unsubscribe_url:
            check_unsubscribe_url(self.unsubscribe_url, email=self.email)
            extra.setdefault("List-Unsubscribe", f"<{self.unsubscribe_url}>")
            if self.unsubscribe_url.startswith("https:"):
                extra.setdefault("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        return Message(
            subject=self.subject,
            recipients=to,
            body=self.text,
            html=html,
            sender=sender,
            cc=cc,
            bcc=bcc,
            reply_to=reply_to,
            attachments=files,
            extra_headers=extra,
            message_id=message_id,
            email_name=self.email,
        )


def render(email: Email, compiled: CompiledEmail) -> Rendered:
    """Render ``email`` with its compiled templates."""
    context = email.template_context(compiled.locale)
    if compiled.content_locale != compiled.locale:  # fell back: say the text's language
        content = locales.template_context(compiled.content_locale)
        context["lang"], context["dir"] = content["lang"], content["dir"]
    part = SUBJECT
    try:
        subject = " ".join(compiled.subject.render(context).split())
        html = None
        if compiled.html is not None:
            part = HTML
            html = _render_html(compiled, context)
        text = None
        if compiled.text is not None:
            part = TEXT
            text = compiled.text.render(context)
        elif compiled.generated_text is not None and html is not None:
            text = _generated_text(compiled, context, html)
    except LineBreakInHeader as error:
        raise _line_break_error(email, error.value) from None
    except EmailError:
        raise
    except Exception as error:
        raise _template_error(email, compiled, part, context, error) from error
    unsubscribe_url = getattr(email, "unsubscribe_url", None)
    return Rendered(
        email=compiled.name,
        subject=subject,
        html=html,
        text_part=text,
        unsubscribe_url=str(unsubscribe_url) if unsubscribe_url else None,
        locale=compiled.locale,
        language=context["lang"] if compiled.content_locale else None,
        root=compiled.root,
    )


def _generated_text(compiled: CompiledEmail, context: dict[str, Any], html: str) -> str | None:
    """The text part from the compiled text template; None to convert the HTML instead."""
    assert compiled.generated_text is not None
    try:
        return compiled.generated_text.render(context, html)
    except Exception:  # the HTML rendered: its conversion is the text, whatever this hit
        logger.debug("%s: generated text failed; converting the HTML", compiled.name, exc_info=True)
        return None


def render_html(compiled: CompiledEmail, context: dict[str, Any]) -> str:
    """The HTML part: the compiled template, or the template inlined after rendering."""
    assert compiled.html is not None
    if not compiled.inlines_per_render:
        try:
            return compiled.html.render(context)
        except NeedsWholeDocument:  # a value's markup cannot be inlined alone: the whole HTML
            assert compiled.html_source is not None
            return _inline_per_render(compiled, compiled.html_source.render(context))
    return _inline_per_render(compiled, compiled.html.render(context))


_render_html = render_html


def _inline_per_render(compiled: CompiledEmail, html: str) -> str:
    # A template that never compiles: css_inline, nothing compiled is to be matched. A
    # compiled one whose value brought markup that cannot be inlined alone: premailer,
    # so the rendering is the document the compiled ones are.
    from ..templating.inline import inject_css, inline_css, inline_fast

    if compiled.mjml:
        html = mjml.to_html(html, compiled.html_source.name or HTML)  # type: ignore[union-attr]
    inline = inline_fast if compiled.inlines_per_render else inline_css
    return inline(inject_css(html, compiled.css))


def _line_break_error(email: Email, value: object) -> HeaderError:
    fields = [name for name, v in email.field_values().items() if _holds(v, value)]
    source = f"field {fields[0]!r}" if fields else f"value {str(value)[:60]!r}"
    problem = forbidden(str(value)) or "a line break"
    return HeaderError(
        f"{type(email).__name__}: {SUBJECT} takes {source}, which contains {problem}; "
        "a subject must be one line of text. Remove line breaks and control characters "
        "from the value before rendering."
    )


def _holds(field_value: object, value: object) -> bool:
    if field_value is value:
        return True
    return isinstance(field_value, str) and str(value) in field_value


def _template_error(
    email: Email, compiled: CompiledEmail, part: str, context: dict[str, Any], error: Exception
) -> TemplateError:
    if part == HTML and not compiled.inlines_per_render and compiled.html_source is not None:
        # The inlined template's lines are not the file's: replay on the source to find them.
        error = _replay(compiled.html_source, context) or error
    filename, lineno = _locate(error, compiled)
    return TemplateError(
        _describe(error),
        email=compiled.name,
        filename=filename or f"{compiled.name}/{part}",
        lineno=lineno,
        hint=_hint(error, email, type(email).__name__, email.fields()),
    )


def _replay(template: Template, context: dict[str, Any]) -> Exception | None:
    try:
        template.render(context)
    except Exception as error:
        return error
    return None


def _locate(error: Exception, compiled: CompiledEmail) -> tuple[str | None, int | None]:
    """The innermost template frame of the traceback, as a root-relative name and line."""
    if isinstance(error, TemplateSyntaxError) and error.name:
        return error.name, error.lineno
    root = str(compiled.root) + os.sep
    found: tuple[str | None, int | None] = (None, None)
    traceback = error.__traceback__
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.startswith(root):
            found = (Path(filename[len(root) :]).as_posix(), traceback.tb_lineno)
        traceback = traceback.tb_next
    return found


def _describe(error: Exception) -> str:
    if isinstance(error, TemplateNotFound):
        return f"template {error.name!r} not found"
    if isinstance(error, TemplateSyntaxError):
        return syntax_message(error)
    if isinstance(error, UndefinedError):
        return str(error.message)
    return f"{type(error).__name__}: {error}"


def attribute_kind(cls: type, attribute: str) -> str:
    """What ``attribute`` is on the class: property, method or attribute."""
    value = inspect.getattr_static(cls, attribute, None)
    if isinstance(value, (property, cached_property)):
        return "property"
    return "method" if callable(value) else "attribute"


def _hint(error: Exception, email: Email, class_name: str, fields: tuple[str, ...]) -> str:
    if isinstance(error, TemplateNotFound):
        return "Create that template under the emails root or fix the name."
    if isinstance(error, TemplateSyntaxError):
        return "Fix the template syntax at that line."
    if isinstance(error, UndefinedError):
        undefined = re.match(r"'(\w+)' is undefined", str(error.message or ""))
        missing = undefined.group(1) if undefined else None
        if missing and missing not in fields and hasattr(type(email), missing):
            kind = attribute_kind(type(email), missing)
            return (
                f"{missing!r} is a {kind} of {class_name}, not a field: "
                f"templates reach it as `email.{missing}`, e.g. {{{{ email.{missing} }}}}."
            )
        declared = ", ".join(fields) or "none"
        return (
            f"Templates see the fields of {class_name} ({declared}) and `email`; "
            "declare the missing one as a field or fix the name."
        )
    return f"The template called code of {class_name} that raised; see the chained exception."

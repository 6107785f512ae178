"""Checks of each rendered sample: it renders, its size, links and images, accessibility,
its text part, and whether its template takes the compiled path."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import lxml.html

from ..errors import EmailError, SampleError, TemplateError
from ..mime.images import is_local, resolve
from ..model.email import Email, preview_samples
from ..model.rendering import Rendered
from ..templating.templates import HTML
from . import Finding, Report, Severity, textpart
from .source import EmailSources

CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" past this
WARN_BYTES = 80 * 1024
_LOCAL_HOSTS = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\]|.*\.local)$", re.I)
_EXAMPLE_HOSTS = re.compile(r"(^|\.)(example\.(com|org|net)|test|invalid)$", re.I)
_SCHEMES_WITHOUT_HOST = ("mailto:", "tel:", "sms:", "cid:", "data:")
_JINJA = re.compile(r"\{[{%#]")


@dataclass
class Sample:
    name: str
    email: Email
    rendered: Rendered
    document: lxml.html.HtmlElement | None


def render_samples(cls: type[Email], report: Report) -> list[Sample]:
    """Render every sample; a sample that does not render becomes an error finding."""
    samples = []
    broken: dict[str, SampleError] = {}
    try:
        previews = preview_samples(cls, broken)
    except TemplateError as error:
        report.findings.append(
            Finding(
                "error",
                "render.previews",
                cls.email_name,
                error.message,
                error.hint or "fix previews() so it returns named sample instances",
                file=error.filename,
                line=error.lineno,
            )
        )
        return []
    for sample, problem in broken.items():
        report.samples += 1
        report.findings.append(
            Finding(
                "error",
                "render.previews",
                cls.email_name,
                problem.message,
                problem.hint or "fix the sample in previews()",
                sample,
                problem.filename,
                problem.lineno,
            )
        )
    if not previews and not broken:
        report.findings.append(
            Finding(
                "warning",
                "render.previews",
                cls.email_name,
                "previews() has no samples",
                "return at least one named sample so the email is previewed and tested",
            )
        )
    for sample, email in previews.items():
        report.samples += 1
        try:
            rendered = email.render()
        except EmailError as error:
            file = getattr(error, "filename", None)
            line = getattr(error, "lineno", None)
            message = error.message if isinstance(error, TemplateError) else str(error)
            report.findings.append(
                Finding(
                    "error",
                    "render.fails",
                    cls.email_name,
                    f"does not render: {message}",
                    getattr(error, "hint", None) or "fix the template or the sample",
                    sample,
                    file,
                    line,
                )
            )
            continue
        document = lxml.html.document_fromstring(rendered.html) if rendered.html else None
        samples.append(Sample(sample, email, rendered, document))
    return samples


def check(cls: type[Email], samples: list[Sample]) -> list[Finding]:
    if not samples:
        return []
    sources = EmailSources(cls)
    findings = _compile_path(cls)
    findings += _literal_links(cls, sources)
    findings += textpart.check_template(cls, sources)
    findings += textpart.check_generated(cls, samples)
    for sample in samples:
        findings += _empty_outputs(cls, sample, sources)
        findings += _size(cls, sample)
        findings += textpart.check_sample(cls, sample)
        if sample.document is not None:
            findings += _links_and_images(cls, sample, sources)
            findings += _accessibility(cls, sample, sources)
    return _unique(findings)


def _compile_path(cls: type[Email]) -> list[Finding]:
    compiled = cls.templates().compiled(cls._require_folder().name)
    if compiled.inline_reason is None:
        return []
    match = re.match(r"(?P<file>[^,]+), line (?P<line>\d+): (?P<why>.*)", compiled.inline_reason)
    source = compiled.html_source.name if compiled.html_source else None
    where = (
        (match["file"], int(match["line"]))
        if match
        else (source or f"{compiled.name}/{HTML}", None)
    )
    part = (source or HTML).rpartition("/")[2]
    how = "compiled and inlined" if compiled.mjml else "inlined"
    return [
        Finding.of(
            cls,
            "warning",
            "compile.per-render",
            f"{part} is {how} on every render, about 100x slower: "
            + (match["why"] if match else compiled.inline_reason),
            "move the value out of class=/style=, or avoid the construct the message names, "
            "so the template is inlined once at compile time",
            where=where,
        )
    ]


def _empty_outputs(cls: type[Email], sample: Sample, sources: EmailSources) -> list[Finding]:
    """Fields printed with ``{{ field }}`` that this sample leaves None or empty."""
    findings = []
    values = sample.email.field_values()
    for tag, conditions in _outputs_with_conditions(sources):
        match = re.match(r"\{\{-?\s*([A-Za-z_]\w*)\s*(\||-?\}\})", tag.text)
        if not match or match.group(1) not in values:
            continue
        name = match.group(1)
        if any(re.search(rf"\b{name}\b", condition) for condition in conditions):
            continue  # printed only when the condition holds, e.g. {% if name %}
        value = values[name]
        if value is None or (isinstance(value, str) and not value.strip()):
            findings.append(
                Finding.of(
                    cls,
                    "warning",
                    "render.empty-field",
                    f"{tag.text} prints {value!r} in this sample",
                    "give the sample a value, or guard the output with {% if %} or a default",
                    sample.name,
                    (tag.origin, tag.lineno),
                )
            )
    return findings


def _outputs_with_conditions(sources: EmailSources):  # type: ignore[no-untyped-def]
    """Each ``{{ ... }}`` tag with the conditions of the ``{% if %}`` blocks around it."""
    for flattened in sources.parts.values():
        conditions: list[str] = []
        for part in flattened.parts:
            if isinstance(part, str):
                continue
            keyword = part.keyword
            if keyword == "if":
                conditions.append(part.body)
            elif keyword in ("elif", "else") and conditions:
                conditions[-1] += " " + part.body
            elif keyword == "endif" and conditions:
                conditions.pop()
            elif part.kind == "var":
                yield part, list(conditions)


def _size(cls: type[Email], sample: Sample) -> list[Finding]:
    size = len((sample.rendered.html or "").encode("utf-8"))
    severity: Severity
    if size > CLIP_BYTES:
        severity, what = "error", "Gmail clips messages over 102 KB"
    elif size > WARN_BYTES:
        severity, what = "warning", "close to the 102 KB at which Gmail clips messages"
    else:
        return []
    return [
        Finding.of(
            cls,
            severity,
            "size.html",
            f"the HTML is {size / 1024:.0f} KB: {what}",
            "trim markup and inline CSS, or move content to a web page",
            sample.name,
        )
    ]


def _links_and_images(cls: type[Email], sample: Sample, sources: EmailSources) -> list[Finding]:
    findings = []
    document = sample.document
    assert document is not None
    for anchor in document.iter("a"):
        href = (anchor.get("href") or "").strip()
        where = sources.locate(anchor)
        if not href or href == "#":
            findings.append(
                Finding.of(
                    cls,
                    "warning",
                    "links.empty",
                    f"a link goes nowhere (href={href!r})",
                    "give it a real URL or drop the <a>",
                    sample.name,
                    where,
                )
            )
            continue
        findings += _url(cls, sample, "link", href, where)
    for image in document.iter("img"):
        where = sources.locate(image)
        src = (image.get("src") or "").strip()
        if image.get("alt") is None:
            findings.append(
                Finding.of(
                    cls,
                    "warning",
                    "images.alt",
                    f"image {src or '(no src)'} has no alt text",
                    'add alt="..." (alt="" for decoration): many clients block images',
                    sample.name,
                    where,
                )
            )
        if image.get("width") is None or image.get("height") is None:
            findings.append(
                Finding.of(
                    cls,
                    "warning",
                    "images.size",
                    f"image {src} has no width and height attributes",
                    "set width and height so Outlook and blocked-image views keep the layout",
                    sample.name,
                    where,
                )
            )
        if src and is_local(src):
            findings += _local_image(cls, sample, src, where)
        elif src:
            findings += _url(cls, sample, "image", src, where)
    return findings


def _local_image(cls: type[Email], sample: Sample, src: str, where) -> list[Finding]:  # type: ignore[no-untyped-def]
    """A relative image is embedded when sent: it must be a file of the email or _assets/."""
    folder = cls._require_folder()
    try:
        resolve(folder.parent, folder.name, src)
    except TemplateError as error:
        return [
            Finding.of(
                cls, "error", "images.missing", error.message, error.hint or "", sample.name, where
            )
        ]
    return []


def _url(cls: type[Email], sample: Sample, kind: str, url: str, where) -> list[Finding]:  # type: ignore[no-untyped-def]
    if url.lower().startswith(_SCHEMES_WITHOUT_HOST) or url.startswith("#"):
        return []
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return [
            Finding.of(
                cls,
                "error",
                "links.relative",
                f"{kind} URL {url!r} is relative: it cannot resolve in an inbox",
                "use an absolute https:// URL",
                sample.name,
                where,
            )
        ]
    findings = []
    if parts.scheme == "http":
        findings.append(
            Finding.of(
                cls,
                "warning",
                "links.http",
                f"{kind} URL {url} uses http:",
                "use https: (clients warn about or block plain http)",
                sample.name,
                where,
            )
        )
    if _LOCAL_HOSTS.match(parts.hostname or ""):
        findings.append(
            Finding.of(
                cls,
                "warning",
                "links.localhost",
                f"{kind} URL {url} points at this machine",
                "recipients cannot reach it: build URLs from your public host",
                sample.name,
                where,
            )
        )
    return findings


def _literal_links(cls: type[Email], sources: EmailSources) -> list[Finding]:
    """URLs written into the templates themselves (not sample data) that point at example hosts."""
    findings = []
    for name, lines in sources.lines.items():
        for number, line in enumerate(lines, 1):
            for match in re.finditer(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", line):
                url = match.group(1)
                if _JINJA.search(url):
                    continue
                host = urlsplit(url).hostname or ""
                if _EXAMPLE_HOSTS.search(host):
                    findings.append(
                        Finding.of(
                            cls,
                            "info",
                            "links.example-host",
                            f"the template links to {url}",
                            "replace the example host with your real one before sending",
                            where=(name, number),
                        )
                    )
    return findings


def _accessibility(cls: type[Email], sample: Sample, sources: EmailSources) -> list[Finding]:
    document = sample.document
    assert document is not None
    findings = []
    if not (document.get("lang") or "").strip():
        findings.append(
            Finding.of(
                cls,
                "warning",
                "a11y.lang",
                "<html> has no lang attribute",
                'add lang="en" (or the language) so screen readers pronounce it right',
                sample.name,
                sources.locate(document),
            )
        )
    title = document.find(".//title")
    if title is None or not (title.text or "").strip():
        findings.append(
            Finding.of(
                cls,
                "warning",
                "a11y.title",
                "the HTML has no <title>",
                "add a <title>: some clients and screen readers show it",
                sample.name,
            )
        )
    for table in document.iter("table"):
        if table.get("role") != "presentation" and not table.findall(".//th"):
            findings.append(
                Finding.of(
                    cls,
                    "warning",
                    "a11y.layout-table",
                    'a layout table lacks role="presentation"',
                    'add role="presentation" so screen readers do not read it as data',
                    sample.name,
                    sources.locate(table),
                )
            )
    return findings


def _unique(findings: list[Finding]) -> list[Finding]:
    """Drop repeats (one per email when every sample finds the same thing at the same place)."""
    seen: dict[tuple[object, ...], Finding] = {}
    for finding in findings:
        key = (finding.check, finding.message, finding.file, finding.line)
        if key in seen and seen[key].sample != finding.sample:
            seen[key] = Finding(**{**finding.__dict__, "sample": None})
        else:
            seen.setdefault(key, finding)
    return list(seen.values())

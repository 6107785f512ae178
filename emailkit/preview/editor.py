"""The live sample editor: a sample's field values in a form beside its rendering.

``/<email>/<sample>/edit`` shows the form; every change asks ``/<email>/<sample>/edit/render``
(a GET with no side effects, behind the blueprint's own request checks) for the new HTML,
subject and the sample as Python. The edited values live in the URL (``?values=`` holds the
JSON of the inputs that differ from the sample), so a link shares the edited sample.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..errors import EmailError
from ..mime import images
from ..model.email import Email
from . import display
from .assets import show_images
from .catalog import PREVIEW_RECIPIENT, Catalog, Problem
from .fields import FieldSpec, form_value, specs
from .pysource import sample_source
from .values import MAX_CHARACTERS, FieldError, nesting, parse


@dataclass
class Edited:
    """One rendering of edited values: what the page shows, or why it could not."""

    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None
    subject: str = ""
    preheader: str = ""
    html: str | None = None
    text: str = ""
    python: str = ""


def edited_values(raw: str | None) -> dict[str, Any]:
    """The ``values`` query parameter: a JSON object of field name to input value.

    Values are the inputs' text (or true/false, or null); the fields parse them. A parameter
    that is not such an object (a hand-made URL) is a :class:`FieldError` for the page to show.
    """
    if not raw:
        return {}
    problem = (
        "The URL's values parameter is not the editor's (a JSON object of field name to "
        "text); open the editor again from the viewer."
    )
    if len(raw) > MAX_CHARACTERS * 4 or nesting(raw) > 2:
        raise FieldError("", problem)
    try:
        values = json.loads(raw)
    except (json.JSONDecodeError, ValueError):
        raise FieldError("", problem) from None
    if not isinstance(values, dict):
        raise FieldError("", problem)
    return values


def render_edited(
    catalog: Catalog, email: str, sample: str, changes: dict[str, Any], locale: str
) -> Edited:
    """Build the sample with ``changes`` (input values by field) applied and render it."""
    cls = catalog.emails[email]
    base = cls.previews()[sample].field_values()
    result = Edited()
    values = dict(base)
    by_name = {spec.name: spec for spec in specs(cls)}
    for name, raw in changes.items():
        spec = by_name.get(name)
        if spec is None:
            result.problem = f"{email} has no field {name!r}; remove it from the URL's values."
            continue
        try:
            values[name] = parse(email, spec, raw)
        except FieldError as error:
            result.errors[name] = str(error)
    if result.errors:
        return result
    try:
        instance = cls(**values)
        result.python = sample_source(cls, sample, instance.field_values())
        rendered = instance.render(locale or None)
        parts = images.preview_parts(rendered.html or "", catalog.root, email)
        # built for its errors: header values, images
        rendered.message(PREVIEW_RECIPIENT, sender=catalog.sender, attachments=parts)
    except EmailError as error:
        _place(result, cls, str(error))
        return result
    except Exception as error:  # a property of the email raised on these values
        result.problem = Problem.from_exception(error, catalog.root).message
        return result
    result.subject = rendered.subject
    result.html = show_images(rendered.html, catalog.root, email) if rendered.html else None
    result.preheader = display.preheader(rendered.html) if rendered.html else rendered.text[:140]
    result.text = rendered.text
    return result


def _place(result: Edited, cls: type[Email], message: str) -> None:
    """Show an error beside the field it names, else above the preview."""
    for name in cls.fields():
        if f"'{name}'" in message or f"field {name} " in message:
            result.errors[name] = message
            return
    result.problem = message


def add_editor_routes(blueprint: Blueprint, catalog: Catalog) -> None:
    """The editor page and its render endpoint, on the preview blueprint."""

    def lookup(email: str, sample: str) -> type[Email]:
        if email not in catalog.emails or (email, sample) not in catalog.samples():
            abort(404)
        return catalog.emails[email]

    def locale_of(email: str) -> str:
        value = request.args.get("locale", "")
        return value if value in catalog.locales(email) else ""

    @blueprint.get("/<email>/<sample>/edit")
    def editor(email: str, sample: str) -> ResponseReturnValue:
        cls = lookup(email, sample)
        locale = locale_of(email)
        changes, result = _changes_and_result(catalog, email, sample, locale)
        base = cls.previews()[sample].field_values()
        form = [_input(spec, base.get(spec.name), changes) for spec in specs(cls)]
        return render_template(
            "emailkit_preview/editor.html",
            email=email,
            sample=sample,
            form=form,
            result=result,
            locale=locale,
            locales=catalog.locales(email),
            render_url=url_for(".editor_render", email=email, sample=sample),
            viewer_url=url_for(".viewer", email=email, sample=sample, locale=locale or None),
        )

    @blueprint.get("/<email>/<sample>/edit/render")
    def editor_render(email: str, sample: str) -> ResponseReturnValue:
        lookup(email, sample)
        _, result = _changes_and_result(catalog, email, sample, locale_of(email))
        response = jsonify(asdict(result))
        response.headers["Cache-Control"] = "no-store"
        return response


def _changes_and_result(
    catalog: Catalog, email: str, sample: str, locale: str
) -> tuple[dict[str, Any], Edited]:
    try:
        changes = edited_values(request.args.get("values"))
    except FieldError as error:
        return {}, Edited(problem=str(error))
    return changes, render_edited(catalog, email, sample, changes, locale)


@dataclass(frozen=True)
class Input:
    """One field of the form: its spec, the sample's value and the value shown now."""

    spec: FieldSpec
    initial: str | bool | None
    value: str | bool | None
    rows: int


def _input(spec: FieldSpec, sample_value: Any, changes: dict[str, Any]) -> Input:
    initial = form_value(spec, sample_value)
    value = changes.get(spec.name, initial)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    lines = value.count("\n") + 1 if isinstance(value, str) else 1
    rows = min(max(lines, 3), 14) if spec.kind == "json" else min(max(lines, 1), 6)
    return Input(spec, initial, value, rows)

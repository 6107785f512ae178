"""The live sample editor, in Chromium against preview_app.py, and its parsing through Flask."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import statistics
import typing
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from emailkit import Email
from emailkit.preview import create_preview_app, fields, pysource
from emailkit.preview import values as fieldvalues

from ..layout import check_layout
from .test_preview import copy_of_shipped

ARM_PAINT = """
(expected) => {
  const frame = document.getElementById("editor-frame");
  window.__painted = new Promise((resolve) => {
    let started = null;
    document.addEventListener("keydown", () => { started = started ?? performance.now(); },
                              { capture: true, once: true });
    frame.addEventListener("load", function done() {
      if (!frame.contentDocument.body.textContent.includes(expected)) return;
      frame.removeEventListener("load", done);
      const end = () => resolve(performance.now() - started);
      requestAnimationFrame(() => requestAnimationFrame(end));
    });
  });
}
"""


def field(page, name):
    return page.locator(f'.field[data-field="{name}"]')


def test_shipped_logo_shows_in_the_preview(preview_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(preview_server.url + "/welcome/default")
    logo = page.frame_locator("#email-frame").locator("img.logo")
    expect(logo).to_have_attribute("src", "logo.png")  # the raw HTML, resolved by the browser
    logo.evaluate("img => img.decode()")
    assert logo.evaluate("img => img.naturalWidth") == 64
    page.close()


def test_editor_renders_as_you_type_with_inline_errors_url_state_and_python(
    preview_server, browser, artifacts
):
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(preview_server.url + "/receipt/default")
    page.locator("#edit-sample").click()
    expect(page).to_have_url(preview_server.url + "/receipt/default/edit")
    frame = page.frame_locator("#editor-frame")
    expect(frame.locator("h1")).to_contain_text("Thanks for your order, Ada Lovelace")
    expect(field(page, "items").locator("textarea")).to_contain_text('"unit_price": "12.50"')
    expect(field(page, "ordered_on").locator("input")).to_have_attribute("type", "date")

    # Keystroke to painted iframe, one character at a time.
    name = page.locator("#field-customer_name")
    name.click()
    page.keyboard.press("End")
    latencies = []
    typed = "Ada Lovelace"
    for char in " Byron":
        typed += char
        page.evaluate(ARM_PAINT, f"Thanks for your order, {typed}" if char != " " else typed)
        page.keyboard.type(char)
        latencies.append(page.evaluate("window.__painted"))
    expect(frame.locator("h1")).to_contain_text("Ada Lovelace Byron")
    expect(page.locator("#editor-subject")).to_contain_text("A-10442")
    state = json.loads(parse_qs(urlsplit(page.url).query)["values"][0])
    assert state == {"customer_name": "Ada Lovelace Byron"}

    # A value that does not parse: shown beside its field; the last good rendering stays.
    page.locator("#field-tax_rate").fill("eight")
    error = field(page, "tax_rate").locator(".field-error")
    expect(error).to_have_text(
        "receipt.tax_rate: expected a decimal number, e.g. \"12.50\", got 'eight'."
    )
    expect(field(page, "tax_rate")).to_have_class("field invalid")
    expect(frame.locator("h1")).to_contain_text("Ada Lovelace Byron")
    expect(page.locator("#editor-stale")).to_be_visible()
    page.locator("#field-tax_rate").fill("10")
    expect(error).to_be_empty()
    expect(page.locator("#editor-stale")).to_be_hidden()

    items = page.locator("#field-items")
    items.fill('[{"name": "Sprocket", "quantity": 4, "unit_price": "2.5"')
    expect(field(page, "items").locator(".field-error")).to_contain_text(
        "receipt.items is not valid JSON (line 1"
    )
    items.fill('[{"name": "Sprocket", "quantity": "four", "unit_price": "2.5"}]')
    expect(field(page, "items").locator(".field-error")).to_have_text(
        'receipt.items[0].quantity: expected a whole number, e.g. 3, got "four".'
    )
    items.fill('[{"name": "Sprocket", "quantity": 4, "unit_price": "2.5"}]')
    expect(frame.locator("body")).to_contain_text("Sprocket")
    expect(frame.locator("body")).not_to_contain_text("Brass gear bookmark")

    # Values are autoescaped, never run: the iframe shows the markup as text.
    page.locator("#field-order_number").fill("<img src=x onerror=alert(1)>")
    expect(page.locator("#editor-subject")).to_contain_text("<img src=x onerror=alert(1)>")

    # An optional field: untick "None" and type a value.
    field(page, "discount_code").locator("[data-none]").uncheck()
    page.locator("#field-discount_code").fill("SPRING")
    page.locator("#field-discount_percent").fill("10")
    expect(frame.locator("td.discount").first).to_contain_text("Discount (SPRING, 10%)")

    page.locator("#field-shipping").fill("free")  # the screenshots show an inline error too
    expect(field(page, "shipping").locator(".field-error")).to_contain_text("receipt.shipping")
    check_layout(page, artifacts, "editor")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.locator("#field-shipping").fill("5.00")
    expect(field(page, "shipping").locator(".field-error")).to_be_empty()

    # The URL carries the edit: a reload (or a shared link) shows the same sample.
    shared = page.url
    page.goto(shared)
    expect(frame.locator("body")).to_contain_text("Sprocket")
    expect(page.locator("#field-customer_name")).to_have_value("Ada Lovelace Byron")
    expect(page.locator("#field-tax_rate")).to_have_value("10")

    page.locator("#copy-python").click()
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    source = page.evaluate("navigator.clipboard.readText()")
    assert 'customer_name="Ada Lovelace Byron"' in source
    assert (
        'LineItem(name="Sprocket", quantity=4, unit_price=Decimal("2.5"), variant=None)' in source
    )
    from emails.receipt import LineItem, Receipt  # the copy pastes into previews() as is

    namespace = {"cls": Receipt, "dt": dt, "Decimal": Decimal, "LineItem": LineItem}
    pasted = eval("{" + source + "}", namespace)["default"]  # our own output, not user input
    assert pasted.customer_name == "Ada Lovelace Byron"
    assert pasted.tax_rate == Decimal("10")
    assert pasted.items == [LineItem("Sprocket", 4, Decimal("2.5"))]
    assert (pasted.discount_code, pasted.discount_percent) == ("SPRING", Decimal("10"))
    assert 'discount_code="SPRING"' in source and "shipping=" in source
    assert dialogs == []

    timings = {
        "keystroke_to_paint_ms": {
            "median": round(statistics.median(latencies), 1),
            "max": round(max(latencies), 1),
            "samples": [round(x, 1) for x in latencies],
        }
    }
    (artifacts / "editor-latency.json").write_text(json.dumps(timings, indent=2))
    print("editor timings:", timings)
    context.close()


@pytest.fixture
def client(tmp_path):
    return create_preview_app(copy_of_shipped(tmp_path), TESTING=True).test_client()


def render(client, url, values):
    response = client.get(url, query_string={"values": json.dumps(values)})
    assert response.status_code == 200
    return response.json


def test_editor_parses_values_by_annotation_and_never_evaluates_them(client):
    url = "/receipt/default/edit/render"
    result = render(client, url, {"ordered_on": "2026-12-25", "discount_code": None})
    assert result["errors"] == {} and "December 25, 2026" in result["html"]
    result = render(client, url, {"ordered_on": "__import__('os').system('false')"})
    assert result["errors"]["ordered_on"].startswith("receipt.ordered_on: expected a date")
    assert result["html"] is None
    result = render(client, url, {"customer_name": None})
    assert result["errors"] == {
        "customer_name": "receipt.customer_name cannot be None; type a str value."
    }
    result = render(client, url, {"items": '[{"name": "x", "quantity": 1}]'})
    assert "LineItem needs 'unit_price'" in result["errors"]["items"]
    result = render(client, url, {"nope": "1"})
    assert result["problem"] == "receipt has no field 'nope'; remove it from the URL's values."


def test_editor_shows_template_errors_and_header_errors(client):
    result = render(client, "/welcome/default/edit/render", {"confirm_url": "x"})
    assert result["errors"] == {} and result["html"] is not None
    result = render(client, "/digest/default/edit/render", {"unsubscribe_url": "https://a\nb"})
    assert "unsubscribe_url contains a line break" in (
        result["problem"] or result["errors"].get("unsubscribe_url", "")
    )
    assert client.get("/receipt/nosuch/edit").status_code == 404
    assert client.get("/nosuch/default/edit/render").status_code == 404


def test_editor_page_prefills_the_form_from_the_url(client):
    values = json.dumps({"user_name": 'Zoë "Z" <b>'})
    html = client.get("/welcome/default/edit", query_string={"values": values}).text
    assert 'value="Zoë &#34;Z&#34; &lt;b&gt;"' in html
    assert "Welcome to Acme, Zoë" in html
    assert "<b>" not in html.split('id="editor-frame"')[1].split("</iframe>")[0]


class Tier(enum.Enum):
    FREE = "free"
    PRO = "pro"


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


def test_form_kinds_and_parsing_follow_the_annotations(emails_root):
    folder = emails_root.email("kinds", subject_txt="Hi", body_txt="{{ n }}")
    annotations = {
        "n": int,
        "ratio": float,
        "on": bool,
        "plan": typing.Literal["free", "pro"],
        "tier": Tier,
        "at": dt.datetime,
        "tags": dict[str, int],
        "pair": tuple[int, str],
        "points": list[Point],
        "note": "str | None",
        "either": int | str,
    }
    cls = type("Kinds", (Email,), {"template": folder, "__annotations__": annotations})
    spec = {s.name: s for s in fields.specs(cls)}
    assert {name: s.kind for name, s in spec.items()} == {
        "n": "int",
        "ratio": "float",
        "on": "bool",
        "plan": "choice",
        "tier": "choice",
        "at": "datetime",
        "tags": "json",
        "pair": "json",
        "points": "json",
        "note": "text",
        "either": "json",
    }
    assert spec["note"].optional and spec["note"].label == "str | None"
    broken = type(
        "Broken", (Email,), {"template": folder, "__annotations__": {"n": "int", "x": "Nowhere"}}
    )
    assert [(s.kind, s.label) for s in fields.specs(broken)] == [
        ("int", "int"),
        ("json", "any (JSON)"),
    ]
    assert spec["points"].label == "list[Point]"
    assert spec["plan"].choices == ("free", "pro") and spec["tier"].choices == ("free", "pro")
    parse = fieldvalues.parse
    assert parse("kinds", spec["n"], " 42 ") == 42
    assert parse("kinds", spec["ratio"], "2.5") == 2.5
    assert parse("kinds", spec["on"], True) is True
    assert parse("kinds", spec["tier"], "pro") is Tier.PRO
    assert parse("kinds", spec["at"], "2026-03-14T09:30") == dt.datetime(2026, 3, 14, 9, 30)
    assert parse("kinds", spec["tags"], '{"a": 1}') == {"a": 1}
    assert parse("kinds", spec["pair"], '[1, "x"]') == (1, "x")
    assert parse("kinds", spec["points"], '[{"x": 1}]') == [Point(1)]
    assert parse("kinds", spec["either"], '"x"') == "x"
    assert parse("kinds", spec["note"], None) is None
    for name, raw, says in [
        ("n", "4.5", "kinds.n: expected a whole number, e.g. 3, got '4.5'."),
        ("plan", "gold", 'kinds.plan: expected one of "free", "pro", got \'gold\'.'),
        ("on", "yes", "kinds.on takes true or false; tick or untick the box."),
        ("pair", "[1]", "kinds.pair: expected a list of 2 items, got [1]."),
        ("points", '[{"x": 1, "z": 2}]', "kinds.points[0]: Point has no field 'z'"),
        ("at", "2026-03-14", None),
    ]:
        if says is None:
            assert parse("kinds", spec[name], raw) == dt.datetime(2026, 3, 14)
            continue
        with pytest.raises(fieldvalues.FieldError) as raised:
            parse("kinds", spec[name], raw)
        assert str(raised.value).startswith(says) and raised.value.field == name
    values = {
        "n": 1,
        "points": [Point(1, 2)],
        "at": dt.datetime(2026, 1, 2, 3, 4),
        "tier": Tier.PRO,
    }
    assert pysource.sample_source(cls, "x", values) == (
        '"x": cls(n=1, points=[Point(x=1, y=2)], at=dt.datetime(2026, 1, 2, 3, 4), tier=Tier.PRO),'
    )


def test_editor_renders_in_the_chosen_locale(client):
    values = json.dumps({"user_name": "Zoë Martin"})
    query = {"values": values, "locale": "fr"}
    result = client.get("/welcome/default/edit/render", query_string=query).json
    assert result["subject"].startswith("Bienvenue chez Acme, Zoë")
    page = client.get("/welcome/default/edit", query_string=query).text
    assert '<option value="fr" selected>fr</option>' in page
    unknown = client.get("/welcome/default/edit/render", query_string={"locale": "xx"}).json
    assert unknown["subject"].startswith("Welcome to Acme")  # unknown locales: the default


BILL = """
from emailkit import Email


class Money:  # not a dataclass: the editor cannot rebuild it, but must still show the sample
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __repr__(self) -> str:
        return f"Money({self.cents})"


class Bill(Email):
    who: str
    amount: Money

    @classmethod
    def previews(cls):
        return {"default": cls(who="Ada", amount=Money(5))}
"""


def test_fields_of_types_the_editor_cannot_build_keep_the_sample_value(emails_root):
    emails_root.email("bill", subject_txt="{{ who }} owes {{ amount.cents }}", body_txt="x")
    emails_root.write("bill/__init__.py", BILL)
    client = create_preview_app(emails_root.path, TESTING=True).test_client()
    page = client.get("/bill/default/edit").text
    assert "&#34;Money(5)&#34;</textarea>" in page
    result = render(client, "/bill/default/edit/render", {"who": "Bo"})
    assert result["errors"] == {} and result["subject"] == "Bo owes 5"
    result = render(client, "/bill/default/edit/render", {"amount": '"Money(7)"'})
    assert result["errors"]["amount"] == (
        'bill.amount: expected Money (this type cannot be edited here), got "Money(7)".'
    )


def test_editor_and_image_routes_go_through_the_blueprints_request_checks(tmp_path):
    """Mounted in an app that is not in debug mode, the preview answers nothing."""
    from flask import Flask

    from emailkit.preview import preview_blueprint

    root = copy_of_shipped(tmp_path)
    app = Flask("production_app")
    app.register_blueprint(preview_blueprint(root), url_prefix="/_emails")
    client = app.test_client()
    for url in (
        "/_emails/welcome/default/edit",
        "/_emails/welcome/default/edit/render",
        "/_emails/welcome/logo.png",
        "/_emails/_assets/logo.png",
    ):
        assert client.get(url).status_code == 404, url
    app.debug = True
    page = client.get("/_emails/welcome/default/edit").text
    assert 'data-render-url="/_emails/welcome/default/edit/render"' in page
    assert "src=&#34;/_emails/welcome/logo.png&#34;" in page  # inside srcdoc
    assert client.get("/_emails/welcome/logo.png").status_code == 200

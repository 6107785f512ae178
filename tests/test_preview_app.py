from __future__ import annotations

from preview_app import create_app

from .conftest import SHIPPED_ROOT


def test_index_lists_every_email_and_sample_with_its_subject():
    client = create_app(SHIPPED_ROOT).test_client()
    page = client.get("/").get_data(as_text=True)
    for name in ("welcome", "password_reset", "receipt", "digest"):
        assert f"<h2>{name}</h2>" in page
    assert "Your Acme receipt for order A-10442 ($60.61)" in page
    assert "&lt;script&gt;" in page


def test_sample_html_and_text_are_served():
    client = create_app(SHIPPED_ROOT).test_client()
    html = client.get("/receipt/default.html")
    assert html.status_code == 200 and "Analytical Engine notebook" in html.get_data(as_text=True)
    text = client.get("/receipt/default.txt")
    assert text.mimetype == "text/plain" and "Subtotal" in text.get_data(as_text=True)


def test_unknown_email_or_sample_is_404():
    client = create_app(SHIPPED_ROOT).test_client()
    assert client.get("/nope/default.html").status_code == 404
    assert client.get("/receipt/nope.html").status_code == 404
    assert client.get("/../pyproject.toml").status_code == 404

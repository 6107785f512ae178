"""The example emails in emails/: each sample renders, escapes and carries its edge case."""

from __future__ import annotations

import re

import pytest

from emailkit import discover

from .conftest import SHIPPED_ROOT

EMAILS = discover(SHIPPED_ROOT)
SAMPLES = [
    pytest.param(cls.previews()[sample], id=f"{name}/{sample}")
    for name, cls in EMAILS.items()
    for sample in cls.previews()
]


@pytest.mark.parametrize("email", SAMPLES)
def test_every_sample_renders_all_parts(email):
    rendered = email.render()
    assert rendered.subject and "\n" not in rendered.subject
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert re.search(r"<style[ >]", rendered.html)  # the @media rules stay in <head>
    assert 'style="' in rendered.html
    assert rendered.text.strip()
    assert "{{" not in rendered.html + rendered.text


def test_script_looking_user_name_is_escaped_in_html():
    rendered = EMAILS["welcome"].previews()["script-name"].render()
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in rendered.html
    assert "?a=1&amp;b=2" in rendered.html
    assert "<script>alert('hi')</script>" in rendered.text  # plain text is not HTML


def test_non_ascii_text_survives():
    assert "Zoë" in EMAILS["welcome"].previews()["non-ascii"].render().html
    assert "山田 花子" in EMAILS["receipt"].previews()["non-ascii-yen"].render().html
    assert "« J'accuse…! »" in EMAILS["digest"].previews()["non-ascii"].render().text


def test_receipt_lists_items_and_totals():
    rendered = EMAILS["receipt"].previews()["twenty-items"].render()
    assert rendered.html.count('class="item amount"') == 20
    assert "Discount (SPRING10, 10%)" in rendered.html
    assert rendered.subject == "Your Acme receipt for order A-10442 (€512.56)"
    assert "Total" in rendered.text and "€512.56" in rendered.text


def test_digest_without_notifications_says_so_and_text_is_generated():
    rendered = EMAILS["digest"].previews()["empty"].render()
    assert rendered.subject == "Nothing new this week"
    assert "all caught up" in rendered.text
    default = EMAILS["digest"].previews()["default"].render()
    assert "Compiler notes (https://acme.example.com/n/1)" in default.text


def test_long_names_do_not_break_the_subject_line():
    rendered = EMAILS["welcome"].previews()["long-name"].render()
    assert rendered.subject == "Welcome to Acme, Maximiliana! Please confirm your address"


def test_digest_declares_one_click_unsubscribe():
    message = EMAILS["digest"].previews()["default"].message("ada@example.com")
    assert (
        message.extra_headers["List-Unsubscribe"] == "<https://acme.example.com/unsubscribe/digest>"
    )
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

"""Localised emails: variant files, fallback chains, Babel formatting, catalogs, RTL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from click.testing import CliRunner
from flask import Flask

from emailkit import ContextError, Email, EmailKit
from emailkit.checks import run_checks
from emailkit.cli import main

from ..conftest import SHIPPED_ROOT


def email_class(folder, **annotations):
    namespace = {"template": folder, "__annotations__": annotations or {"name": "str"}}
    return type("Note", (Email,), namespace)


@pytest.fixture
def variants(emails_root):
    folder = emails_root.email(
        "note",
        subject_txt="Hello {{ name }}",
        subject_pt_txt="Olá {{ name }}",
        body_txt="Default text",
        body_pt_BR_txt="Texto brasileiro",
        body_html="<html><head></head><body><p>Default html</p></body></html>",
        body_fr_html="<html><head></head><body><p>HTML français</p></body></html>",
    )
    # The fixture helper turns the first "_" into "."; the rest of the name needs fixing.
    for wrong, right in (
        ("subject.pt_txt", "subject.pt.txt"),
        ("body.pt_BR_txt", "body.pt_BR.txt"),
        ("body.fr_html", "body.fr.html"),
    ):
        (folder / wrong).rename(folder / right)
    return email_class(folder)


def test_each_part_comes_from_its_most_specific_variant(variants):
    pt_br = variants(name="Ana").render("pt_BR")
    assert (pt_br.subject, pt_br.text.strip()) == ("Olá Ana", "Texto brasileiro")
    assert "Default html" in pt_br.html
    pt = variants(name="Ana").render("pt")
    assert (pt.subject, pt.text.strip()) == ("Olá Ana", "Default text")
    fr_ca = variants(name="Ana").render("fr-CA")
    assert fr_ca.subject == "Hello Ana" and "HTML français" in fr_ca.html
    assert variants(name="Ana").render("de").subject == "Hello Ana"
    assert variants.locales() == ["fr", "pt", "pt_BR"]


def test_unknown_locale_is_a_clear_error(variants):
    with pytest.raises(ContextError, match=r"unknown locale 'xx_YY'"):
        variants(name="Ana").render("xx_YY")


def test_babel_filters_format_in_the_locale(emails_root):
    folder = emails_root.email(
        "money",
        subject_txt="{{ total|currency('EUR') }} {{ on|date('long') }}",
        body_txt="{{ big|number }} {{ share|percent }} {{ wait|timedelta }} "
        "{{ wait|timedelta(add_direction=True) }}",
    )
    cls = email_class(
        folder, total="Decimal", on="date", big="int", share="float", wait="timedelta"
    )
    email = cls(
        total=Decimal("12.5"),
        on=dt.date(2026, 3, 14),
        big=1234567,
        share=0.25,
        wait=dt.timedelta(days=3),
    )
    french = email.render("fr")
    assert french.subject == "12,50 € 14 mars 2026"
    assert (
        french.text.replace("\u202f", " ").replace("\xa0", " ")
        == "1 234 567 25 % 3 jours dans 3 jours"
    )
    english = email.render()
    assert english.subject == "€12.50 March 14, 2026"
    assert english.text == "1,234,567 25% 3 days in 3 days"


def test_right_to_left_locales_get_dir_and_lang_on_html():
    from emails.welcome import Welcome

    arabic = Welcome.previews()["default"].render("ar")
    assert '<html lang="ar" dir="rtl"' in arabic.html
    assert arabic.subject.startswith("مرحبًا بك في Acme")
    assert "تأكيد عنواني" in arabic.html
    french = Welcome.previews()["default"].render("fr")
    assert '<html lang="fr" dir="ltr"' in french.html and "Confirmer mon adresse" in french.html
    german = Welcome.previews()["default"].render("de")  # no variant: the default, in English
    assert '<html lang="en" dir="ltr"' in german.html and german.language is None


def test_catalog_translations_with_escaped_variables():
    from emails.password_reset import PasswordReset

    email = PasswordReset(user_name="<b>Bob</b>", reset_url="https://acme.example.com/r/1")
    french = email.render("fr")
    assert french.subject == "Réinitialisez votre mot de passe Acme"
    assert "Bonjour &lt;b&gt;Bob&lt;/b&gt;, nous avons reçu une demande" in french.html
    assert "Choisir un nouveau mot de passe" in french.html
    assert "Bonjour <b>Bob</b>, nous avons reçu" in french.text
    assert email.render("ar").subject == "أعد تعيين كلمة مرور Acme"
    assert email.render().subject == "Reset your Acme password"


def test_translated_templates_keep_the_compiled_path():
    from emails.password_reset import PasswordReset

    for locale in (None, "fr", "ar"):
        assert PasswordReset.templates().compiled("password_reset", locale).inline_reason is None


def test_markup_inside_trans_is_written_in_and_compiles_once(emails_root):
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html="<html><head><style>b{color:red}</style></head><body>"
        "<p>{% trans who=name %}Hello <b>{{ who }}</b>{% endtrans %}</p></body></html>",
    )
    cls = email_class(folder)
    compiled = cls.templates().compiled("note", None)
    assert compiled.inline_reason is None
    assert '<b style="color:red">x &lt;i&gt;</b>' in cls(name="x <i>").render().html


def test_markup_inside_trans_is_written_in_per_locale(emails_root):
    folder = emails_root.email(
        "note",
        subject_txt="Hi",
        body_html="<html><head><style>b{color:red} i{color:blue}</style></head><body>"
        "<p>{% trans who=name %}Hello <b>{{ who }}</b>{% endtrans %}</p></body></html>",
    )
    emails_root.write(
        "_locales/fr/LC_MESSAGES/messages.po",
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Hello <b>%(who)s</b>"\nmsgstr "Bonjour <i>%(who)s</i> !"\n',
    )
    cls = email_class(folder)
    assert cls.templates().compiled("note", "fr").inline_reason is None
    assert '<p>Bonjour <i style="color:blue">Zoé</i> !</p>' in cls(name="Zoé").render("fr").html
    assert '<b style="color:red">Zoé</b>' in cls(name="Zoé").render().html


def test_catalog_changes_are_picked_up(emails_root):
    folder = emails_root.email("note", subject_txt="{% trans %}Hello{% endtrans %}", body_txt="x")
    po = emails_root.write(
        "_locales/fr/LC_MESSAGES/messages.po",
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "Hello"\nmsgstr "Bonjour"\n',
    )
    cls = email_class(folder)
    assert cls(name="x").render("fr").subject == "Bonjour"
    assert cls.locales() == ["fr"]
    import os
    import time

    po.write_text(po.read_text().replace("Bonjour", "Salut"))
    os.utime(po, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cls(name="x").render("fr").subject == "Salut"


def test_default_locale_from_config_string_or_callable(tmp_path, smtp_server):
    from emails.welcome import Welcome

    app = Flask("loc", instance_path=str(tmp_path))
    app.config.update(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
        EMAILKIT_DEFAULT_LOCALE="fr",
    )
    EmailKit(app)
    email = Welcome.previews()["default"]
    with app.app_context():
        assert email.render().subject.startswith("Bienvenue")
        app.config["EMAILKIT_DEFAULT_LOCALE"] = lambda: "ar"
        assert email.render().subject.startswith("مرحبًا")
        assert email.render("fr").subject.startswith("Bienvenue")  # explicit wins
        email.send(to="ada@example.com", locale="fr")
    received = smtp_server.messages[0]
    assert received["Content-Language"] == "fr"
    assert "Bienvenue" in str(received["Subject"]) or received["Subject"].startswith("=?utf-8?")


def test_send_many_and_send_later_take_a_locale(tmp_path, smtp_server):
    from celery import Celery

    from emailkit.celery import register_tasks
    from emailkit.extension import kit
    from emails.welcome import Welcome

    app = Flask("loc2", instance_path=str(tmp_path))
    app.config.update(
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_DEFAULT_SENDER="noreply@acme.example.com",
    )
    EmailKit(app)
    celery_app = Celery("loc2")
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)
    register_tasks(celery_app, app)
    email = Welcome.previews()["default"]
    with app.app_context():
        kit.send_many([(email, "a@example.com", {"locale": "ar"})])
        email.send_later(to="b@example.com", locale="fr")
    languages = [m["Content-Language"] for m in smtp_server.messages]
    assert languages == ["ar", "fr"]


def test_i18n_extract_writes_the_template(tmp_path):
    import shutil

    root = tmp_path / "emails"
    shutil.copytree(SHIPPED_ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "_locales" / "messages.pot").unlink()
    result = CliRunner().invoke(main, ["--emails", str(root), "i18n", "extract"])
    assert result.exit_code == 0, result.output
    pot = (root / "_locales" / "messages.pot").read_text()
    assert 'msgid "Reset your Acme password"' in pot
    assert "#: password_reset/subject.txt:1" in pot
    assert '"Hi %(name)s, we received a request' in pot


def test_checks_cover_variants_missing_parts_and_untranslated_messages(emails_root):
    folder = emails_root.email("note", subject_txt="Hi {{ name }}", body_txt="Hello {{ name }}")
    (folder / "body.fr.txt").write_text("Bonjour {{ nom }}")
    emails_root.write(
        "_locales/fr/LC_MESSAGES/messages.po",
        'msgid ""\nmsgstr ""\n\nmsgid "Hello"\nmsgstr ""\n',
    )
    (folder / "subject.txt").write_text("{% trans %}Hello{% endtrans %} {{ name }}")
    cls = email_class(folder)
    cls.previews = classmethod(lambda c: {"default": c(name="Ana")})
    report = run_checks({"note": cls})
    checks = {(f.check, f.file) for f in report.findings}
    assert ("context.undeclared", "note/body.fr.txt") in checks
    assert ("locale.untranslated", "_locales/fr/LC_MESSAGES/messages.po") in checks
    assert report.locales["note"] == ["fr"]
    shipped = run_checks({"welcome": __import__("emails.welcome").welcome.Welcome})
    assert [f for f in shipped.findings if f.check.startswith("locale")] == []


def test_missing_part_of_a_locale_is_a_warning(emails_root):
    folder = emails_root.email("note", subject_txt="Hi", body_txt="Hello")
    (folder / "body.fr.txt").write_text("Bonjour")
    cls = email_class(folder)
    cls.previews = classmethod(lambda c: {"default": c(name="Ana")})
    (finding,) = [f for f in run_checks({"note": cls}).findings if f.check == "locale.missing-part"]
    assert finding.severity == "warning"
    assert finding.message == "subject.txt has no fr variant: fr readers get the default's"

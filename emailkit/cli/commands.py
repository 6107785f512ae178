"""The commands on emails: list, render, init, new, preview, export, send, check, dkim,
i18n and resend-failed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app

from ..errors import ConfigError, EmailError, SampleError
from ..extension import kit
from ..model.email import preview_samples
from ..project.scaffold import scaffold_email, write_starter
from ..project.settings import default_sender, load_settings
from .common import (
    PREVIEW_TO,
    app_sender,
    emails_root,
    load_emails,
    one_line,
    pick_sample,
    reports_errors,
    sending_app,
)


def add_commands(group: click.Group) -> None:
    @group.command("list")
    @reports_errors
    def list_command() -> None:
        """List every email with its samples and their subjects.

        An email or sample that does not load, build or render is listed with the reason,
        after the others, and the command exits with 1.
        """
        unloaded: dict[str, Exception] = {}
        emails = load_emails(unloaded)
        failed = False
        for name in sorted([*emails, *unloaded]):
            if name in unloaded:
                click.echo(f"{name}\n  (does not load: {one_line(unloaded[name])})")
                failed = True
                continue
            cls = emails[name]
            locales = cls.locales()
            click.echo(name + (f"  (locales: {', '.join(locales)})" if locales else ""))
            broken: dict[str, SampleError] = {}
            try:
                samples = preview_samples(cls, broken)
            except EmailError as error:
                click.echo(f"  (no samples: {one_line(error)})")
                failed = True
                continue
            if not samples and not broken:
                click.echo("  (no samples: previews() returns none; add one)")
            for sample, email in samples.items():
                try:
                    subject = email.render().subject
                except EmailError as error:
                    subject = f"(does not render: {one_line(error)})"
                    failed = True
                click.echo(f"  {sample:20} {subject}")
            for sample, problem in broken.items():
                click.echo(f"  {sample:20} (cannot be built: {one_line(problem)})")
                failed = True
        if failed:
            raise SystemExit(1)

    @group.command("render")
    @click.argument("name")
    @click.option("--sample", "-s", help="sample name (default: 'default' or the first)")
    @click.option(
        "--part",
        "-p",
        type=click.Choice(["subject", "text", "html", "eml"]),
        default="html",
        show_default=True,
    )
    @click.option("--locale", "-l", help="render in this locale, e.g. fr or pt_BR")
    @reports_errors
    def render_command(name: str, sample: str | None, part: str, locale: str | None) -> None:
        """Render a sample of the email NAME to stdout."""
        cls, _, email = pick_sample(name, sample)
        rendered = email.render(locale)
        if part == "html" and rendered.html is None:
            raise ConfigError(
                f"{name} has no body.html (it is a text-only email); use --part text, or "
                f"create {cls._require_folder() / 'body.html'}"
            )
        if part == "eml":
            message = rendered.message(
                PREVIEW_TO, sender=default_sender(app_sender(), emails_root())
            )
            sys.stdout.buffer.write(message.as_bytes())
            return
        click.echo(
            {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}[part]
        )

    @group.command("init")
    @reports_errors
    def init_command() -> None:
        """Start an emails root with a designed starter: a layout with dark mode and a
        preheader, its stylesheet, components (button, callout, columns, details table), a
        logo and a first email."""
        root = emails_root()
        written = write_starter(root)
        click.echo(f"Created {root}:")
        for path in written:
            click.echo(f"  {path.relative_to(root).as_posix()}")
        click.echo(
            "Next: `emailkit preview` to see it, `emailkit new NAME` for another email, and "
            'snapshots = "tests/snapshots" under [tool.emailkit] in pyproject.toml to test them.'
        )

    @group.command("new")
    @click.argument("name")
    @click.option("--mjml", is_flag=True, help="write body.mjml (MJML) instead of body.html")
    @reports_errors
    def new_command(name: str, mjml: bool) -> None:
        """Create the email folder NAME: templates, context class and two samples."""
        created = scaffold_email(emails_root(), name, mjml=mjml)
        click.echo(f"Created {created}:")
        for path in sorted(created.iterdir()):
            click.echo(f"  {path.name}")
        click.echo(f"Preview it with `emailkit preview`, render it with `emailkit render {name}`.")

    @group.command("preview")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option(
        "--allow-host",
        "allowed_hosts",
        multiple=True,
        help="also answer requests for this host name (repeatable; '.example.test' allows its "
        "subdomains); localhost and IP addresses always work",
    )
    @reports_errors
    def preview_command(host: str, port: int, allowed_hosts: tuple[str, ...]) -> None:
        """Serve the live-reloading preview of the emails."""
        from ..preview import serve

        serve(emails_root(), host=host, port=port, allowed_hosts=allowed_hosts)

    @group.command("export")
    @click.argument("target", type=click.Path(file_okay=False, path_type=Path))
    @reports_errors
    def export_command(target: Path) -> None:
        """Write every email, sample and locale as a static site into TARGET.

        Each sample's page has its HTML, text, headers and checks, with its .eml and .txt; the
        site works from file:// and any static host. TARGET must be empty, new, or an earlier
        export (which is replaced).
        """
        from ..preview.export import export

        report = export(emails_root(), target, sender=default_sender(app_sender(), emails_root()))
        click.echo(
            f"Exported {len(report.pages)} page(s) and {report.images} image(s) "
            f"to {report.target}; "
            f"open {report.target / 'index.html'}"
        )
        for href in report.broken:
            click.echo(f"does not render: {href} (the page says why)", err=True)
        for problem in report.unloaded:
            click.echo(f"does not load, left out (the index says why): {problem}", err=True)
        if report.broken or report.unloaded:
            raise SystemExit(1)

    @group.command("send")
    @click.argument("name")
    @click.option("--sample", "-s", help="sample name (default: 'default' or the first)")
    @click.option("--to", "to", required=True, multiple=True, help="recipient (repeatable)")
    @click.option(
        "--sender",
        help="the From, e.g. 'Acme <noreply@acme.example.com>' (default: MAIL_DEFAULT_SENDER, "
        "else sender under [tool.emailkit])",
    )
    @click.option("--locale", "-l", help="send in this locale, e.g. fr or pt_BR")
    @reports_errors
    def send_command(
        name: str, sample: str | None, to: tuple[str, ...], sender: str | None, locale: str | None
    ) -> None:
        """Send a sample of the email NAME through the configured SMTP server."""
        _, chosen, email = pick_sample(name, sample)
        with sending_app():
            if not current_app.config.get("MAIL_DEFAULT_SENDER"):
                sender = sender or load_settings().sender
            if not (sender or current_app.config.get("MAIL_DEFAULT_SENDER")):
                raise ConfigError(
                    f"{name}: no sender to send from; pass --sender 'Acme "
                    '<noreply@acme.example.com>\', set sender = "..." under [tool.emailkit] '
                    "in pyproject.toml, or set MAIL_DEFAULT_SENDER"
                )
            message_id = email.send(to=list(to), sender=sender, locale=locale)
        click.echo(f"Sent {name}/{chosen} to {', '.join(to)}: {message_id}")

    @group.command("check")
    @click.argument("names", nargs=-1)
    @click.option(
        "--format",
        "output",
        type=click.Choice(["text", "json", "github"]),
        default="text",
        show_default=True,
        help="github: GitHub Actions annotations on the files and lines of the findings",
    )
    @click.option("--all", "show_all", is_flag=True, help="show info findings too")
    @click.option(
        "--spam",
        is_flag=True,
        help="score each sample with SpamAssassin's spamd (EMAILKIT_SPAMD, default "
        "127.0.0.1:783; run it with network tests off: spamd --local)",
    )
    @click.option(
        "--a11y",
        is_flag=True,
        help="audit each sample with axe-core in Chromium, in light, dark and inverted modes",
    )
    @click.option(
        "--ignore",
        multiple=True,
        help="accept findings of this check id or pattern, e.g. 'support.*' (repeatable; "
        "also check_ignore under [tool.emailkit])",
    )
    @reports_errors
    def check_command(
        names: tuple[str, ...],
        output: str,
        show_all: bool,
        spam: bool,
        a11y: bool,
        ignore: tuple[str, ...],
    ) -> None:
        """Check the emails (all, or NAMES) for what breaks in real inboxes.

        Exits with 1 when any finding is an error.
        """
        from ..checks import run_checks
        from ..checks.deliverability import Deliverability
        from ..checks.report import as_github, as_text

        unloaded: dict[str, Exception] = {}
        emails = load_emails(unloaded)
        unknown = [name for name in names if name not in emails and name not in unloaded]
        if unknown:
            known = ", ".join(sorted([*emails, *unloaded]))
            raise ConfigError(f"no email {unknown[0]!r}; there are: {known}")
        accepted = (*load_settings().check_ignore, *ignore)
        deep = Deliverability(spam=spam, a11y=a11y) if spam or a11y else None
        report = run_checks(
            emails, only=names or None, ignore=accepted, unloaded=unloaded, deliverability=deep
        )
        if output == "json":
            click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        elif output == "github":
            click.echo(as_github(report, emails_root(), show_info=show_all))
        else:
            click.echo(as_text(report, show_info=show_all), color=None)
        if report.errors:
            raise SystemExit(1)

    @group.group("dkim")
    def dkim_group() -> None:
        """DKIM signing keys (EMAILKIT_DKIM_DOMAIN, _SELECTOR, _PRIVATE_KEY)."""

    @dkim_group.command("keygen")
    @click.option("--domain", required=True, help="the signing domain (d=), e.g. acme.com")
    @click.option("--selector", required=True, help="the key's selector (s=), e.g. mail2026")
    @click.option(
        "--algorithm", type=click.Choice(["rsa", "ed25519"]), default="rsa", show_default=True
    )
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="private key file (default: ./SELECTOR._domainkey.DOMAIN.pem); never replaced",
    )
    @reports_errors
    def dkim_keygen_command(
        domain: str, selector: str, algorithm: str, output: Path | None
    ) -> None:
        """Write a new DKIM key pair and print the DNS TXT record that publishes it."""
        from ..sending.dkim import generate, write_private_key

        pair = generate(domain.lower().rstrip("."), selector, algorithm)
        target = output or Path(f"{pair.record_name}.pem")
        write_private_key(target, pair.private_pem)
        click.echo(f"Wrote the private key to {target} (readable by you only). Publish:")
        click.echo(pair.zone_line())
        click.echo(
            f"then set EMAILKIT_DKIM_DOMAIN={pair.domain} EMAILKIT_DKIM_SELECTOR={selector} "
            f"EMAILKIT_DKIM_PRIVATE_KEY={target}"
        )

    @group.group("i18n")
    def i18n_group() -> None:
        """Message catalogs for {% trans %} blocks (under <root>/_locales)."""

    @i18n_group.command("extract")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, path_type=Path),
        help="default: <root>/_locales/messages.pot",
    )
    @reports_errors
    def extract_command(output: Path | None) -> None:
        """Write the .pot template of every translatable string in the emails.

        Then create or update each language with Babel's own tool, e.g.
        pybabel init -i emails/_locales/messages.pot -d emails/_locales -l fr
        """
        from ..templating.i18n.catalogs import extract

        target, count = extract(emails_root(), output)
        click.echo(f"Wrote {count} message(s) to {target}.")

    @group.command("resend-failed")
    @reports_errors
    def resend_failed_command() -> None:
        """Send the messages in the failed-mail folder again.

        Delivered messages leave the folder; the others stay, and the command exits with 1.
        A message whose .json is missing or damaged is named and left as it is.
        """
        with sending_app():
            folder = kit.failed
            waiting = len(folder)
            if not waiting:
                click.echo(f"No failed mail in {folder.path}.")
                return
            report = kit.resend_failed()
        click.echo(f"Resent {report.sent} of {waiting} message(s) from {folder.path}.")
        if report.claimed_elsewhere:
            click.echo(f"{report.claimed_elsewhere} message(s) left to another run sending them.")
        for failure in report.failed:
            click.echo(f"still failing: {failure.saved_to}: {failure.reason}", err=True)
        if report.failed:
            raise SystemExit(1)

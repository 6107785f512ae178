"""Gitea's new-release notification (rendered release notes output |safe, a list inside a
paragraph, attachments in a loop), from go-gitea/gitea."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from emailkit import Email


@dataclass(frozen=True)
class Publisher:
    name: str
    url: str


@dataclass(frozen=True)
class Repo:
    full_name: str
    html_url: str
    link: str


@dataclass(frozen=True)
class Attachment:
    name: str
    size: str
    download_url: str


@dataclass(frozen=True)
class Release:
    title: str
    tag_name: str
    html_url: str
    publisher: Publisher
    repo: Repo
    rendered_note: str = ""
    attachments: list[Attachment] = field(default_factory=list)


class ReleaseEmail(Email):
    subject: str
    release: Release
    link: str
    app_name: str = "Gitea"

    @classmethod
    def previews(cls) -> dict[str, ReleaseEmail]:
        repo = Repo(
            "acme/engine",
            "https://git.example.com/acme/engine",
            "https://git.example.com/acme/engine",
        )
        return {
            "default": cls(
                subject="v1.4.0 is released in acme/engine",
                release=Release(
                    "Analytical Engine 1.4",
                    "v1.4.0",
                    "https://git.example.com/acme/engine/releases/tag/v1.4.0",
                    Publisher("ada", "https://git.example.com/ada"),
                    repo,
                    Markup(
                        "<p>Faster <strong>loops</strong>.</p><ul><li>Bernoulli numbers</li></ul>"
                    ),
                    [Attachment("engine-linux-amd64", "12 MiB", "https://git.example.com/a/1")],
                ),
                link="https://git.example.com/acme/engine/releases/tag/v1.4.0",
            ),
            "edge": cls(
                subject="<script> « Été » released",
                release=Release(
                    "<script>alert(1)</script>",
                    "v0 & <1>",
                    "https://git.example.com/r?a=1&b=<2>",
                    Publisher("zoë", "https://git.example.com/zo%C3%AB"),
                    repo,
                ),
                link="https://git.example.com/x?a=<1>",
                app_name="Gitea « Ü »",
            ),
        }

"""Healthchecks.io's login link (a layout with a branded button colour in a style attribute
and an attribute selector in the stylesheet), from healthchecks/healthchecks."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Owner:
    email: str


@dataclass(frozen=True)
class Project:
    name: str
    owner: Owner

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Membership:
    project: Project
    role: str = "w"


class Login(Email):
    button_url: str
    membership: Membership | None = None
    button_text: str = "Sign In"
    button_color: str = "#22BC66"
    site_name: str = "Mychecks"
    site_root: str = "https://checks.example.com"
    site_logo_url: str = "https://checks.example.com/static/img/logo.png"
    year: int = 2026

    @classmethod
    def previews(cls) -> dict[str, Login]:
        return {
            "default": cls(
                button_url="https://checks.example.com/accounts/check_token/ada/abc123/",
                membership=Membership(Project("Backups", Owner("grace@example.com"))),
            ),
            "edge": cls(
                button_url="https://checks.example.com/t?a=1&b=<2>",
                membership=Membership(Project("", Owner("<script>x</script>@e.com")), role="r"),
                button_text="Se connecter « vite »",
                button_color="rgb(200, 0, 0)",
                site_name="Zoë & Søn <Checks>",
            ),
        }

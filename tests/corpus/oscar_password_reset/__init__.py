"""django-oscar's password reset (a translated message with a value, a button link), from
django-oscar/django-oscar."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Site:
    name: str
    domain: str


class PasswordReset(Email):
    site: Site
    reset_url: str

    @classmethod
    def previews(cls) -> dict[str, PasswordReset]:
        return {
            "default": cls(
                site=Site("Oscar Sandbox", "shop.example.com"),
                reset_url="/password-reset/confirm/MQ/5ab-123/",
            ),
            "edge": cls(
                site=Site("<script>alert(1)</script> « Été »", "boutique.exämple.com"),
                reset_url='/reset?a=1&b="2"',
            ),
        }

"""Mailgun's alert email (approaching a limit), from mailgun/transactional-email-templates."""

from __future__ import annotations

from emailkit import Email


class LimitAlert(Email):
    plan: str
    remaining: int
    upgrade_url: str
    unsubscribe_url: str
    company: str = "Acme Inc."

    @classmethod
    def previews(cls) -> dict[str, LimitAlert]:
        return {
            "default": cls(
                plan="free",
                remaining=1,
                upgrade_url="https://acme.example.com/upgrade",
                unsubscribe_url="https://acme.example.com/unsubscribe/42",
            ),
            "edge": cls(
                plan="<b>Grüne</b> « Tarif » " + "x" * 120,
                remaining=0,
                upgrade_url="https://acme.example.com/upgrade?a=1&b=2",
                unsubscribe_url="https://acme.example.com/unsubscribe/42?x=<script>",
                company="<script>alert(1)</script> Société Générale d'Électricité",
            ),
        }

"""Mailgun's actionable email (confirm an address), from mailgun/transactional-email-templates."""

from __future__ import annotations

from emailkit import Email


class ConfirmAddress(Email):
    name: str
    email_address: str
    confirm_url: str
    team: str = "The Mailgunners"

    @classmethod
    def previews(cls) -> dict[str, ConfirmAddress]:
        return {
            "default": cls(
                name="Ada Lovelace",
                email_address="ada@example.com",
                confirm_url="https://acme.example.com/confirm?token=abc123&next=%2F",
            ),
            "edge": cls(
                name="<script>alert('x')</script> Zoë Ångström-Øster " + "Wolfeschlegel" * 8,
                email_address="zoë.ångström+tag@exämple.com",
                confirm_url="https://acme.example.com/confirm?a=1&b=<2>",
                team="Équipe « Ünïcødé » & Co",
            ),
        }

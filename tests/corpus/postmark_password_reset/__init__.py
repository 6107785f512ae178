"""Postmark's password reset (basic layout), from ActiveCampaign/postmark-templates."""

from __future__ import annotations

from emailkit import Email


class PasswordReset(Email):
    name: str
    action_url: str
    operating_system: str
    browser_name: str
    support_url: str
    product_name: str = "Acme"
    company_name: str = "Acme, LLC"

    @classmethod
    def previews(cls) -> dict[str, PasswordReset]:
        return {
            "default": cls(
                name="Ada",
                action_url="https://acme.example.com/reset/4f2a?expires=24h",
                operating_system="Mac OS X",
                browser_name="Safari",
                support_url="https://acme.example.com/support",
            ),
            "edge": cls(
                name="<script>alert('reset')</script> Ñandú Ōsaka-Ærø " + "é" * 200,
                action_url="https://acme.example.com/reset?t=a&u=<b>",
                operating_system="Linux « Debian »",
                browser_name='Firefox "ESR"',
                support_url="https://acme.example.com/support?q=1&r=2",
                product_name="Zoë's <App>",
                company_name="Société & Cie",
            ),
        }

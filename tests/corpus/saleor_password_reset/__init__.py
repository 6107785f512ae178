"""Saleor's password reset email (MJML: a link built from values), from saleor/saleor."""

from __future__ import annotations

from emailkit import Email


class Message(Email):
    uid: str
    token: str
    domain: str = "shop.example.com"
    protocol: str = "https"
    site_name: str = "Saleor e-commerce"
    schema_markup: dict[str, str] | None = None

    @classmethod
    def previews(cls) -> dict[str, Message]:
        return {
            "default": cls(uid="MTI", token="5ab-8f2c1d0e9b7a6f5e4d3c"),
            "edge": cls(
                uid="<script>alert(1)</script>",
                token='a&b="c"',
                domain="boutique.exämple.com",
                site_name="Zoë « Été » & Co",
            ),
        }

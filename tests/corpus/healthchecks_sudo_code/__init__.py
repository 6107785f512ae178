"""Healthchecks.io's confirmation code (the layout without a button), from
healthchecks/healthchecks."""

from __future__ import annotations

from emailkit import Email


class SudoCode(Email):
    sudo_code: str
    button_text: str = ""
    button_url: str = ""
    button_color: str = "#22BC66"
    site_name: str = "Mychecks"
    site_root: str = "https://checks.example.com"
    site_logo_url: str = "https://checks.example.com/static/img/logo.png"
    year: int = 2026

    @classmethod
    def previews(cls) -> dict[str, SudoCode]:
        return {
            "default": cls(sudo_code="482913"),
            "edge": cls(sudo_code="<b>0</b>" * 3, site_name="山田 & Co <Checks>"),
        }

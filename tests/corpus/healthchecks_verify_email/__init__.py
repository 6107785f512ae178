"""Healthchecks.io's address verification (a fragment: no <html>, <head> or CSS), from
healthchecks/healthchecks."""

from __future__ import annotations

from emailkit import Email


class VerifyEmail(Email):
    verify_link: str
    site_name: str = "Mychecks"

    @classmethod
    def previews(cls) -> dict[str, VerifyEmail]:
        return {
            "default": cls(verify_link="https://checks.example.com/integrations/abc/verify/x1/"),
            "edge": cls(verify_link="https://checks.example.com/v?a=1&b=<2>", site_name="<Zoë>"),
        }

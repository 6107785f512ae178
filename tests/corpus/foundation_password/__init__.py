"""Foundation for Emails' password template (a reset link), from the foundation-emails package."""

from __future__ import annotations

from emailkit import Email


class PasswordReset(Email):
    name: str
    reset_url: str
    unsubscribe_url: str
    company: str = "Pirate Retirement Services"

    @classmethod
    def previews(cls) -> dict[str, PasswordReset]:
        return {
            "default": cls(
                name="Susan",
                reset_url="https://example.com/reset?token=9f8e7d",
                unsubscribe_url="https://example.com/unsubscribe",
            ),
            "edge": cls(
                name="<script>alert('pw')</script> Łukasz Żółć " + "W" * 150,
                reset_url="https://example.com/reset?token=a&b=<c>",
                unsubscribe_url='https://example.com/unsubscribe?x="y"',
                company="Société « Générale » & Fils",
            ),
        }

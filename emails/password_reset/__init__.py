"""A password reset link, with where the request came from."""

from __future__ import annotations

from emailkit import Email


class PasswordReset(Email):
    user_name: str
    reset_url: str
    expires_in_minutes: int = 60
    requested_from: str | None = None
    support_email: str = "support@acme.example.com"

    @classmethod
    def previews(cls) -> dict[str, PasswordReset]:
        return {
            "default": cls(
                user_name="Ada Lovelace",
                reset_url="https://acme.example.com/reset/8f14e45f",
                requested_from="Firefox on Linux, London, United Kingdom",
            ),
            "no-location": cls(
                user_name="Grace",
                reset_url="https://acme.example.com/reset/c9f0f895",
                expires_in_minutes=15,
            ),
            "non-ascii": cls(
                user_name="Søren Kierkegård",
                reset_url="https://acme.example.com/reset/45c48cce?lang=da",
                requested_from="Safari på iPhone, København, Danmark",
            ),
        }

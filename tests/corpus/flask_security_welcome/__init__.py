"""Flask-Security's welcome email (a confirmation link inside a branch, output |safe)."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class User:
    email: str


@dataclass(frozen=True)
class Security:
    confirmable: bool


class Welcome(Email):
    user: User
    security: Security
    confirmation_link: str

    @classmethod
    def previews(cls) -> dict[str, Welcome]:
        return {
            "default": cls(
                user=User("ada@example.com"),
                security=Security(confirmable=True),
                confirmation_link="https://app.example.com/confirm/xyz",
            ),
            "edge": cls(
                user=User("<script>alert(1)</script>zoë@exämple.com"),
                security=Security(confirmable=False),
                confirmation_link="https://app.example.com/confirm?a=<b>",
            ),
        }

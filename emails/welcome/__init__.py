"""Welcome a new user and ask them to confirm their address."""

from __future__ import annotations

from emailkit import Email


class Welcome(Email):
    user_name: str
    confirm_url: str
    plan: str = "free"

    @property
    def first_name(self) -> str:
        return self.user_name.split()[0] if self.user_name.strip() else self.user_name

    @classmethod
    def previews(cls) -> dict[str, Welcome]:
        return {
            "default": cls(
                user_name="Ada Lovelace", confirm_url="https://acme.example.com/confirm/1"
            ),
            "long-name": cls(
                user_name="Maximiliana Alexandrina Wolfeschlegelsteinhausenbergerdorff",
                confirm_url="https://acme.example.com/confirm/2?token=" + "a1b2c3d4" * 8,
                plan="pro",
            ),
            "non-ascii": cls(
                user_name="Zoë Ångström-Łukasiewicz 東京",
                confirm_url="https://acme.example.com/confirm/3",
            ),
            "script-name": cls(
                user_name="<script>alert('hi')</script> & Co",
                confirm_url="https://acme.example.com/confirm/4?a=1&b=2",
            ),
        }

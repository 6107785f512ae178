"""Welcome a new user and ask them to confirm their address."""

from __future__ import annotations

from emailkit import Email


class Welcome(Email):
    user_name: str  # fields: what the templates may use, checked when the email is built
    confirm_url: str
    plan: str = "free"

    @property
    def first_name(self) -> str:
        return self.user_name.split()[0] if self.user_name.strip() else self.user_name

    @classmethod
    def previews(cls) -> dict[str, Welcome]:
        """Named samples for `emailkit preview`, the snapshot tests and `emailkit check`."""
        return {
            "default": cls(user_name="Ada Lovelace", confirm_url="https://example.com/confirm/1"),
            "pro": cls(
                user_name="Maximiliana Alexandrina Wolfeschlegelsteinhausenbergerdorff",
                confirm_url="https://example.com/confirm/2?token=" + "a1b2c3d4" * 8,
                plan="pro",
            ),
        }

"""Foundation for Emails' sidebar template (an account summary), from foundation-emails."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Link:
    label: str
    url: str


class AccountSummary(Email):
    name: str
    links: list[Link]
    action_url: str
    action_label: str

    @classmethod
    def previews(cls) -> dict[str, AccountSummary]:
        return {
            "default": cls(
                name="Han Fastolfe",
                links=[Link(f"Report {n}", f"https://app.example.com/r/{n}") for n in range(5)],
                action_url="https://app.example.com/account",
                action_label="Open your account",
            ),
            "edge": cls(
                name="<script>alert(1)</script> Hàn Fástölfé " + "ñ" * 100,
                links=[],
                action_url="https://app.example.com/a?x=1&y=<2>",
                action_label="Ouvrir « compte »",
            ),
        }

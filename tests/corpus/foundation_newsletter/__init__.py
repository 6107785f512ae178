"""Foundation for Emails' newsletter template (a digest), from the foundation-emails package."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Article:
    title: str
    url: str


class Newsletter(Email):
    title: str
    reading: list[Article]
    unsubscribe_url: str

    @classmethod
    def previews(cls) -> dict[str, Newsletter]:
        return {
            "default": cls(
                title="The Insider",
                reading=[
                    Article("Compile once, render many", "https://news.example.com/1"),
                    Article("Inlining CSS without a network", "https://news.example.com/2"),
                    Article("Outlook conditional comments", "https://news.example.com/3"),
                ],
                unsubscribe_url="https://news.example.com/unsubscribe",
            ),
            "edge": cls(
                title="<script>alert(1)</script> L'Initié « Ümlaut » " * 3,
                reading=[],
                unsubscribe_url="https://news.example.com/u?a=1&b=2",
            ),
        }

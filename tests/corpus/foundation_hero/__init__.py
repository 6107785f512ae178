"""Foundation for Emails' hero template (a digest), from the foundation-emails package."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Story:
    title: str
    note: str


class Digest(Email):
    name: str
    stories: list[Story]
    digest_url: str
    phone: str = "408-341-0600"

    @classmethod
    def previews(cls) -> dict[str, Digest]:
        return {
            "default": cls(
                name="Elijah Baily",
                stories=[Story("Title Ipsum", "This is a note."), Story("Second", "Another")],
                digest_url="https://news.example.com/digest/12",
            ),
            "edge": cls(
                name="<script>alert(1)</script> Ænæs Þórðarson " + "ø" * 90,
                stories=[],
                digest_url="https://news.example.com/digest/0?a=1&b=2",
                phone="+33 1 23 45 67 89",
            ),
        }

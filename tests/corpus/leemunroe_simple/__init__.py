"""Lee Munroe's really simple HTML email (an announcement), from
leemunroe/responsive-html-email-template."""

from __future__ import annotations

from emailkit import Email


class Announcement(Email):
    name: str
    intro: list[str]
    headline: str
    button_url: str
    button_label: str
    unsubscribe_url: str

    @classmethod
    def previews(cls) -> dict[str, Announcement]:
        return {
            "default": cls(
                name="there",
                intro=["Sometimes all you want is to send a simple HTML email."],
                headline="Really simple HTML email template",
                button_url="https://example.com/docs",
                button_label="View the source and instructions",
                unsubscribe_url="https://example.com/unsubscribe/7",
            ),
            "edge": cls(
                name="<script>alert(1)</script> Ёлка Škoda " + "ж" * 150,
                intro=[],
                headline="Nouveautés « été » & <b>plus</b>",
                button_url="https://example.com/d?a=1&b=<2>",
                button_label="",
                unsubscribe_url="https://example.com/u",
            ),
        }

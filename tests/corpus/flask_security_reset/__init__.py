"""Flask-Security's reset instructions (a translated message with a link, output |safe)."""

from __future__ import annotations

from emailkit import Email


class ResetInstructions(Email):
    reset_link: str
    within: str

    @classmethod
    def previews(cls) -> dict[str, ResetInstructions]:
        return {
            "default": cls(reset_link="https://app.example.com/reset/abc", within="24 hours"),
            "edge": cls(
                reset_link='https://app.example.com/reset?a=1&b="2"<script>',
                within="<b>5</b> minutes « vite »",
            ),
        }

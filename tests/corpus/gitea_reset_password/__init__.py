"""Gitea's account recovery (translated messages holding markup, a URL built with {% set %},
no CSS), from go-gitea/gitea."""

from __future__ import annotations

from emailkit import Email


class ResetPassword(Email):
    display_name: str
    code: str
    code_lives: str = "3 hours"
    app_url: str = "https://git.example.com/"
    app_name: str = "Gitea: Git with a cup of tea"

    @classmethod
    def previews(cls) -> dict[str, ResetPassword]:
        return {
            "default": cls(display_name="ada", code="2026120200fa1b2c3d4e5f"),
            "edge": cls(
                display_name="<script>alert(1)</script> Zoë",
                code="a&b=c d/é",
                code_lives="« 1 » heure",
                app_name="Gitea & <Co>",
            ),
        }

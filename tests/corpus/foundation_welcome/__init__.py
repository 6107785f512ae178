"""Foundation for Emails' welcome template, from the foundation-emails package."""

from __future__ import annotations

from emailkit import Email


class Welcome(Email):
    name: str
    links: list[tuple[str, str]]
    school: str = "Kraken Academy"

    @classmethod
    def previews(cls) -> dict[str, Welcome]:
        return {
            "default": cls(
                name="Elijah",
                links=[
                    ("About", "https://kraken.example.com/about"),
                    ("Course List", "https://kraken.example.com/courses"),
                    ("Campus Map", "https://kraken.example.com/map"),
                    ("Contact", "https://kraken.example.com/contact"),
                ],
            ),
            "edge": cls(
                name="<script>alert(1)</script> Ngô Bảo Châu " + "長" * 80,
                links=[],
                school="Académie « Kraken » & Cie",
            ),
        }

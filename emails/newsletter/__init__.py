"""The weekly newsletter, written in MJML: a lead story, then stories two by two in columns
that sit side by side on desktop and stack on phones."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Story:
    title: str
    summary: str
    url: str
    image_url: str
    kicker: str = ""


class Newsletter(Email):
    user_name: str
    issue: str
    lead: Story
    stories: list[Story]
    settings_url: str = "https://acme.example.com/settings/newsletter"
    unsubscribe_url: str = "https://acme.example.com/unsubscribe/newsletter"

    @property
    def rows(self) -> list[tuple[Story, Story | None]]:
        """The stories two by two: each pair is one row of two columns."""
        stories = self.stories
        return [
            (stories[i], stories[i + 1] if i + 1 < len(stories) else None)
            for i in range(0, len(stories), 2)
        ]

    @classmethod
    def previews(cls) -> dict[str, Newsletter]:
        stories = [
            Story(
                "Compilers, explained",
                "How a program becomes instructions, in twelve short pictures.",
                "https://acme.example.com/s/compilers",
                "https://picsum.photos/seed/compilers/560/320",
                "Explainer",
            ),
            Story(
                "The first bug",
                "A moth, a relay and a logbook entry from September 1947.",
                "https://acme.example.com/s/moth",
                "https://picsum.photos/seed/moth/560/320",
                "History",
            ),
            Story(
                "Notes on the Analytical Engine",
                "Why Note G is still worth reading.",
                "https://acme.example.com/s/note-g",
                "https://picsum.photos/seed/engine/560/320",
                "Classics",
            ),
        ]
        lead = Story(
            "On computable numbers, 90 years on",
            "The paper that defined what a computer can do, and what it cannot.",
            "https://acme.example.com/s/computable",
            "https://picsum.photos/seed/turing/1120/560",
            "This week",
        )
        return {
            "default": cls(user_name="Ada", issue="Issue 42", lead=lead, stories=stories),
            "one-story": cls(user_name="Ada", issue="Issue 43", lead=lead, stories=[]),
            "non-ascii": cls(
                user_name="Łucja",
                issue="Numéro 44",
                lead=Story(
                    "« Les nombres calculables », 90 ans après",
                    "L'article qui a défini ce qu'un ordinateur peut faire — et ne peut pas.",
                    "https://acme.example.com/s/calculables",
                    "https://picsum.photos/seed/turing/1120/560",
                    "Cette semaine",
                ),
                stories=stories[:2],
            ),
        }

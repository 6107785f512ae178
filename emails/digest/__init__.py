"""A digest of notifications; its plain-text part is generated from the HTML."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Notification:
    actor: str
    action: str
    target: str
    url: str
    when: str


class Digest(Email):
    user_name: str
    period: str
    notifications: list[Notification]
    settings_url: str = "https://acme.example.com/settings/notifications"
    # Declaring it adds List-Unsubscribe and one-click List-Unsubscribe-Post headers.
    unsubscribe_url: str = "https://acme.example.com/unsubscribe/digest"

    @property
    def actors(self) -> list[str]:
        return sorted({n.actor for n in self.notifications})

    @classmethod
    def previews(cls) -> dict[str, Digest]:
        return {
            "default": cls(
                user_name="Ada",
                period="this week",
                notifications=[
                    Notification(
                        "Grace Hopper",
                        "commented on",
                        "Compiler notes",
                        "https://acme.example.com/n/1",
                        "Monday",
                    ),
                    Notification(
                        "Alan Turing",
                        "shared",
                        "On computable numbers",
                        "https://acme.example.com/n/2",
                        "Tuesday",
                    ),
                    Notification(
                        "Grace Hopper",
                        "mentioned you in",
                        "Bug report #1947",
                        "https://acme.example.com/n/3",
                        "Friday",
                    ),
                ],
            ),
            "empty": cls(user_name="Ada", period="this week", notifications=[]),
            "non-ascii": cls(
                user_name="Łucja",
                period="ce mois-ci",
                notifications=[
                    Notification(
                        "Émile Zola",
                        "a commenté",
                        "« J'accuse…! »",
                        "https://acme.example.com/n/4",
                        "lundi",
                    ),
                ],
            ),
        }

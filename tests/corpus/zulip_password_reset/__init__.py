"""Zulip's password reset (a branch opened in one paragraph and closed in another), from
zulip/zulip."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Realm:
    uri: str
    host: str


@dataclass(frozen=True)
class User:
    realm: Realm


class PasswordReset(Email):
    email_address: str
    user: User
    uid: str
    token: str
    attempted_realm: Realm | None = None
    protocol: str = "https"

    @classmethod
    def previews(cls) -> dict[str, PasswordReset]:
        realm = Realm("https://acme.zulipchat.example.com", "acme.zulipchat.example.com")
        return {
            "default": cls(
                email_address="ada@example.com", user=User(realm), uid="MQ", token="5a-9"
            ),
            "edge": cls(
                email_address="<script>alert(1)</script>@exämple.com",
                user=User(realm),
                uid="",
                token="a&b",
                attempted_realm=Realm("https://other.example.com/?a=<1>", "other.example.com"),
            ),
        }

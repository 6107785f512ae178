"""Zulip's invitation (a layout with a hidden preheader, CSS included into the <style>, an
attribute selector in @media), from zulip/zulip."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Referrer:
    full_name: str
    email: str


class Invitation(Email):
    referrer: Referrer
    activate_url: str
    custom_body: str = ""
    support_email: str = "support@zulip.example.com"
    physical_address: str = "Kandra Labs, Inc., 3790 El Camino Real, Palo Alto, CA 94306"

    @classmethod
    def previews(cls) -> dict[str, Invitation]:
        return {
            "default": cls(
                referrer=Referrer("Grace Hopper", "grace@example.com"),
                activate_url="https://chat.example.com/accounts/do_confirm/abc123",
                custom_body="Come and chat about compilers!",
            ),
            "edge": cls(
                referrer=Referrer("<script>alert(1)</script> 山田 花子", "zoë@exämple.com"),
                activate_url="https://chat.example.com/c?a=1&b=<2>",
                physical_address="",
            ),
        }

"""DMARC alignment: the From domain must match the DKIM signing domain (``d=``), or receivers
applying DMARC treat the signature as not vouching for the sender."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parseaddr
from typing import Any

from ..project.settings import default_sender
from ..sending.dkim import DOMAIN_KEY, aligned
from . import Finding
from .sent import setting

SETTINGS = "(settings)"
"""The email name of findings about the project's settings rather than one email."""


def check(sender: str | None, config: Mapping[str, Any] | None = None) -> list[Finding]:
    """A warning when DKIM signs for a domain the From address (``sender``, by default the
    app's or the project's) does not align with."""
    signing = setting(config, DOMAIN_KEY)
    if not signing:
        return []
    sender = sender or default_sender(setting(config, "MAIL_DEFAULT_SENDER"))
    address = parseaddr(sender)[1]
    if not signing or "@" not in address:
        return []
    domain = address.rpartition("@")[2].lower()
    if aligned(domain, signing):
        return []
    return [
        Finding(
            "warning",
            "dkim.alignment",
            SETTINGS,
            f"From {address} does not align with the DKIM domain d={signing} (DMARC relaxed "
            "alignment): receivers with a DMARC policy treat the mail as unsigned",
            f"send from an address at {signing} (or a subdomain), or set EMAILKIT_DKIM_DOMAIN "
            f"to {domain} with a key published there (`emailkit dkim keygen --domain {domain}`)",
        )
    ]

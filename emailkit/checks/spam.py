"""The spam check: each sample, as it would be sent, scored by SpamAssassin's ``spamd``.

emailkit speaks spamd's own protocol (``REPORT SPAMC/1.5``, a few lines over a socket, with a
timeout), so no client library is needed. Run spamd with its network tests off
(``spamd --local``): no DNS blocklists, no URI lookups, nothing leaves the machine. What it
gives is then the *content* score, the part of the verdict the email's author controls.

``EMAILKIT_SPAMD`` [``127.0.0.1:783``] names the daemon (app config, else the environment);
``EMAILKIT_SPAMD_TIMEOUT`` [30 s] bounds each exchange, so a daemon that stalls is a finding.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..model.email import Email
from . import Finding
from .rulehints import SPAM_HINTS
from .sent import sent_bytes, setting

DEFAULT_SPAMD = "127.0.0.1:783"
#: A score from here up is worth a warning: a receiver's network tests add to it.
WARN_AT = 2.5
INSTALL = (
    "install SpamAssassin's daemon (Debian/Ubuntu: apt-get install spamassassin spamd) and "
    "start it with network tests off: spamd --local -i 127.0.0.1 -d; or set EMAILKIT_SPAMD "
    "to the host:port of one that runs"
)
_HEADLINE = re.compile(rb"^SPAMD/(\d+\.\d+) (\d+) (.*)$")
_VERDICT = re.compile(rb"^Spam: (True|False|Yes|No) ; (-?[\d.]+) / (-?[\d.]+)", re.I | re.M)
_RULE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_]+)\s+(.*)$")


class SpamdUnavailable(Exception):
    """spamd could not score the message: ``reason`` says why, in one line."""

    def __init__(self, reason: str, hint: str = INSTALL) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class SpamRule:
    name: str
    score: float
    description: str


@dataclass
class SpamScore:
    """spamd's verdict on one message: the content score, the threshold, the rules hit."""

    score: float
    threshold: float
    rules: list[SpamRule] = field(default_factory=list)


@dataclass(frozen=True)
class Spamd:
    """Where spamd listens, and how long to wait for each answer."""

    host: str = "127.0.0.1"
    port: int = 783
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> Spamd:
        address = setting(config, "EMAILKIT_SPAMD") or DEFAULT_SPAMD
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            host, port = address, "783"
        timeout = setting(config, "EMAILKIT_SPAMD_TIMEOUT")
        return cls(host.strip("[]"), int(port), float(timeout) if timeout else 30.0)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _exchange(self, request: bytes) -> bytes:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except TimeoutError as error:
            raise SpamdUnavailable(
                f"spamd at {self.address} did not answer within {self.timeout:g} s: it stalls "
                "or is overloaded, so the spam score is unknown",
                "restart spamd, or raise EMAILKIT_SPAMD_TIMEOUT",
            ) from error
        except OSError as error:
            raise SpamdUnavailable(
                f"no spamd answers at {self.address} ({error.strerror or error}), so the spam "
                "score is unknown"
            ) from error
        return b"".join(chunks)

    def ping(self) -> None:
        """Raise SpamdUnavailable unless spamd answers PING."""
        answer = self._exchange(b"PING SPAMC/1.5\r\n\r\n")
        if b"PONG" not in answer.split(b"\r\n", 1)[0]:
            raise SpamdUnavailable(
                f"{self.address} does not speak spamd's protocol (it answered {answer[:60]!r})",
                "check EMAILKIT_SPAMD",
            )

    def report(self, message: bytes) -> SpamScore:
        """Score ``message`` (the whole message, as sent) and list the rules it hit."""
        request = b"REPORT SPAMC/1.5\r\nContent-length: %d\r\n\r\n" % len(message)
        answer = self._exchange(request + message)
        head, _, body = answer.partition(b"\r\n\r\n")
        first = head.split(b"\r\n", 1)[0]
        status = _HEADLINE.match(first)
        verdict = _VERDICT.search(head)
        if not status or status.group(2) != b"0" or not verdict:
            raise SpamdUnavailable(
                f"spamd at {self.address} could not score the message ("
                f"{first.decode('ascii', 'replace')[:80] or 'no answer'})",
                "see spamd's log",
            )
        return SpamScore(
            float(verdict.group(2)), float(verdict.group(3)), parse_rules(body.decode("utf-8"))
        )


def parse_rules(report: str) -> list[SpamRule]:
    """The rules of spamd's report table (``pts rule name description``), descriptions joined
    across their continuation lines."""
    rules: list[SpamRule] = []
    lines = report.splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("----")), len(lines))
    for line in lines[start:]:
        match = _RULE.match(line)
        if match:
            rules.append(SpamRule(match.group(2), float(match.group(1)), match.group(3).strip()))
        elif rules and line.startswith(" ") and line.strip():
            last = rules[-1]
            rules[-1] = SpamRule(last.name, last.score, f"{last.description} {line.strip()}")
    return rules


def check(cls: type[Email], samples: list[Any], spamd: Spamd, sender: str) -> list[Finding]:
    """Findings ``spam.score`` and ``spam.<RULE>`` for every sample of ``cls``."""
    findings = []
    for sample in samples:
        try:
            result = spamd.report(sent_bytes(sample.rendered, sender))
        except SpamdUnavailable as error:
            findings.append(
                Finding.of(cls, "error", "spam.unavailable", error.reason, error.hint, sample.name)
            )
            break
        findings += _findings(cls, sample.name, result)
    return findings


def _findings(cls: type[Email], sample: str, result: SpamScore) -> list[Finding]:
    score, threshold = result.score, result.threshold
    severity = "error" if score >= threshold else "warning" if score >= WARN_AT else "info"
    findings = [
        Finding.of(
            cls,
            severity,  # type: ignore[arg-type]
            "spam.score",
            f"SpamAssassin content score {score:g} (threshold {threshold:g}; network tests "
            f"off: the content score), {len(result.rules)} rule(s) hit",
            "fix the rules below with the most points first"
            if score >= WARN_AT
            else "nothing to change; receivers add network tests (blocklists, DKIM, SPF)",
            sample,
        )
    ]
    for rule in result.rules:
        weight = "warning" if rule.score >= 1 else "info"
        findings.append(
            Finding.of(
                cls,
                weight,  # type: ignore[arg-type]
                f"spam.{rule.name}",
                f"{rule.name} ({rule.score:+g} points): {rule.description}",
                SPAM_HINTS.get(rule.name)
                or (
                    "informational (no points): nothing to change"
                    if rule.score == 0
                    else "it lowers the score: nothing to change"
                    if rule.score < 0
                    else f"change what {rule.description!r} describes; the rule is defined in "
                    "/usr/share/spamassassin (grep for its name)"
                ),
                sample,
            )
        )
    return findings

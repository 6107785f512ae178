"""Healthchecks.io's monthly report (nested loops over projects, checks, tags and periods;
status badges in branches), from healthchecks/healthchecks."""

from __future__ import annotations

from dataclasses import dataclass, field

from emailkit import Email


@dataclass(frozen=True)
class Period:
    start: str
    end: str
    month: str


@dataclass(frozen=True)
class Downtime:
    count: int
    duration: str = ""
    no_data: bool = False


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    past_downtimes: list[Downtime]
    tags_list: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Group:
    name: str
    checks: list[Check]


MONTHS = [Period("Jan 1", "Jan 7", "January 2026"), Period("Feb 1", "Feb 7", "February 2026")]


class Report(Email):
    when: str
    groups: list[Group]
    boundaries: list[Period]
    summary_nchecks: int
    summary_ntimes: int
    unsub_link: str
    report_period: str = "monthly"
    button_text: str = ""
    button_url: str = ""
    button_color: str = "#22BC66"
    site_name: str = "Mychecks"
    site_root: str = "https://checks.example.com"
    site_logo_url: str = "https://checks.example.com/static/img/logo.png"
    year: int = 2026

    @classmethod
    def previews(cls) -> dict[str, Report]:
        backups = Check(
            "nightly-backup",
            "up",
            [Downtime(0), Downtime(2, "1 h 5 min")],
            ["prod", "db"],
        )
        return {
            "default": cls(
                when="In February",
                groups=[
                    Group(
                        "Backups",
                        [
                            backups,
                            Check("", "down", [Downtime(1, "3 min"), Downtime(0, no_data=True)]),
                        ],
                    ),
                    Group("Web", [Check("cron: sitemap", "grace", [Downtime(0), Downtime(0)])]),
                ],
                boundaries=MONTHS,
                summary_nchecks=2,
                summary_ntimes=3,
                unsub_link="https://checks.example.com/unsub/abc/",
            ),
            "edge": cls(
                when="Yesterday (« 1er »)",
                groups=[
                    Group("<script>alert(1)</script>", [Check("ü" * 40, "paused", [], ["<b>"])]),
                    Group("", []),
                ],
                boundaries=[],
                summary_nchecks=0,
                summary_ntimes=0,
                unsub_link="https://checks.example.com/unsub?a=1&b=<2>",
                report_period="weekly",
            ),
        }

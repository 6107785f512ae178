"""sendwithus' Airmail invoice, from sendwithus/templates."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Line:
    plan: str
    period: str
    amount: str


class AirmailInvoice(Email):
    first_name: str
    invoice_id: str
    card_last_four: str
    lines: list[Line]
    account_url: str
    support_url: str
    company: str = "Company Name"
    company_url: str = "https://company.example.com"

    @classmethod
    def previews(cls) -> dict[str, AirmailInvoice]:
        return {
            "default": cls(
                first_name="Bob",
                invoice_id="A80SD99",
                card_last_four="1234",
                lines=[
                    Line("Silver Monthly", "Dec 4, 2013 - Jan 4, 2014", "$39.99"),
                    Line("Extra storage", "Dec 4, 2013 - Jan 4, 2014", "$5.00"),
                ],
                account_url="https://company.example.com/account",
                support_url="https://company.example.com/support",
            ),
            "edge": cls(
                first_name="<script>alert(1)</script> Ólafur Jóhannesson " + "þ" * 120,
                invoice_id="Ü-0",
                card_last_four="0000",
                lines=[],
                account_url="https://company.example.com/account?a=1&b=<2>",
                support_url="mailto:support@company.example.com",
                company="Ærø « Søn » & Co",
            ),
        }

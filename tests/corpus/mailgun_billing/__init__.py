"""Mailgun's billing email (an invoice), from mailgun/transactional-email-templates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from emailkit import Email


@dataclass(frozen=True)
class Service:
    name: str
    amount: Decimal


class Invoice(Email):
    customer_name: str
    invoice_number: str
    invoice_date: str
    items: list[Service]
    browser_url: str
    company: str = "Acme Inc."
    company_address: str = "123 Van Ness, San Francisco 94102"
    support_email: str = "support@acme.example.com"

    @property
    def total(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal("0"))

    @classmethod
    def previews(cls) -> dict[str, Invoice]:
        return {
            "default": cls(
                customer_name="Lee Munroe",
                invoice_number="12345",
                invoice_date="June 01 2014",
                items=[
                    Service("Service 1", Decimal("19.99")),
                    Service("Service 2", Decimal("9.99")),
                    Service("Service 3", Decimal("4.00")),
                ],
                browser_url="https://acme.example.com/invoices/12345",
            ),
            "edge": cls(
                customer_name="<script>alert(1)</script> 山田 花子 " + "Long" * 40,
                invoice_number="Ünï-0",
                invoice_date="1er janvier 2026",
                items=[],
                browser_url="https://acme.example.com/invoices/0?a=1&b=2",
                company="Zoë & Søn <Ltd>",
            ),
        }

"""Postmark's receipt (basic layout), from ActiveCampaign/postmark-templates."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Detail:
    description: str
    amount: str


class Receipt(Email):
    name: str
    purchase_date: str
    credit_card_brand: str
    credit_card_last_four: str
    billing_url: str
    expiration_date: str
    receipt_id: str
    date: str
    receipt_details: list[Detail]
    total: str
    support_url: str
    action_url: str
    product_name: str = "Acme"
    company_name: str = "Acme, LLC"
    statement_name: str = "ACME*STORE"

    @classmethod
    def previews(cls) -> dict[str, Receipt]:
        return {
            "default": cls(
                name="Ada",
                purchase_date="March 14, 2026",
                credit_card_brand="Visa",
                credit_card_last_four="4242",
                billing_url="https://acme.example.com/billing",
                expiration_date="April 14, 2026",
                receipt_id="R-20260314-1",
                date="14 Mar 2026",
                receipt_details=[
                    Detail("Pro plan, March", "$29.00"),
                    Detail("Extra seats (3)", "$27.00"),
                    Detail("Priority support", "$10.00"),
                ],
                total="$66.00",
                support_url="https://acme.example.com/support",
                action_url="https://acme.example.com/receipts/R-20260314-1.pdf",
            ),
            "edge": cls(
                name="<script>alert(1)</script> 王小明 " + "Ü" * 100,
                purchase_date="1 janv. 2026",
                credit_card_brand="Carte « Bleue »",
                credit_card_last_four="0000",
                billing_url="https://acme.example.com/billing?a=1&b=2",
                expiration_date="—",
                receipt_id="<0>",
                date="",
                receipt_details=[],
                total="0,00 €",
                support_url="https://acme.example.com/support",
                action_url="https://acme.example.com/r.pdf?x=<y>",
                product_name="Ærø & Søn",
            ),
        }

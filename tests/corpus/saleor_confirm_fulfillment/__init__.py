"""Saleor's shipping confirmation (MJML: shipped lines in a loop, tracking number in a
branch), from saleor/saleor."""

from __future__ import annotations

from dataclasses import dataclass

from emailkit import Email


@dataclass(frozen=True)
class Line:
    product_name: str
    quantity: int


@dataclass(frozen=True)
class Fulfillment:
    lines: list[Line]
    tracking_number: str = ""


class ConfirmFulfillment(Email):
    fulfillment: Fulfillment
    order_number: str
    domain: str = "shop.example.com"
    protocol: str = "https"
    site_name: str = "Saleor e-commerce"
    schema_markup: dict[str, str] | None = None

    @classmethod
    def previews(cls) -> dict[str, ConfirmFulfillment]:
        return {
            "default": cls(
                fulfillment=Fulfillment(
                    [Line("Apple Juice", 2), Line("Monospace Tee (L)", 1)], "1Z999AA10123456784"
                ),
                order_number="1042",
            ),
            "edge": cls(
                fulfillment=Fulfillment([]),
                order_number="<script>alert(1)</script>",
                domain="boutique.exämple.com",
                site_name="Zoë & Søn <Ltd>",
            ),
        }

"""Saleor's order confirmation (MJML: order lines in a loop, addresses, a branch), from
saleor/saleor."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from emailkit import Email


@dataclass(frozen=True)
class Line:
    product_name: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Order:
    number: str
    currency: str
    lines: list[Line]
    billing_address: list[str]
    shipping_address: list[str] = field(default_factory=list)
    shipping_price: Decimal = Decimal("0")
    discount_amount: Decimal = Decimal("0")
    display_gross_prices: bool = True

    @property
    def subtotal(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0"))

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * Decimal("0.2")).quantize(Decimal("0.01"))

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_price - self.discount_amount


class ConfirmOrder(Email):
    order: Order
    order_details_url: str
    domain: str = "shop.example.com"
    protocol: str = "https"
    site_name: str = "Saleor e-commerce"
    schema_markup: dict[str, str] | None = None

    @classmethod
    def previews(cls) -> dict[str, ConfirmOrder]:
        return {
            "default": cls(
                order=Order(
                    number="1042",
                    currency="USD",
                    lines=[
                        Line("Apple Juice", 2, Decimal("3.50")),
                        Line("Monospace Tee (L)", 1, Decimal("24.00")),
                        Line("Seaman Cap", 3, Decimal("12.25")),
                    ],
                    billing_address=["Ada Lovelace", "12 St James's Square", "London SW1Y 4JH"],
                    shipping_address=["Ada Lovelace", "Ockham Park", "Surrey KT11 1LT"],
                    shipping_price=Decimal("7.99"),
                    discount_amount=Decimal("5.00"),
                ),
                order_details_url="https://shop.example.com/order/1042/details",
                schema_markup={"@context": "http://schema.org", "@type": "Order"},
            ),
            "edge": cls(
                order=Order(
                    number="<0>",
                    currency="EUR",
                    lines=[],
                    billing_address=["<script>alert(1)</script> Zoë Ångström", "Straße 1 « Ü »"],
                    display_gross_prices=False,
                ),
                order_details_url="https://shop.example.com/order?a=1&b=<2>",
                site_name="Boutique « Été » & Co",
                schema_markup={"name": "</script><script>alert(1)</script>"},
            ),
        }

"""django-oscar's order confirmation (lines in a loop, address lines, a translated message
holding a link inside a branch), from django-oscar/django-oscar."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from emailkit import Email


@dataclass(frozen=True)
class Site:
    name: str
    domain: str


@dataclass(frozen=True)
class Line:
    title: str
    quantity: int
    line_price_incl_tax: Decimal


@dataclass(frozen=True)
class Order:
    number: str
    currency: str
    lines: list[Line]
    shipping_address: list[str]
    shipping_incl_tax: Decimal = Decimal("0")

    @property
    def basket_total_incl_tax(self) -> Decimal:
        return sum((line.line_price_incl_tax for line in self.lines), Decimal("0"))

    @property
    def total_incl_tax(self) -> Decimal:
        return self.basket_total_incl_tax + self.shipping_incl_tax


class OrderPlaced(Email):
    order: Order
    site: Site
    status_url: bool = True
    status_path: str = ""

    @classmethod
    def previews(cls) -> dict[str, OrderPlaced]:
        return {
            "default": cls(
                order=Order(
                    "100023",
                    "GBP",
                    [
                        Line("The Shellcoder's Handbook", 1, Decimal("24.99")),
                        Line("Tea", 3, Decimal("9.00")),
                    ],
                    ["Mr Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH"],
                    Decimal("4.95"),
                ),
                site=Site("Oscar Sandbox", "shop.example.com"),
                status_path="/accounts/orders/100023/",
            ),
            "edge": cls(
                order=Order("<0>", "EUR", [], ["<script>alert(1)</script>", "Straße « Ü »"]),
                site=Site("Zoë & Søn <Shop>", "boutique.exämple.com"),
                status_url=False,
            ),
        }

"""An order receipt: line items, discount, shipping, tax and total."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from emailkit import Email

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: int
    unit_price: Decimal
    variant: str | None = None

    @property
    def amount(self) -> Decimal:
        return self.unit_price * self.quantity


class Receipt(Email):
    customer_name: str
    order_number: str
    ordered_on: dt.date
    items: list[LineItem]
    currency: str = "USD"
    shipping: Decimal = Decimal("0")
    tax_rate: Decimal = Decimal("0")
    discount_code: str | None = None
    discount_percent: Decimal = Decimal("0")
    order_url: str = "https://acme.example.com/orders"

    @cached_property
    def subtotal(self) -> Decimal:
        return sum((item.amount for item in self.items), Decimal("0"))

    @cached_property
    def discount(self) -> Decimal:
        return (self.subtotal * self.discount_percent / 100).quantize(_CENT, ROUND_HALF_UP)

    @cached_property
    def tax(self) -> Decimal:
        taxable = self.subtotal - self.discount + self.shipping
        return (taxable * self.tax_rate / 100).quantize(_CENT, ROUND_HALF_UP)

    @cached_property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.shipping + self.tax

    @classmethod
    def previews(cls) -> dict[str, Receipt]:
        base = {
            "customer_name": "Ada Lovelace",
            "order_number": "A-10442",
            "ordered_on": dt.date(2026, 3, 14),
        }
        return {
            "default": cls(
                **base,
                items=[
                    LineItem("Analytical Engine notebook", 2, Decimal("12.50"), "Dot grid"),
                    LineItem("Brass gear bookmark", 1, Decimal("4.99")),
                    LineItem("Punch card postcards (set of 10)", 3, Decimal("7.00")),
                ],
                shipping=Decimal("5.00"),
                tax_rate=Decimal("8.25"),
            ),
            "twenty-items": cls(
                **base,
                items=[
                    LineItem(f"Item number {n}", n % 3 + 1, Decimal(n) + Decimal("0.99"))
                    for n in range(1, 21)
                ],
                shipping=Decimal("0"),
                tax_rate=Decimal("20"),
                discount_code="SPRING10",
                discount_percent=Decimal("10"),
                currency="EUR",
            ),
            "non-ascii-yen": cls(
                customer_name="山田 花子",
                order_number="JP-7",
                ordered_on=dt.date(2026, 1, 2),
                items=[LineItem("Tenugui « Nami » – hand-dyed", 1, Decimal("2400"))],
                currency="JPY",
            ),
        }

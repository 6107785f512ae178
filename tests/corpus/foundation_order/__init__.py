"""Foundation for Emails' order template (a receipt), from the foundation-emails package."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from emailkit import Email


@dataclass(frozen=True)
class Item:
    name: str
    quantity: int
    unit_price: Decimal

    @property
    def price(self) -> Decimal:
        return self.unit_price * self.quantity


class Order(Email):
    customer_name: str
    email_address: str
    order_id: str
    payment_method: str
    shipping_method: str
    shipping_address: list[str]
    items: list[Item]

    @property
    def subtotal(self) -> Decimal:
        return sum((item.price for item in self.items), Decimal("0"))

    @classmethod
    def previews(cls) -> dict[str, Order]:
        return {
            "default": cls(
                customer_name="Captain Price",
                email_address="thecapn@example.com",
                order_id="239235983749636",
                payment_method="Dubloons",
                shipping_method="Boat (1-2 weeks)",
                shipping_address=["Captain Price", "123 Maple Rd", "Campbell, CA 95112"],
                items=[Item("Ship's Cannon", 2, Decimal("50")) for _ in range(3)],
            ),
            "edge": cls(
                customer_name="<script>alert(1)</script> Ørjan Ñúñez-Çelik " + "ß" * 60,
                email_address="ørjan@exämple.com",
                order_id="0",
                payment_method="Carte « bleue »",
                shipping_method="Pigeon <fast>",
                shipping_address=[],
                items=[],
            ),
        }

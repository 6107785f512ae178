"""django-oscar's back-in-stock alert (a product title output |safe inside a translated
message, a greeting in a branch), from django-oscar/django-oscar."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from emailkit import Email


@dataclass(frozen=True)
class Site:
    name: str
    domain: str


@dataclass(frozen=True)
class User:
    short_name: str


@dataclass(frozen=True)
class Product:
    title: str
    url: str


@dataclass(frozen=True)
class Alert:
    product: Product
    user: User | None = None


class ProductAlert(Email):
    alert: Alert
    site: Site
    hurry: bool = False

    @classmethod
    def previews(cls) -> dict[str, ProductAlert]:
        return {
            "default": cls(
                alert=Alert(
                    Product("Hacking Exposed", "/catalogue/hacking-exposed_1/"), User("Ada")
                ),
                site=Site("Oscar Sandbox", "shop.example.com"),
                hurry=True,
            ),
            "edge": cls(
                alert=Alert(Product(Markup("Tom &amp; Jerry <em>DVD</em>"), "/c/?a=1&b=2")),
                site=Site("Zoë & Søn", "boutique.exämple.com"),
            ),
        }

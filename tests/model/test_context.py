from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar, Optional

import pytest

from emailkit import ContextError, Email, EmailError


def make_email_class(folder):
    class Greeting(Email):
        template = folder
        user_name: str
        plan: str = "free"
        tags: list[str] = []  # noqa: RUF012 - a mutable default is copied per instance
        limit: ClassVar[int] = 3

        @property
        def shout(self) -> str:
            return self.user_name.upper()

        def plan_label(self, suffix: str) -> str:
            return f"{self.plan} {suffix}"

    return Greeting


@pytest.fixture
def greeting(emails_root):
    folder = emails_root.email(
        "greeting",
        subject_txt="Hi {{ user_name }}",
        body_txt="{{ email.shout }} / {{ email.plan_label('plan') }} / {{ plan }}",
    )
    return make_email_class(folder)


def test_fields_are_annotations_in_declaration_order(greeting):
    assert greeting.fields() == ("user_name", "plan", "tags")


def test_defaults_apply_and_keywords_override(greeting):
    assert greeting(user_name="Ada").plan == "free"
    assert greeting(user_name="Ada", plan="pro").plan == "pro"


def test_mutable_default_is_not_shared(greeting):
    first = greeting(user_name="Ada")
    first.tags.append("x")
    assert greeting(user_name="Bob").tags == []


def test_missing_field_names_class_and_field(greeting):
    with pytest.raises(ContextError, match=r"Greeting is missing field 'user_name'"):
        greeting()


def test_unknown_field_names_class_and_field_and_lists_fields(greeting):
    with pytest.raises(ContextError, match=r"Greeting has no field 'user_nam'.*user_name, plan"):
        greeting(user_nam="Ada")


def test_positional_arguments_are_refused(greeting):
    with pytest.raises(ContextError, match="keyword arguments"):
        greeting("Ada")


def test_context_error_is_an_email_error(greeting):
    with pytest.raises(EmailError):
        greeting()


def test_reserved_field_name_is_refused_at_class_definition(emails_root):
    with pytest.raises(ContextError, match=r"field 'email' is a reserved name"):

        class Bad(Email):
            email: str


def test_templates_see_fields_properties_and_methods(greeting):
    rendered = greeting(user_name="Ada", plan="pro").render()
    assert rendered.subject == "Hi Ada"
    assert rendered.text == "ADA / pro plan / pro"


def test_subclass_inherits_fields(greeting, emails_root):
    folder = emails_root.email("vip", subject_txt="VIP {{ user_name }} {{ level }}", body_txt=".")

    class Vip(greeting):
        template = folder
        level: int = 1

    assert Vip.fields() == ("user_name", "plan", "tags", "level")
    assert Vip(user_name="Ada", level=2).render().subject == "VIP Ada 2"


def test_name_comes_from_the_template_folder(greeting):
    assert greeting.email_name == "greeting"


def test_template_folder_defaults_to_the_module_folder():
    from emails.welcome import Welcome

    assert Welcome._folder.name == "welcome"
    assert Welcome.email_name == "welcome"


def test_repr_and_equality(greeting):
    assert repr(greeting(user_name="Ada")) == "Greeting(user_name='Ada', plan='free', tags=[])"
    assert greeting(user_name="Ada") == greeting(user_name="Ada")
    assert greeting(user_name="Ada") != greeting(user_name="Bob")


def test_previews_default_to_none():
    class Plain(Email):
        template = "."

    assert Plain.previews() == {}


def test_every_missing_field_is_listed(emails_root):
    class Order(Email):
        template = emails_root.path
        customer: str
        number: str
        note: str = ""
        total: int

    with pytest.raises(ContextError) as raised:
        Order(note="x")
    assert str(raised.value) == (
        "Order is missing fields 'customer', 'number', 'total'; pass customer=..., number=..., "
        "total=... or give the fields a default."
    )


def typed_class(folder):
    class Typed(Email):
        template = folder
        name: str
        count: int = 0
        ratio: float = 0.0
        price: Decimal = Decimal("0")
        vip: bool = False
        day: dt.date | None = None
        at: Optional[dt.datetime] = None  # noqa: UP045 - the typing spelling is checked too
        tags: list[str] = []  # noqa: RUF012
        prices: dict[str, Decimal] = {}  # noqa: RUF012
        anything: Any = None
        owner: Later | None = None  # a project's own class: taken on trust
        deposit: Money = Decimal("0")  # defined below: resolved when the first email is built

    return Typed


class Later:
    pass


Money = Decimal


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": 3}, "Typed: field name must be str, got int 3; pass a value of that type"),
        ({"count": "3"}, "field count must be int, got str '3'"),
        ({"count": True}, "field count must be int, got bool True"),
        ({"vip": 1}, "field vip must be bool, got int 1"),
        ({"price": "12.50"}, "field price must be Decimal, got str '12.50'"),
        ({"price": 12.5}, "field price must be Decimal, got float 12.5"),
        ({"ratio": "0.5"}, "field ratio must be float, got str '0.5'"),
        ({"day": "2026-03-14"}, "field day must be date or None, got str '2026-03-14'"),
        ({"tags": "a,b"}, "field tags must be list[str], got str 'a,b'"),
        ({"tags": ["a", 2]}, "field tags[1] must be str, got int 2"),
        ({"prices": {"a": "1"}}, "field prices['a'] must be Decimal, got str '1'"),
        ({"prices": {1: Decimal(1)}}, "field a key of prices must be str, got int 1"),
        ({"deposit": "1"}, "field deposit must be Decimal, got str '1'"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_naming_field_expected_and_given(
    emails_root, values, message
):
    cls = typed_class(emails_root.path)
    with pytest.raises(ContextError) as raised:
        cls(**{"name": "Ada", **values})
    assert message in str(raised.value)


def test_values_of_the_right_type_pass(emails_root):
    cls = typed_class(emails_root.path)
    email = cls(
        name="Ada",
        count=2,
        ratio=1,  # an int is a float, as typing has it
        price=12,
        vip=True,
        day=dt.datetime(2026, 3, 14, 9, 30),  # a datetime is a date
        at=None,
        tags=("a", "b"),
        prices={"a": Decimal("1.50")},
        anything=object(),
        owner=Later(),
        deposit=Decimal("5"),
    )
    assert cls(name="Ada", owner="not checked").owner == "not checked"
    assert email.count == 2


def test_a_wrong_type_fails_at_construction_not_inside_babel():
    from emails.receipt import Receipt

    with pytest.raises(ContextError, match=r"Receipt: field shipping must be Decimal, got str"):
        Receipt(
            customer_name="Ada",
            order_number="A-1",
            ordered_on=dt.date(2026, 3, 14),
            items=[],
            shipping="5.00",
        )
    with pytest.raises(ContextError, match=r"field items must be list\[LineItem\], got str"):
        Receipt(customer_name="A", order_number="A-1", ordered_on=dt.date.today(), items="x")

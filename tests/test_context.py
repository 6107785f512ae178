from __future__ import annotations

from typing import ClassVar

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

"""The live editor under odd input: deep or huge JSON, huge integers, non-finite floats,
fields named like dict methods; and "Copy as Python" always runs (exec'd back to the values).

The 500s of issue 19 are checked against a real preview server over HTTP; the property test
goes through Flask's test client (a few hundred renders).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import urllib.request
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emailkit.preview import create_preview_app, values

from ..conftest import running_preview

ODD = """
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from emailkit import Email


@dataclass
class Point:
    x: int
    y: float = 0.0


class Odd(Email):
    items: list[Point]
    values: dict[str, int]
    keys: str
    get: int
    ratio: float
    price: Decimal
    anything: Any
    at: dt.datetime

    @classmethod
    def previews(cls) -> dict[str, Odd]:
        return {
            "default": cls(
                items=[Point(1)],
                values={"a": 1},
                keys="k",
                get=1,
                ratio=0.5,
                price=Decimal("1.50"),
                anything=None,
                at=dt.datetime(2026, 1, 2, 3, 4),
            )
        }
"""
BODY = "{{ keys }} {{ get }} {{ ratio }} {{ price }} {{ items|length }} {{ anything }} {{ at }}"


def write_odd(root):
    folder = root / "odd"
    folder.mkdir()
    (folder / "__init__.py").write_text(ODD)
    (folder / "subject.txt").write_text("Odd {{ get }}")
    (folder / "body.txt").write_text(BODY)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_preview(tmp_path_factory.mktemp("bounds")) as running:
        write_odd(running.root)
        yield running


def fetch(server, path, values=None):
    query = "?" + urlencode({"values": json.dumps(values)}) if values is not None else ""
    request = urllib.request.Request(server.url + path + query)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def render(server, field, raw):
    status, body = fetch(server, "/odd/default/edit/render", {field: raw})
    assert status == 200, body[:500]
    return json.loads(body)


@pytest.mark.parametrize(
    ("field", "raw", "says"),
    [
        ("anything", "[" * 2500 + "]" * 2500, "odd.anything: the JSON is nested 2500 levels deep"),
        ("items", "[" * 2500 + "]" * 2500, "odd.items: the JSON is nested 2500 levels deep"),
        ("anything", "9" * 4301, "odd.anything: a number has 4,301 digits; at most 4,300."),
        ("values", '{"a": ' + "9" * 5000 + "}", "odd.values: a number has 5,000 digits"),
        ("get", "9" * 4301, "odd.get: the number has 4,301 digits; at most 4,300."),
        ("ratio", "1e999", "odd.ratio: expected a finite number"),
        ("ratio", "nan", "odd.ratio: expected a finite number"),
        ("ratio", "-inf", "odd.ratio: expected a finite number"),
        ("ratio", "9" * 400, "odd.ratio: expected a finite number"),
        ("anything", "1e999", "odd.anything: 1e999 is too large for a float"),
        ("anything", "[NaN]", "odd.anything: NaN is not a number JSON allows"),
        ("anything", "-Infinity", "odd.anything: -Infinity is not a number JSON allows"),
        ("items", '[{"x": 1, "y": 1e400}]', "odd.items: 1e400 is too large for a float"),
        ("price", "1e999999999", "odd.price: expected a decimal number"),
        ("keys", "x" * 20_001, "odd.keys is 20,001 characters long; the editor takes at most"),
    ],
)
def test_odd_values_are_refused_beside_their_field_not_a_500(server, field, raw, says):
    result = render(server, field, raw)
    assert result["errors"].get(field, "").startswith(says), result["errors"]
    assert result["html"] is None and result["python"] == ""
    # the editor page itself, prefilled from the URL, shows the same message beside the field
    status, page = fetch(server, "/odd/default/edit", {field: raw})
    assert status == 200
    assert f'id="error-{field}">{says.split(":")[0]}' in page


def test_a_hand_made_values_parameter_is_a_problem_not_a_500(server):
    for raw in ("[" * 3000 + "]" * 3000, '{"get": ' + "1" * 5000 + "}", "[1]", "{"):
        status, body = fetch(server, "/odd/default/edit/render?" + urlencode({"values": raw}))
        assert status == 200, body[:300]
        assert "values parameter is not the editor's" in json.loads(body)["problem"]
        status, page = fetch(server, "/odd/default/edit?" + urlencode({"values": raw}))
        assert status == 200 and "values parameter is not the editor&#39;s" in page


def test_fields_named_like_dict_methods_show_no_false_error(server):
    status, page = fetch(server, "/odd/default/edit")
    assert status == 200
    assert "invalid" not in page.split('class="editor-form"')[1].split("</form>")[0]
    for name in ("items", "values", "keys", "get"):
        assert f'<p class="field-error" role="alert" id="error-{name}"></p>' in page
    status, page = fetch(server, "/receipt/default/edit")  # the shipped receipt has items
    assert status == 200 and '<div class="field invalid"' not in page


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("copy") / "emails"
    root.mkdir()
    write_odd(root)
    return create_preview_app(root, TESTING=True).test_client()


def exec_python(python: str):
    """Run the editor's "As Python" text the way a user pastes it: into ``previews()``'s dict
    in the email's own module, after any import it says to add."""
    module = next(
        m for name, m in sys.modules.items() if name.endswith(".odd") and "Odd" in vars(m)
    )
    namespace = dict(vars(module), cls=module.Odd)
    lines = python.splitlines()
    for line in lines:
        if line.startswith("# add to the module's imports: "):
            exec(line.split(": ", 1)[1], namespace)
    exec("samples = {\n" + python + "\n}", namespace)
    return namespace["samples"]


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keys=st.text(max_size=40),
    get=st.integers(),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
    anything=json_values,
    moment=st.datetimes(timezones=st.none() | st.timezones() | st.just(dt.UTC)),
    price=st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**9),
)
def test_copy_as_python_always_runs_and_gives_back_the_values(
    client, keys, get, ratio, anything, moment, price
):
    changes = {
        "keys": keys,
        "get": str(get),
        "ratio": repr(ratio),
        "anything": json.dumps(anything),
        "at": moment.isoformat(),
        "price": str(price),
        "items": json.dumps([{"x": get, "y": ratio}]),
    }
    response = client.get("/odd/default/edit/render", query_string={"values": json.dumps(changes)})
    result = response.json
    assert response.status_code == 200 and not result["errors"], result["errors"]
    if result["problem"]:  # the template could not show it (a time zone jinja cannot print?)
        assert "Traceback" not in result["problem"]
        return
    made = exec_python(result["python"])["default"]
    assert made.keys == keys and made.get == get and made.ratio == ratio
    assert made.anything == anything and made.price == Decimal(str(price))
    assert made.at == moment and made.at.utcoffset() == moment.utcoffset()
    assert made.items[0].x == get and made.items[0].y == ratio


def test_non_finite_floats_in_a_sample_itself_copy_as_runnable_python(client):
    from emailkit.preview import pysource

    module = next(
        m for name, m in sys.modules.items() if name.endswith(".odd") and "Odd" in vars(m)
    )
    values = {"ratio": float("inf"), "anything": [float("-inf"), float("nan")], "keys": "a\u2028b"}
    python = pysource.sample_source(module.Odd, "x", values)
    assert 'float("inf")' in python and "=inf" not in python
    made = exec_python(python.replace('"x": cls(', '"x": dict('))["x"]
    assert made["ratio"] == float("inf") and made["keys"] == "a\u2028b"
    assert made["anything"][0] == float("-inf") and made["anything"][1] != made["anything"][1]


def test_nesting_counts_brackets_outside_strings():
    assert values.nesting('{"a": [1, {"b": "[[[["}]}') == 3
    assert values.nesting('"\\"[[["') == 0

"""Published as Flask-EmailKit; the import name, command and pytest plugin stay emailkit."""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .conftest import REPO

DISTRIBUTION = "Flask-EmailKit"


def test_project_is_named_for_the_flask_extension_convention():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION
    # the dev extra names the project itself, so it must follow the rename
    assert f"{DISTRIBUTION}[celery,mjml]" in project["optional-dependencies"]["dev"]
    assert project["scripts"] == {"emailkit": "emailkit.cli:main"}
    assert project["entry-points"]["pytest11"] == {"emailkit": "emailkit.pytest_plugin"}


def test_readme_install_line_names_the_distribution():
    readme = (REPO / "README.md").read_text()
    installs = re.findall(r"pip install ([^\s`]+)", readme)
    assert installs, "the README has no install line"
    assert installs[0] == DISTRIBUTION
    for line in installs:
        assert not re.match(r"'?emailkit\b", line), f"README still says pip install {line}"


def test_installed_distribution_provides_the_command_and_the_pytest_plugin():
    dist = metadata.distribution(DISTRIBUTION)
    points = {(point.group, point.name): point.value for point in dist.entry_points}
    assert points[("console_scripts", "emailkit")] == "emailkit.cli:main"
    assert points[("pytest11", "emailkit")] == "emailkit.pytest_plugin"
    plugins = [p for p in metadata.entry_points(group="pytest11") if p.name == "emailkit"]
    assert len(plugins) == 1, "an old 'emailkit' distribution is installed beside Flask-EmailKit"


# A new user's first hour (issue 24), from the wheel: everything below runs in a new virtualenv
# outside the repository, whose only emailkit is the one the wheel installed.

MODELS = '''\
"""The project's own code, which an email imports."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass
class LineItem:
    name: str
    quantity: int
    price: Decimal
'''

SHIPPED = '''\
"""Sent when an order leaves the warehouse."""

from __future__ import annotations

from decimal import Decimal

from emailkit import Email
from models import LineItem


class OrderShipped(Email):
    customer: str
    items: list[LineItem]
    track_url: str

    @property
    def rows(self) -> list[tuple[str, str]]:
        return [(item.name, f"{item.quantity} x {item.price}") for item in self.items]

    @classmethod
    def previews(cls) -> dict[str, OrderShipped]:
        return {
            "default": cls(
                customer="Ada",
                items=[LineItem("Sprocket", 2, Decimal("10.00"))],
                track_url="https://example.com/track/1",
            )
        }
'''

SHIPPED_HTML = """\
{% extends "_layouts/base.html" %}
{% from "_components/button.html" import button %}
{% from "_components/details.html" import details %}
{% block title %}Your order is on its way{% endblock %}
{% block preheader %}{{ items|length }} item(s) on their way to you.{% endblock %}
{% block content %}
<h1>On its way, {{ customer }}</h1>
{{ details(email.rows) }}
{{ button(track_url, "Track your parcel") }}
{% endblock %}
"""

SHIPPED_TEXT = """\
On its way, {{ customer }}
{% for item in items %}
- {{ item.name }} x {{ item.quantity }}
{% endfor %}
Track it: {{ track_url }}
"""

PROJECT_TEST = """\
from emails.order_shipped import OrderShipped
from models import LineItem


def test_the_project_imports_its_emails_and_models():
    email = OrderShipped.previews()["default"]
    assert isinstance(email.items[0], LineItem)
    assert "Sprocket" in email.render().text
"""

ONE_CLASS = """\
from emails.welcome import Welcome
from emailkit import discover
import emailkit

print(emailkit.__file__)
assert discover("emails")["welcome"] is Welcome, discover("emails")["welcome"].__module__
assert discover("emails")["order_shipped"].__module__ == "emails.order_shipped"
"""


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A new virtualenv outside the repository with the wheel built from it installed (its
    dependencies come from the test virtualenv's site-packages, through a .pth file)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
    )
    (wheel,) = out.glob("flask_emailkit-*.whl")
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    outer = sysconfig.get_paths()["purelib"]
    Path(purelib, "_outer_dependencies.pth").write_text(outer + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        check=True,
    )
    return venv


def _run(venv: Path, project: Path, *args: str, ok: bool = True, **env: str):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "EMAILKIT_ROOT", "CI", "VIRTUAL_ENV")
    }
    environment.update(PATH=f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}", **env)
    command = [str(venv / "bin" / args[0]), *args[1:]]
    result = subprocess.run(
        command, cwd=project, env=environment, capture_output=True, text=True, timeout=300
    )
    if ok:
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
    return result


def test_a_new_project_from_the_wheel_runs_every_command(wheel_venv, tmp_path, browser, artifacts):
    project = tmp_path / "shop"
    project.mkdir()
    assert not str(project).startswith(str(REPO))
    init = _run(wheel_venv, project, "emailkit", "init")
    assert "welcome/body.html" in init.stdout
    assert (project / "emails" / "_assets" / "logo.png").is_file()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "1"\n\n[tool.emailkit]\n'
        'snapshots = "tests/snapshots"\nsender = "Shop <shop@shop.example.com>"\n'
    )
    (project / "models.py").write_text(MODELS)
    folder = project / "emails" / "order_shipped"
    folder.mkdir()
    (folder / "__init__.py").write_text(SHIPPED)
    (folder / "subject.txt").write_text("Your order is on its way, {{ customer }}\n")
    (folder / "body.html").write_text(SHIPPED_HTML)
    (folder / "body.txt").write_text(SHIPPED_TEXT)

    one_class = _run(wheel_venv, project, "python", "-c", ONE_CLASS)
    assert one_class.stdout.startswith(str(wheel_venv)), one_class.stdout  # the wheel's emailkit

    listing = _run(wheel_venv, project, "emailkit", "list").stdout
    assert "Welcome to Acme, Ada! Please confirm your address" in listing
    assert "Your order is on its way, Ada" in listing
    text = _run(wheel_venv, project, "emailkit", "render", "order_shipped", "-p", "text").stdout
    assert text == "On its way, Ada\n- Sprocket x 2\nTrack it: https://example.com/track/1\n"
    html = _run(wheel_venv, project, "emailkit", "render", "welcome").stdout
    assert "prefers-color-scheme: dark" in html and 'class="preheader"' in html
    checked = _run(wheel_venv, project, "emailkit", "check").stdout
    assert checked.splitlines()[-1].startswith("0 errors, 0 warnings"), checked
    exported = _run(wheel_venv, project, "emailkit", "export", "site").stdout
    assert (project / "site" / "welcome" / "default.html").is_file(), exported

    (project / "tests").mkdir()
    (project / "tests" / "test_order.py").write_text(PROJECT_TEST)
    # -P: `python -m` would put the project on sys.path itself; the plugin must do it.
    first = _run(
        wheel_venv, project, "python", "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider"
    )
    assert "4 passed" in first.stdout, first.stdout  # 3 snapshots written, 1 project test
    assert (project / "tests" / "snapshots" / "welcome" / "default.html").is_file()
    again = _run(
        wheel_venv,
        project,
        "python",
        "-P",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        CI="true",
    )
    assert "4 passed" in again.stdout, again.stdout

    _preview_screenshots(wheel_venv, project, browser, artifacts)


def _preview_screenshots(venv: Path, project: Path, browser, artifacts: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CI")}
    log = open(project / "preview.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(venv / "bin" / "emailkit"), "preview", "--port", str(port)],
        cwd=project,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, (project / "preview.log").read_text()
                assert time.monotonic() < deadline, (project / "preview.log").read_text()
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        for width in (375, 1440):
            page = browser.new_page(viewport={"width": width, "height": 900})
            try:
                for name, path in (
                    ("index", "/"),
                    ("viewer", "/welcome/default"),
                    ("welcome", "/welcome/default.html"),
                    ("order-shipped", "/order_shipped/default.html"),
                ):
                    response = page.goto(base + path)
                    assert response is not None and response.status == 200, path
                    page.wait_for_load_state("load")
                    overflow = page.evaluate(
                        "document.documentElement.scrollWidth"
                        " - document.documentElement.clientWidth"
                    )
                    assert overflow <= 0, f"{path} at {width}px scrolls sideways by {overflow}px"
                    page.screenshot(
                        path=str(artifacts / f"first-hour-{name}-{width}.png"), full_page=True
                    )
            finally:
                page.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()

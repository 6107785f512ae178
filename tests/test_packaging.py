"""Published as Flask-EmailKit; the import name, command and pytest plugin stay emailkit."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys

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

"""What a new process imports: rendering from a warm compile cache loads only what rendering
needs; the sending side and the CLI come with ``EmailKit``. (bench/coldstart.py times it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .conftest import REPO

# Compilers (premailer, cssutils, lxml, inscriptis, mjml), the sending side (Flask-Mail's
# sender is imported by Message, but not tenacity, the thread pool, the SMTP transport),
# address validation, and the layers above rendering.
NOT_FOR_A_WARM_RENDER = (
    "premailer",
    "cssutils",
    "lxml",
    "inscriptis",
    "mjml",
    "email_validator",
    "tenacity",
    "tornado",
    "celery",
    "emailkit.cli",
    "emailkit.extension",
    "emailkit.sending.deliverer",
    "emailkit.sending.async_sender",
    "emailkit.sending.bulk",
    "emailkit.sending.transport",
    "emailkit.sending.delivery",
    "emailkit.templating.mjml.probe",
    "emailkit.templating.inline",
    "emailkit.templating.cssrules",
)

RENDER = """
import json, sys
from emails.{module} import {cls}
rendered = {cls}.previews()[{sample!r}].render()
print(json.dumps({{"modules": sorted(sys.modules), "text": rendered.text,
                  "subject": rendered.subject, "html": len(rendered.html)}}))
"""


def _run(code: str, cache: Path, cwd: Path = REPO) -> dict[str, object]:
    env = {**os.environ, "EMAILKIT_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    ("module", "cls", "sample"),
    [("receipt", "Receipt", "twenty-items"), ("digest", "Digest", "default")],
)
def test_a_warm_first_render_imports_no_compiler_and_no_sender(tmp_path, module, cls, sample):
    code = RENDER.format(module=module, cls=cls, sample=sample)
    cold = _run(code, tmp_path / "cache")
    warm = _run(code, tmp_path / "cache")
    assert warm["subject"] == cold["subject"] and warm["text"] == cold["text"]
    assert warm["html"] == cold["html"]
    # The probe sees imports: compiling (cache cold) loads the inliner.
    assert "premailer" in cold["modules"]
    loaded = set(warm["modules"])  # type: ignore[arg-type]
    assert sorted(loaded & set(NOT_FOR_A_WARM_RENDER)) == []


def test_importing_emailkit_leaves_the_sending_side_and_the_cli_until_asked_for(tmp_path):
    code = """
import json, sys
import emailkit
before = sorted(m for m in sys.modules if m.startswith("emailkit"))
from emailkit import EmailKit, FailedMessage, SendReport
names = [EmailKit.__module__, FailedMessage.__module__, SendReport.__module__]
print(json.dumps({"modules": before, "names": names, "cli": "emailkit.cli" in sys.modules,
                  "all": all(hasattr(emailkit, name) for name in emailkit.__all__)}))
"""
    found = _run(code, tmp_path / "cache")
    assert "emailkit.extension" not in found["modules"]  # type: ignore[operator]
    assert "emailkit.cli" not in found["modules"]  # type: ignore[operator]
    assert found["names"] == [
        "emailkit.extension",
        "emailkit.sending.deliverer",
        "emailkit.sending.deliverer",
    ]
    assert found["cli"] is True
    assert found["all"] is True


def test_unknown_package_attribute_is_an_attribute_error():
    import emailkit

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        emailkit.Nope  # noqa: B018
    assert {"EmailKit", "SendReport", "FailedMessage"} <= set(dir(emailkit))


def test_flask_emailkit_is_there_in_a_new_process_of_an_app_using_emailkit(tmp_path):
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            from flask import Flask
            from emailkit import EmailKit

            app = Flask(__name__)
            app.config.update(TESTING=True, EMAILKIT_HANDLE_SIGNALS=False)
            EmailKit(app)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "EMAILKIT_CACHE_DIR": str(tmp_path / "c")}
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "emailkit", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "Work with the app's emails" in done.stdout
    for command in ("list", "render", "send"):
        assert f"  {command}" in done.stdout

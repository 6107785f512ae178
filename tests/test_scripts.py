"""scripts/_venv.sh: the first run says what it is installing instead of a silent minute."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .conftest import REPO


def test_first_run_says_what_it_installs_and_later_runs_are_quiet(tmp_path: Path):
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "_venv.sh", tmp_path / "scripts" / "_venv.sh")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    # Stands in for the virtualenv's python: records what pip would have been asked to do.
    python.write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/../../pip-calls"\n')
    python.chmod(0o755)

    def source() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", "source scripts/_venv.sh"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )

    first = source()
    assert "scripts: installing emailkit and its development extras into .venv" in first.stderr
    assert "scripts: installed" in first.stderr
    assert "-m pip install --quiet -e .[dev]" in (tmp_path / "pip-calls").read_text()
    second = source()
    assert second.stderr == ""

# Sourced by the scripts in this folder: make .venv and install emailkit with its dev extras.
# Reinstalls only when pyproject.toml changed since the last install.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
say() { echo "scripts: $*" >&2; }
if [ ! -x .venv/bin/python ]; then
  say "creating a virtualenv in .venv (first run)"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  say "installing emailkit and its development extras into .venv (pyproject.toml is new or" \
    "changed); this takes a minute or two the first time"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # The distribution was called emailkit before it became Flask-EmailKit: remove the old one,
  # whose pytest plugin and `emailkit` script would otherwise be installed twice.
  if .venv/bin/python -m pip show --quiet emailkit >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall --quiet --yes emailkit
  fi
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
  say "installed"
fi
export PATH="$repo/.venv/bin:$PATH"

#!/usr/bin/env bash
# The tools of the tests, benchmarks and docs (the ".[dev]" extra: pytest, playwright, ruff, mypy,
# mkdocs, the corpus builders), on top of what `make setup` installed for running the app.
# Idempotent: skipped while pyproject.toml and requirements.lock are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
VPY=.venv/bin/python
stamp=.venv/.setup-dev-$( { cat pyproject.toml requirements.lock; } | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  printf '\033[1m[setup]\033[0m %s\n' "outils de test, de mesure et de documentation (extra dev, versions figées)"
  PIP_DISABLE_PIP_VERSION_CHECK=1 $VPY -m pip install --quiet -c requirements.lock -e '.[dev]'
  rm -f .venv/.setup-dev-*; touch "$stamp"
fi

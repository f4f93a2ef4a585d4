"""What the project runs on may be shipped by a public body: no strong copyleft at run time, and the page says so."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("licenses", ROOT / "scripts" / "licenses.py")
assert spec is not None and spec.loader is not None
licenses = importlib.util.module_from_spec(spec)
sys.modules["licenses"] = licenses
spec.loader.exec_module(licenses)


def test_no_runtime_package_binds_whoever_ships_the_project() -> None:
    runtime = licenses.runtime_closure()
    assert "chromadb" in runtime and "gradio" in runtime and "pytest" not in runtime
    bound = []
    for name, _version in licenses.locked():
        if licenses.canonicalize_name(name) in runtime and licenses.strong_copyleft(licenses.licence(name)):
            bound.append((name, licenses.licence(name)))
    assert not bound, bound


@pytest.mark.parametrize(
    ("text", "strong"),
    [
        ("GNU Affero General Public License v3 or later (AGPLv3+)", True),
        ("GPL-3.0-only", True),
        ("LGPL-3.0-only", False),
        (
            "Apache Software License OR GNU General Public License (GPL) OR GNU Library or Lesser General Public License (LGPL)",
            False,
        ),
        ("MPL-1.1 OR GPL-2.0-only OR LGPL-2.1-or-later", False),
        ("MIT", False),
    ],
)
def test_what_counts_as_strong_copyleft(text: str, strong: bool) -> None:
    assert licenses.strong_copyleft(text) is strong


def test_the_licences_page_is_current() -> None:
    assert (ROOT / "docs" / "licenses.md").read_text(encoding="utf-8") == licenses.page(), (
        "regenerate it: .venv/bin/python scripts/licenses.py"
    )

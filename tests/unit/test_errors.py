"""Every error a user can meet belongs to one layer's tree, so the web layer has a sentence for it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import assistant
import index
from assistant.errors import AnsweringError
from index.errors import IndexingError


def project_error_classes() -> list[type[BaseException]]:
    found = []
    for package in (assistant, index):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):  # subpackages too
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    found.append(obj)
    return found


def test_project_defines_errors() -> None:
    assert len(project_error_classes()) >= 8


@pytest.mark.parametrize("cls", project_error_classes(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_each_error_derives_from_its_layer_base(cls: type[BaseException]) -> None:
    base = IndexingError if cls.__module__.startswith("index.") else AnsweringError
    assert issubclass(cls, base) or cls is base, f"{cls.__name__} must derive from {base.__name__}"


def test_index_layer_never_raises_answering_errors() -> None:
    for cls in project_error_classes():
        if cls.__module__.startswith("index."):
            assert not issubclass(cls, AnsweringError)

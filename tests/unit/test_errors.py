"""Every error a user can meet belongs to one layer's tree, so the web layer has a sentence for it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import assistant
import database
import index
import web
from assistant.errors import AnsweringError
from database import DatabaseError
from index.errors import IndexingError
from web.errors import WebError
from web.messages import UNEXPECTED, user_message

ROOTS = {"assistant.": AnsweringError, "index.": IndexingError, "web.": WebError, "database.": DatabaseError}


def project_error_classes() -> list[type[BaseException]]:
    found = []
    for package in (database, index, assistant, web):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):  # subpackages too
            if info.name.endswith("__main__") or ".migrations" in info.name:  # scripts, not modules
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    found.append(obj)
    return found


def test_project_defines_errors() -> None:
    assert len(project_error_classes()) >= 8


@pytest.mark.parametrize("cls", project_error_classes(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_each_error_derives_from_its_layer_root_and_reaches_people_as_its_sentence(cls: type[BaseException]) -> None:
    base = next(root for prefix, root in ROOTS.items() if cls.__module__.startswith(prefix))
    assert issubclass(cls, base) or cls is base, f"{cls.__name__} must derive from {base.__name__}"
    try:
        error = cls("Message pour la personne.")
    except TypeError:  # an error built with other arguments: its message is made by the class
        return
    assert user_message(error) != UNEXPECTED, f"{cls.__name__} has no sentence for people"


def test_a_layer_never_raises_the_errors_of_a_layer_above() -> None:
    above = {
        "database.": (IndexingError, AnsweringError, WebError),
        "index.": (AnsweringError, WebError),
        "assistant.": (WebError,),
    }
    for cls in project_error_classes():
        for prefix, roots in above.items():
            if cls.__module__.startswith(prefix):
                assert not issubclass(cls, roots), cls

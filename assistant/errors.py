"""The answering layer's one error tree: every failure a user can meet derives from AnsweringError.

Backend and store errors are turned into one of these at their boundary; the
message is a French sentence saying what to do next.
"""

from __future__ import annotations


class AnsweringError(Exception):
    """Base of the answering layer's errors; the message is for the user (French)."""

"""Strings that say what they hold: HTML, Markdown, CSV or JSON.

A step that returns ``HTMLString(...)`` (or one of the others) stores it as an artifact
whose file is also its visualization, so ``headrace artifact show`` can display it as a
page, a document or a table. They are ``str`` in every other way.
"""

from __future__ import annotations


class HTMLString(str):
    """A string of HTML."""

    __slots__ = ()


class MarkdownString(str):
    """A string of Markdown."""

    __slots__ = ()


class CSVString(str):
    """A string of comma-separated values."""

    __slots__ = ()


class JSONString(str):
    """A string of JSON."""

    __slots__ = ()


# Registers their materializer (it refers to the classes above, so it comes after them).
from headrace.materializers import structured_string_materializer as _materializer  # noqa: E402

__all__ = ["CSVString", "HTMLString", "JSONString", "MarkdownString"]
del _materializer

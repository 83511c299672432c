"""The dashboard's server-side helpers without a server: the CSRF check, the path guard
of previews and visualizations, and how a parameter's schema becomes a form input."""

from __future__ import annotations

import pytest

from headrace.artifacts.preview import inside
from headrace.exceptions import PermissionDeniedError
from headrace.server.auth.session import CSRF_COOKIE, CSRF_HEADER, check_csrf
from headrace.snapshots.form import input_kind


def test_safe_methods_need_no_csrf_token() -> None:
    for method in ("GET", "HEAD", "OPTIONS", "get"):
        check_csrf(method, {}, {})


@pytest.mark.parametrize(
    ("cookies", "headers"),
    [
        ({}, {}),
        ({CSRF_COOKIE: "token"}, {}),
        ({}, {CSRF_HEADER: "token"}),
        ({CSRF_COOKIE: "token"}, {CSRF_HEADER: "other"}),
        ({CSRF_COOKIE: ""}, {CSRF_HEADER: ""}),
    ],
)
def test_unsafe_methods_need_the_cookie_echoed_in_the_header(
    cookies: dict[str, str], headers: dict[str, str]
) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with pytest.raises(PermissionDeniedError, match=CSRF_HEADER):
            check_csrf(method, cookies, headers)
    check_csrf("POST", {CSRF_COOKIE: "token"}, {CSRF_HEADER: "token"})


@pytest.mark.parametrize(
    ("root", "path", "expected"),
    [
        ("/store/a", "/store/a/viz.html", True),
        ("/store/a", "/store/a", True),
        ("/store/a/", "/store/a/sub/x.png", True),
        ("/store/a", "/store/ab/x.html", False),
        ("/store/a", "/store/a/../b/x.html", False),
        ("/store/a", "/etc/passwd", False),
        ("s3://bucket/a", "s3://bucket/a/x.html", True),
        ("s3://bucket/a", "/bucket/a/x.html", False),
        ("file:///store/a", "file:///store/a/x.md", True),
    ],
)
def test_files_are_read_only_inside_the_version_directory(
    root: str, path: str, expected: bool
) -> None:
    assert inside(root, path) is expected


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "integer"}, "integer"),
        ({"type": "number"}, "number"),
        ({"type": "string"}, "string"),
        ({"type": "boolean"}, "boolean"),
        ({"enum": ["a", "b"], "type": "string"}, "enum"),
        ({"type": "array", "items": {"type": "integer"}}, "json"),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "json"),
        ({}, "json"),
    ],
)
def test_each_schema_gets_an_input_that_fits(schema: dict[str, object], kind: str) -> None:
    assert input_kind(schema) == kind

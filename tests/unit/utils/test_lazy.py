"""Lazily loaded package attributes: loaded once, stored, and unknown names refused."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_lazy_name_is_imported_on_first_access_and_then_stored() -> None:
    code = (
        "import sys, headrace.materializers as m; "
        "assert 'headrace.materializers.numpy_materializer' not in sys.modules; "
        "cls = m.NumpyMaterializer; "
        "assert 'headrace.materializers.numpy_materializer' in sys.modules; "
        "assert vars(m)['NumpyMaterializer'] is cls; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_an_unknown_name_is_an_attribute_error_naming_package_and_name() -> None:
    import headrace.config

    with pytest.raises(AttributeError, match="module 'headrace.config' has no attribute 'Nope'"):
        headrace.config.Nope  # noqa: B018

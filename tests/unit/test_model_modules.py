"""Modules that define pydantic models keep their annotations evaluated.

With ``from __future__ import annotations`` every field annotation is a string that
pydantic has to ``eval`` (compiling it first) when the class is defined; a plain run
defines about fifty models, so that costs several milliseconds on every ``python run.py``.
"""

from __future__ import annotations
import __future__

import importlib
import inspect
import pkgutil

from pydantic import BaseModel

import headrace.config
import headrace.models


def _model_modules() -> list[str]:
    names = []
    for package in (headrace.config, headrace.models):
        for info in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(info.name)
            if any(
                issubclass(obj, BaseModel) and obj.__module__ == module.__name__
                for obj in vars(module).values()
                if inspect.isclass(obj)
            ):
                names.append(info.name)
    return names


def test_model_modules_do_not_postpone_annotations() -> None:
    modules = _model_modules()
    assert "headrace.config.step_configurations" in modules and "headrace.models.run" in modules
    postponed = [
        name
        for name in modules
        if getattr(importlib.import_module(name), "annotations", None) is __future__.annotations
    ]
    assert postponed == [], f"remove 'from __future__ import annotations' from {postponed}"

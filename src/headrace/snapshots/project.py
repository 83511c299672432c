"""Where a project's pipelines are imported from, and importing one by ``module.name``.

Shared by the CLI (``headrace pipeline snapshot create``) and anything else that loads a
user's pipeline in the user's own process. The server never calls it: it runs no user
code.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.exceptions import ConfigurationError, HeadraceError

if TYPE_CHECKING:
    from headrace.dsl.pipeline import Pipeline


def project_root() -> Path:
    """The directory pipeline sources are relative to.

    ``HEADRACE_SOURCE_ROOT`` when set, else the repository root made by ``headrace init``,
    else the current directory. (Not the directory of the running script, which for the
    CLI is the virtualenv's ``bin``.)
    """
    from headrace.utils.env import ENV_SOURCE_ROOT
    from headrace.utils.repository import find_repository_root

    explicit = os.environ.get(ENV_SOURCE_ROOT)
    if explicit:
        return Path(explicit).resolve()
    return find_repository_root() or Path.cwd().resolve()


@contextmanager
def project_on_path(root: Path) -> Iterator[None]:
    """Import from ``root`` first and make it the source root while inside.

    The source root is also what the snapshot archives and what its runs import from, so
    both must be the directory the pipeline was loaded from. Both changes are undone on
    exit, so an in-process caller (a test, a notebook) keeps its own settings.
    """
    from headrace.utils.env import ENV_SOURCE_ROOT

    entry = str(root)
    previous = os.environ.get(ENV_SOURCE_ROOT)
    os.environ[ENV_SOURCE_ROOT] = entry
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(ENV_SOURCE_ROOT, None)
        else:
            os.environ[ENV_SOURCE_ROOT] = previous
        if entry in sys.path:
            sys.path.remove(entry)


def load_pipeline(source: str) -> Pipeline[Any]:
    """Import the pipeline ``source`` (``module.name``) names.

    Raises:
        ConfigurationError: nothing of that name can be imported, importing the module
            raised, or the object is not a ``@pipeline``.
    """
    from headrace.config.source import load_source
    from headrace.dsl.pipeline import Pipeline
    from headrace.dsl.step import BaseStep

    try:
        obj = load_source(source)
    except HeadraceError:
        raise
    except Exception as error:  # the user's module raised while being imported
        raise ConfigurationError(
            f"Cannot load {source!r}: importing it raised {type(error).__name__}: {error} "
            "(--debug shows the traceback)."
        ) from error
    if not isinstance(obj, Pipeline):
        what = "a step" if isinstance(obj, BaseStep) else f"a {type(obj).__name__}"
        raise ConfigurationError(
            f"{source!r} is {what}, not a pipeline; give the module and the name of a "
            "function decorated with @pipeline, e.g. run.my_pipeline."
        )
    return obj

"""Which store a process talks to, and one shared instance per store URL.

Order: ``HEADRACE_STORE_URL``; else ``.headrace/headrace.db`` in the repository found by
walking up from the current directory (``headrace init`` makes one); else a store in the
user data directory.
"""

from __future__ import annotations

import os
import threading
from contextvars import ContextVar, Token
from pathlib import Path

from headrace.store.base import Store
from headrace.utils.env import ENV_STORE_URL
from headrace.utils.repository import REPOSITORY_DIRECTORY_NAME, find_repository_root

DATABASE_FILE = "headrace.db"
ARTIFACTS_DIRECTORY = "artifacts"

_STORES: dict[str, Store] = {}
_LOCK = threading.Lock()
# The store of the pipeline run executing in this context (set while a step runs), so
# Client() and load_artifact() inside a step talk to the run's store.
_ACTIVE: ContextVar[Store | None] = ContextVar("headrace_active_store", default=None)


def active_store() -> Store:
    """The store of the running step, else the configured store."""
    return _ACTIVE.get() or get_store()


def set_active_store(store: Store | None) -> Token[Store | None]:
    """Make ``store`` the active store of this context; returns a token to reset it."""
    return _ACTIVE.set(store)


def reset_active_store(token: Token[Store | None]) -> None:
    """Restore the active store that ``set_active_store`` replaced."""
    _ACTIVE.reset(token)


def user_data_directory() -> Path:
    """Where headrace keeps its store when no repository is found."""
    import platformdirs

    return Path(platformdirs.user_data_dir("headrace", appauthor=False))


def store_location() -> tuple[str, str]:
    """The store URL and the default artifact store path for this process."""
    url = os.environ.get(ENV_STORE_URL)
    if url:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            base = Path(url[len("sqlite:///") :]).expanduser().resolve().parent
        else:
            base = user_data_directory()
        return url, str(base / ARTIFACTS_DIRECTORY)
    repository = find_repository_root()
    base = (
        repository / REPOSITORY_DIRECTORY_NAME if repository is not None else user_data_directory()
    )
    return f"sqlite:///{base / DATABASE_FILE}", str(base / ARTIFACTS_DIRECTORY)


def get_store(url: str | None = None, artifact_path: str | None = None) -> Store:
    """The store for ``url`` (default: :func:`store_location`), opened once per process."""
    default_url, default_artifacts = store_location()
    url = url or default_url
    store = _STORES.get(url)
    if store is not None:
        return store
    with _LOCK:
        store = _STORES.get(url)
        if store is None:
            store = _open(url, artifact_path or default_artifacts)
            _STORES[url] = store
    return store


def _open(url: str, artifact_path: str) -> Store:
    if url.startswith(("http://", "https://")):
        from headrace.exceptions import StoreError

        raise StoreError(
            f"{ENV_STORE_URL}={url!r} points at a server; connecting to a headrace server "
            "is not available in this version. Use a sqlite:/// or postgresql:// URL."
        )
    from headrace.store.sql.store import SqlStore

    return SqlStore(url, default_artifact_path=artifact_path)


def forget_stores() -> None:
    """Close and forget every open store (tests, and after changing the environment)."""
    with _LOCK:
        for store in _STORES.values():
            store.close()
        _STORES.clear()


# Everything in the repository directory stays out of version control: the database, the
# artifacts, and the secrets key above all (`git add -A` must never stage it).
GITIGNORE_TEXT = "# Written by headrace init: nothing in .headrace belongs in version control.\n*\n"


def init_repository(path: Path, *, parents: bool = True) -> tuple[Path, Store]:
    """Create ``.headrace/`` in ``path`` with a fresh store, default stack and a
    ``.gitignore`` that keeps all of it out of git.

    Args:
        path: the project directory.
        parents: create ``path``'s missing parent directories; when false only ``path``
            itself may be missing (like ``mkdir`` without ``-p``), so a typo in a deep
            path is refused instead of creating a whole tree.

    Raises:
        ConfigurationError: ``path`` is not a directory, or its parent is missing and
            ``parents`` is false.
    """
    from headrace.exceptions import ConfigurationError

    root = path.resolve()
    if root.exists() and not root.is_dir():
        raise ConfigurationError(f"{path} exists and is not a directory.")
    if not parents and not root.exists() and not root.parent.is_dir():
        raise ConfigurationError(
            f"{path} does not exist and neither does its parent {root.parent}; pass "
            "--parents to create the missing directories."
        )
    directory = root / REPOSITORY_DIRECTORY_NAME
    directory.mkdir(parents=True, exist_ok=True)
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(GITIGNORE_TEXT, encoding="utf-8")
    url = f"sqlite:///{directory / DATABASE_FILE}"
    store = get_store(url, str(directory / ARTIFACTS_DIRECTORY))
    store.get_default_stack()
    return directory, store

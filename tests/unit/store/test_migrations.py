"""The schema constant, the Alembic migrations and the table definitions agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from headrace.exceptions import StoreVersionError
from headrace.store.sql.migrate import ensure_schema, known_revisions, upgrade
from headrace.store.sql.schema import HEAD_REVISION, metadata
from headrace.store.sql.store import SqlStore


def test_head_revision_is_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from headrace.store.sql.migrate import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
    assert HEAD_REVISION in known_revisions()


def test_migrated_schema_matches_the_table_definitions(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = create_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= set(metadata.tables)


def test_opening_a_store_migrates_once_and_reopening_is_cheap(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    SqlStore(url, default_artifact_path=str(tmp_path / "a")).close()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            HEAD_REVISION
        )
    ensure_schema(engine, url)  # no-op at head


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    SqlStore(url, default_artifact_path=str(tmp_path / "a")).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(StoreVersionError, match="9999_future.*newer headrace"):
        SqlStore(url)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'w.db'}", default_artifact_path=str(tmp_path))
    with store._engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) > 0
    store.close()


def test_postgres_schema_matches_the_table_definitions(postgres_url: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    SqlStore(postgres_url, default_artifact_path=str(tmp_path / "a")).close()
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert diff == []
    assert revision == HEAD_REVISION

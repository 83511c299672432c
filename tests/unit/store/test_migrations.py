"""The schema constant, the Alembic migrations, the table definitions and the store's
own column list agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from headrace.exceptions import StoreVersionError
from headrace.store.base import Store
from headrace.store.sql.migrate import HEAD_REVISION, ensure_schema, known_revisions, upgrade
from headrace.store.sql.schema import metadata
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
    store = SqlStore(url)
    try:
        ensure_schema(store._db)  # no-op at head
    finally:
        store.close()


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
    with store._db.read() as conn:
        assert conn.scalar("PRAGMA journal_mode") == "wal"
        assert int(conn.scalar("PRAGMA busy_timeout") or 0) > 0
        assert conn.scalar("PRAGMA foreign_keys") == 1
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


def test_the_store_column_list_matches_the_table_definitions() -> None:
    from sqlalchemy import JSON, Boolean

    from headrace.store.sql import columns, schema

    assert set(columns.TABLE_COLUMNS) == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert columns.TABLE_COLUMNS[name] == tuple(table.c.keys()), name
        for column in table.c:
            kind = type(column.type)
            assert (column.name in columns.JSON_COLUMNS) == (kind is JSON), column
            assert (column.name in columns.BOOLEAN_COLUMNS) == (kind is Boolean), column
            assert (column.name in columns.DATETIME_COLUMNS) == (kind is schema.UTCDateTime), column


def test_opening_a_store_at_head_does_not_import_sqlalchemy(tmp_path: Path) -> None:
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 's.db'}"
    first = SqlStore(url, default_artifact_path=str(tmp_path / "a"))
    first.get_default_stack()
    first.close()
    code = (
        "import sys; from headrace.store.sql.store import SqlStore; "
        f"s = SqlStore({url!r}); s.get_default_stack(); s.close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_new_in_memory_store_is_migrated_and_shared_by_its_connections() -> None:
    store = SqlStore("sqlite:///:memory:", default_artifact_path="/tmp/unused-artifacts")
    try:
        stack = store.get_default_stack()
        with store._db.read() as one, store._db.read() as two:  # two pooled connections
            assert one.scalar("SELECT count(*) FROM stacks") == 1
            assert two.scalar("SELECT id FROM stacks") == stack.id
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_stacks_of_0003_become_stacks_of_named_components(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import json
    import uuid

    from headrace.store.sql.database import open_database
    from headrace.store.sql.engine import migration_engine

    url = (
        f"sqlite:///{tmp_path / 'old.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    database = open_database(url)
    engine = migration_engine(database)
    upgrade(engine, "0003_models_tags_metadata")
    stack_id = str(uuid.uuid4())
    components = {
        "orchestrator": {"flavor": "local"},
        "artifact_store": {"flavor": "local", "path": str(tmp_path / "old-artifacts")},
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO stacks (id, name, created, components) "
                "VALUES (:id, 'default', :created, :components)"
            ),
            {
                "id": stack_id,
                "created": "2026-01-01 00:00:00",
                "components": json.dumps(components),
            },
        )
    engine.dispose()
    database.close()

    store = SqlStore(url, default_artifact_path=str(tmp_path / "unused"))
    try:
        stack = store.get_active_stack()
        assert stack.id == stack_id
        assert stack.orchestrator.name == stack.artifact_store.name == "default"
        assert stack.orchestrator.flavor == "local"
        assert stack.artifact_store.configuration == {"path": str(tmp_path / "old-artifacts")}
    finally:
        store.close()


def test_downgrading_past_inline_artifacts_refuses_while_versions_hold_bytes(
    store: Store, repo: Path
) -> None:
    """The downgrade of 0014 would drop the only copy of every inline artifact: it
    refuses, naming how many, until none is left; then it runs."""
    from alembic import command
    from alembic.config import Config

    from headrace import save_artifact
    from headrace.store.sql.migrate import MIGRATIONS_DIR

    save_artifact({"small": True}, name="kept-inline")
    engine = create_engine(f"sqlite:///{repo / '.headrace' / 'headrace.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with engine.begin() as connection:
            held = connection.execute(
                text("SELECT COUNT(*) FROM artifact_versions WHERE inline_content IS NOT NULL")
            ).scalar()
            assert held == 1
            config.attributes["connection"] = connection
            with pytest.raises(RuntimeError, match=r"1 artifact version\(s\) keep their bytes"):
                command.downgrade(config, "0013_runner_log_chunks")
        with engine.begin() as connection:
            assert "inline_content" in {
                c["name"] for c in inspect(connection).get_columns("artifact_versions")
            }
            connection.execute(text("UPDATE artifact_versions SET inline_content = NULL"))
            config.attributes["connection"] = connection
            command.downgrade(config, "0013_runner_log_chunks")
            assert "inline_content" not in {
                c["name"] for c in inspect(connection).get_columns("artifact_versions")
            }
    finally:
        engine.dispose()

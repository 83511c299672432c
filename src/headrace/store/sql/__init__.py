"""The SQL store: SQLAlchemy Core tables, Alembic migrations, and ``SqlStore``."""

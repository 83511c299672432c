"""The SQL store: ``SqlStore`` over SQLite or PostgreSQL with plain SQL, and the
SQLAlchemy table definitions and Alembic migrations that shape its database."""

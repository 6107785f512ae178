"""Opening the delivery log's database: SQLite with WAL and a busy timeout, or any other
SQLAlchemy URL; the tables are created on first use."""

from __future__ import annotations

import os
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ...errors import ConfigError
from .schema import metadata


def describe_error(error: BaseException) -> str:
    """A database error in one line, without SQLAlchemy's background link."""
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"[:300]


def create_engine(url: str) -> Engine:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise ConfigError(
            f"EMAILKIT_DATABASE {url!r} is not a database URL ({error}); use e.g. "
            "sqlite:////var/lib/app/emailkit.db or postgresql+psycopg://user@host/db"
        ) from error
    try:
        if parsed.get_backend_name() != "sqlite":
            return sa.create_engine(parsed, pool_pre_ping=True)
        in_memory = not parsed.database or parsed.database == ":memory:"
        if in_memory:  # one connection for every thread, or each would have its own database
            engine = sa.create_engine(
                parsed,
                connect_args={"check_same_thread": False},
                poolclass=sa.pool.StaticPool,
            )
        else:
            engine = sa.create_engine(parsed, connect_args={"timeout": 30})
    except (ImportError, sa.exc.NoSuchModuleError) as error:
        raise ConfigError(
            f"EMAILKIT_DATABASE needs the database driver for {parsed.drivername!r}: "
            f"{error}. For PostgreSQL: pip install 'psycopg[binary]' and use "
            "postgresql+psycopg://..."
        ) from error
    if parsed.database and not in_memory:
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL: readers never wait for the writer, and several processes share the file.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def create_tables(engine: Engine, url: str) -> None:
    for attempt in range(3):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except sa.exc.SQLAlchemyError as error:
            # Two processes creating the tables at once: one wins, the other sees it next time.
            if attempt == 2:
                raise ConfigError(
                    f"the delivery log cannot be reached: its tables could not be created in "
                    f"{sa.make_url(url).render_as_string(hide_password=True)} "
                    f"({describe_error(error)}). Check EMAILKIT_DATABASE, or set "
                    "EMAILKIT_DELIVERY_LOG = False to send without a log."
                ) from error
            time.sleep(0.1 * (attempt + 1))

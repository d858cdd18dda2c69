"""The team's study server: Optuna's gRPC storage proxy in front of the team's PostgreSQL.

``python src/study_server.py --host 0.0.0.0 --port 13000`` serves the study storage named by
``STUDY_SERVER_DATABASE`` (an SQLAlchemy URL such as
``postgresql+psycopg://mlflow@postgres:5432/optuna``; the password comes from ``PGPASSWORD``,
which libpq reads, so neither the URL nor any runner holds it). Runners then set
``RUNNER_STUDY_STORAGE=grpc://<host>:13000``: machines need no database driver or password.

The database is created when missing (the PostgreSQL image makes only MLflow's, and Optuna's
tables must not share it: both keep an ``alembic_version`` table). Runners keep their trials'
heartbeats as trial attributes (``framework.search.study``), which the proxy stores like any other.
"""

from __future__ import annotations

import argparse
import os
import sys

from sqlalchemy.engine import make_url

DATABASE_VARIABLE = "STUDY_SERVER_DATABASE"


def ensure_database(url: str) -> None:
    """Create the database ``url`` names on its PostgreSQL server when it does not exist."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return
    import psycopg
    from psycopg import sql

    admin = parsed.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (parsed.database,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python src/study_server.py",
                                     description=__doc__.splitlines()[0],
                                     allow_abbrev=False)
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--port", type=int, default=13000)
    options = parser.parse_args(argv)
    url = os.environ.get(DATABASE_VARIABLE)
    if not url:
        print(f"error: set {DATABASE_VARIABLE} to the study database's URL, e.g. "
              "postgresql+psycopg://mlflow@postgres:5432/optuna", file=sys.stderr)
        return 2
    import optuna

    ensure_database(url)
    storage = optuna.storages.RDBStorage(url)
    print(f"study server on {options.host}:{options.port}", flush=True)
    # get_storage adds Optuna's in-process cache (its docs: RDBStorage alone is slow here).
    optuna.storages.run_grpc_proxy_server(optuna.storages.get_storage(storage),
                                          host=options.host, port=options.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Alembic environment: runs on the connection the application hands over (db.migrate), or,
when a developer runs `alembic -c src/visafree/register/alembic.ini ...` by hand, on
`sqlalchemy.url` if set, else on the register the environment points at."""

from alembic import context
from sqlalchemy import create_engine

from visafree.register.schema import metadata

config = context.config
connection = config.attributes.get("connection")


def run(conn) -> None:
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=conn.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    from visafree.register.config import RegisterConfig

    url = config.get_main_option("sqlalchemy.url") or RegisterConfig.from_env().database_url
    with create_engine(url).connect() as conn:
        run(conn)

"""Alembic environment: migrations run on the connection :func:`sim.ledger.migrate.upgrade`
passes in (no alembic.ini; the ledger's URL comes from its caller)."""

from alembic import context

from sim.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

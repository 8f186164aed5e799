"""The outbox's platform loses its own index: its lookups lead the (platform, message_ref) index, and with the
single-column one SQLite's planner picked it for the delivery's due rows and sorted every waiting row.

Written by hand: tortoise's ``AlterField`` rebuilds an SQLite table and leaves out the table's other indexes.
Here the database drops that one index, and the field's new description goes to the migrations' state alone."""

from typing import Any

from tortoise import fields
from tortoise.migrations import operations as ops
from tortoise import migrations

PLATFORM_INDEX = "idx_outbox_platfor_93fc34"  # the name tortoise gave it, on SQLite and PostgreSQL alike


class DescribeFieldOnly(ops.AlterField):
    """An ``AlterField`` that changes what the migrations know of the field and nothing in the database."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [('models', '0002_lookup_indexes')]

    initial = False

    operations = [
        ops.RunSQL(
            f'DROP INDEX IF EXISTS "{PLATFORM_INDEX}"',
            reverse_sql=f'CREATE INDEX IF NOT EXISTS "{PLATFORM_INDEX}" ON "outbox" ("platform")',
        ),
        DescribeFieldOnly(
            model_name='OutboxMessage',
            name='platform',
            field=fields.CharField(max_length=32),
        ),
    ]

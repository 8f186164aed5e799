"""How every process learns that the directory changed: a version row and a ring of recent changes.

Database triggers (``storage/directory_triggers.py``) bump the version and record the changed row in the
same transaction as any write to the people, identity, department or group tables, so a rolled-back write
leaves no trace and a committed one is seen by the next event of every process (``storage/directory.py``).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class DirectoryVersion(Model):
    """The one row (id 1) whose version counts every committed directory change."""

    id = fields.IntField(primary_key=True)
    version = fields.BigIntField(default=0)

    class Meta:
        table = "directory_version"


class DirectoryChange(Model):
    """Which row a directory version changed, kept in a ring of slots (version modulo the ring size)."""

    slot = fields.IntField(primary_key=True)
    version = fields.BigIntField(db_index=True)
    kind = fields.CharField(max_length=16)  # person / identity / department / group
    row_id = fields.IntField()  # the person id for an identity change, else the row's own id

    class Meta:
        table = "directory_change"

"""The official public calendar of a year, loaded by an admin before the calendar package carries it.

The State Council publishes next year's holidays and 调休 working weekends each November or December;
``bot.calendar_years`` reads these rows into the process's ``bot.calendar.OFFICIAL_YEARS``.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class CalendarYear(Model):
    """One country's official days off and working weekend days of one year."""

    id = fields.IntField(primary_key=True)
    country = fields.CharField(max_length=8, default="CN")
    year = fields.IntField()
    days_off: Any = fields.JSONField(default=list)  # ISO dates
    working_days: Any = fields.JSONField(default=list)  # ISO dates (调休 working weekends)
    loaded_by = fields.CharField(max_length=64, null=True)  # the admin's handle
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "calendar_year"
        unique_together = (("country", "year"),)

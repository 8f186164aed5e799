"""Every workflow area's router, included into the one the engine uses."""

from __future__ import annotations

import importlib

from bot.router import Router

from .common.forms import closing

# Each module exposes ``router``; order matters only for free-text message handlers.
AREAS = (
    "workflows.help.handlers",
    "workflows.requests.handlers",
    "workflows.tasks.handlers",
    "workflows.acceptance.handlers",
    "workflows.views.handlers",
    "workflows.directory.handlers",
    "workflows.standup.handlers",
    "workflows.alerts.handlers",
    "workflows.risks.handlers",
    "workflows.changes.handlers",
    "workflows.meetings.handlers",
    "workflows.improvements.handlers",
    "workflows.retro.handlers",
    "workflows.reports.handlers",
    "workflows.reports.chart_commands",
    "workflows.reports.export_commands",
    "workflows.mytasks.handlers",
)


def build_router(areas: tuple[str, ...] = AREAS) -> Router:
    router = Router()
    for module_name in areas:
        router.include(importlib.import_module(module_name).router)
    return closing(router)

"""The dashboard's routes on the bot's aiohttp application (mounted by ``bot.app.App`` when
``[dashboard] enabled``). Read-only: every route is a GET and writes nothing but a viewer cookie."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.errors import NotFound
from bot.i18n import text
from storage.models import Collaboration, Department, Person
from workflows.requests.states import CollaborationFlow
from workflows.retro.archive import ArchiveSearch, find_collaborations
from workflows.retro.health import health_matrix, heatmap_png

from . import downloads, pages
from .access import PRIVATE_HEADERS, VIEWER_COOKIE, Refused, Viewer, reader_locale, viewer_for
from .labels import LABELS, REFUSALS, localized

HERE = Path(__file__).resolve().parent
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PNG_HEADERS = {"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


class Dashboard:
    def __init__(self, runtime: Any):
        self.runtime = runtime

    @classmethod
    def mount(cls, runtime: Any) -> Dashboard:
        dashboard = cls(runtime)
        app: web.Application = runtime.web
        aiohttp_jinja2.setup(
            app,
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        r = app.router
        r.add_static("/dashboard/static/", HERE / "static")
        r.add_get("/dashboard/collab/{id}", dashboard.guard(dashboard.collaboration))
        r.add_get("/dashboard/collab/{id}/{chart:(gantt|burndown|health)}.png", dashboard.guard(dashboard.chart))
        r.add_get("/dashboard/person/{id}", dashboard.guard(dashboard.person))
        r.add_get("/dashboard/dept/{code}", dashboard.guard(dashboard.department))
        r.add_get("/dashboard/collab/{id}/tables.{extension:(xlsx|zip)}", dashboard.guard(dashboard.collaboration_tables))
        r.add_get("/dashboard/archive", dashboard.guard(dashboard.archive))
        r.add_get("/dashboard/archive/tables.{extension:(xlsx|zip)}", dashboard.guard(dashboard.archive_tables))
        r.add_get("/dashboard/health", dashboard.guard(dashboard.health))
        r.add_get("/dashboard/health/heatmap.png", dashboard.guard(dashboard.health_png))
        return dashboard

    # -- plumbing -------------------------------------------------------------

    @property
    def config(self) -> Any:
        return self.runtime.config

    @property
    def env(self) -> pages.Env:
        config = self.config
        return pages.Env(self.runtime.engine.services["calendar"], config.bot.timezone, config.bot.due_soon_working_days)

    def guard(self, handler: Handler) -> Handler:
        """Refusals become a page in the reader's language; nothing else escapes as a traceback."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except Refused as refusal:
                return self.refusal(request, refusal)

        return guarded

    def refusal(self, request: web.Request, refusal: Refused) -> web.Response:
        title, explanation = REFUSALS[refusal.reason]
        locale = refusal.locale
        context = {
            "t": localized(locale),
            "lang": locale,
            "title": text(title, locale),
            "explanation": text(explanation, locale),
            "reason": refusal.reason,
            "nav": {},
            "expires": "",
        }
        response = aiohttp_jinja2.render_template("refused.html", request, context, status=refusal.status)
        response.headers.update(PRIVATE_HEADERS)
        return response

    async def open(self, request: web.Request, scope: str) -> Viewer:
        return await viewer_for(request, self.config, self.runtime.clock.now(), scope)

    def render(self, request: web.Request, viewer: Viewer, template: str, scope: str, page: Any, status: int = 200) -> web.Response:
        other = "en" if viewer.locale == "zh_CN" else "zh_CN"
        nav = {
            "me": viewer.link(f"person:{viewer.person.id}") if viewer.person else None,
            "archive": viewer.link("archive"),
            "health": viewer.link("health"),
            "language": viewer.link(scope, locale=other, **{k: v for k, v in request.query.items() if k not in ("t", "admin")}),
            "language_label": "English" if other == "en" else "中文",
        }
        context = {
            "t": localized(viewer.locale),
            "lang": viewer.locale,
            "nav": nav,
            "page": page,
            "expires": text(LABELS["expires"], viewer.locale).format(time=viewer.expires_at.astimezone(self.env_zone).strftime("%Y-%m-%d %H:%M")) if not viewer.admin else "",
        }
        response = aiohttp_jinja2.render_template(template, request, context, status=status)
        response.headers.update(PRIVATE_HEADERS)
        if viewer.set_cookie:
            response.set_cookie(VIEWER_COOKIE, viewer.set_cookie, path="/dashboard", httponly=True, samesite="Lax", max_age=int((viewer.expires_at - viewer.now).total_seconds()))
        return response

    @property
    def env_zone(self) -> Any:
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.config.bot.timezone)

    async def visible_collaboration(self, request: web.Request, viewer: Viewer) -> Collaboration:
        raw = request.match_info["id"]
        collab = await Collaboration.get_or_none(id=int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if collab is None:
            raise Refused("not_found", viewer.locale, 404)
        if not viewer.sees(collab.id):
            raise Refused("not_visible", viewer.locale, 403)
        return collab

    # -- pages ----------------------------------------------------------------

    async def collaboration(self, request: web.Request) -> web.Response:
        scope = f"collab:{request.match_info['id']}"
        viewer = await self.open(request, scope)
        collab = await self.visible_collaboration(request, viewer)
        departments = await Department.all()
        page = await pages.board(viewer, self.env, collab, {d.id: d for d in departments}, whole_timeline=request.query.get("timeline") == "all")
        page["downloads"] = _downloads(viewer, f"collab:{collab.id}/tables", {})
        return self.render(request, viewer, "collaboration.html", scope, page)

    async def chart(self, request: web.Request) -> web.Response:
        chart = request.match_info["chart"]
        scope = f"collab:{request.match_info['id']}/{chart}.png"
        viewer = await self.open(request, scope)
        collab = await self.visible_collaboration(request, viewer)
        env = self.env
        try:
            if chart == "health":
                png = await heatmap_png(await health_matrix([collab.id]), locale=viewer.locale)
            else:
                from workflows.reports.charts import burndown_png, gantt_png

                today = env.today(viewer)
                if chart == "gantt":
                    raw_page = request.query.get("page", "1")
                    number = int(raw_page) if raw_page.isdigit() and len(raw_page) < 5 else 1
                    png = await gantt_png(collab.id, locale=viewer.locale, calendar=env.calendar, today=today, page=max(1, number), timezone=env.timezone, due_soon_working_days=env.due_soon_working_days)
                else:
                    png = await burndown_png(collab.id, locale=viewer.locale, calendar=env.calendar, today=today, timezone=env.timezone)
        except NotFound:
            raise Refused("not_found", viewer.locale, 404) from None
        return web.Response(body=png, content_type="image/png", headers=PNG_HEADERS)

    async def person(self, request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        scope = f"person:{raw}"
        viewer = await self.open(request, scope)
        person = await Person.get_or_none(id=int(raw)) if raw.isdigit() and len(raw) < 10 else None
        if person is None:
            raise Refused("not_found", viewer.locale, 404)
        if not (viewer.admin or viewer.person is not None or viewer.scope == scope):
            raise Refused("not_visible", viewer.locale, 403)
        departments = {d.id: d for d in await Department.all()}
        page = await pages.person_page(viewer, self.env, person, departments)
        return self.render(request, viewer, "person.html", scope, page)

    async def department(self, request: web.Request) -> web.Response:
        code = request.match_info["code"]
        scope = f"dept:{code}"
        viewer = await self.open(request, scope)
        dept = await Department.get_or_none(code=code)
        if dept is None:
            raise Refused("not_found", viewer.locale, 404)
        departments = {d.id: d for d in await Department.all()}
        page = await pages.department_page(viewer, self.env, dept, departments)
        return self.render(request, viewer, "department.html", scope, page)

    async def archive_search(self, request: web.Request, viewer: Viewer) -> tuple[ArchiveSearch | None, dict[str, Any]]:
        """The archive's filters from the query: the search (None when a date is malformed or the range is
        reversed) and what the filter form shows."""
        query = request.query
        departments = list(await Department.all().order_by("code"))
        people = list(await Person.all().order_by("name"))
        dept = next((d for d in departments if d.code == query.get("dept")), None)
        person = next((p for p in people if str(p.id) == query.get("person")), None)
        states = tuple(s for s in [query.get("status", "")] if s in CollaborationFlow.labels)
        search: ArchiveSearch | None = None
        try:
            start, end = _date(query.get("from", "")), _date(query.get("to", ""))
            if not (start and end and end < start):
                search = ArchiveSearch(
                    text=query.get("q", "").strip()[:100], department_id=dept.id if dept else None,
                    person_id=person.id if person else None, states=states, start=start, end=end, within=viewer.visible,
                    tz=self.config.bot.timezone,
                )
        except ValueError:
            pass
        form = {
            "q": query.get("q", ""),
            "from": query.get("from", ""),
            "to": query.get("to", ""),
            "dept": query.get("dept", ""),
            "person": query.get("person", ""),
            "status": query.get("status", ""),
            "departments": [{"code": d.code, "name": d.name} for d in departments],
            "people": [{"id": p.id, "name": p.name} for p in people] if viewer.person is not None or viewer.admin else [],
            "states": [{"key": k, "label": text(v, viewer.locale)} for k, v in CollaborationFlow.labels.items()],
        }
        return search, form

    async def archive(self, request: web.Request) -> web.Response:
        viewer = await self.open(request, "archive")
        query = request.query
        search, form = await self.archive_search(request, viewer)
        asked_page = query.get("page", "")
        number = max(1, min(int(asked_page), 999_999)) if asked_page.isdigit() else 1
        found: dict[str, Any] = {"results": [], "total": 0, "page": 1, "pages": 1, "first": 0, "last": 0}
        if search is not None:
            found = await pages.archive(viewer, search, page=number)
        kept = {k: v for k, v in query.items() if k not in ("t", "admin", "page")}
        token = request.query.get("t", "")
        page = {
            **found,
            **form,
            "previous": viewer.link("archive", **kept, page=str(found["page"] - 1)) if found["page"] > 1 else None,
            "next": viewer.link("archive", **kept, page=str(found["page"] + 1)) if found["page"] < found["pages"] else None,
            "downloads": _downloads(viewer, "archive:tables", kept) if found["total"] else None,
            "error": text(REFUSALS["bad_input"][1], viewer.locale) if search is None else None,
            "token": token,
            "admin": request.query.get("admin", "") if viewer.admin and not token else "",
        }
        return self.render(request, viewer, "archive.html", "archive", page, status=400 if search is None else 200)

    async def archive_tables(self, request: web.Request) -> web.Response:
        extension = request.match_info["extension"]
        viewer = await self.open(request, f"archive:tables.{extension}")
        search, _form = await self.archive_search(request, viewer)
        if search is None:
            raise Refused("bad_input", viewer.locale, 400)
        collabs = await find_collaborations(search)
        if not collabs:
            raise Refused("not_found", viewer.locale, 404)
        collabs.sort(key=lambda c: c.id)  # the tables list collaborations in the order they were raised, as 导出 does
        return await downloads.tables_file(viewer, self.env, collabs, extension, downloads.archive_stem(viewer, self.env, search))

    async def collaboration_tables(self, request: web.Request) -> web.Response:
        extension = request.match_info["extension"]
        viewer = await self.open(request, f"collab:{request.match_info['id']}/tables.{extension}")
        collab = await self.visible_collaboration(request, viewer)
        return await downloads.tables_file(viewer, self.env, [collab], extension, collab.code)

    async def health(self, request: web.Request) -> web.Response:
        viewer = await self.open(request, "health")
        pairs = await health_matrix(None if viewer.visible is None else sorted(viewer.visible))
        page = {"health": pages.health_table(viewer, pairs), "heatmap": viewer.link("health:heatmap.png") if pairs else None}
        return self.render(request, viewer, "health.html", "health", page)

    async def health_png(self, request: web.Request) -> web.Response:
        viewer = await self.open(request, "health:heatmap.png")
        pairs = await health_matrix(None if viewer.visible is None else sorted(viewer.visible))
        return web.Response(body=await heatmap_png(pairs, locale=viewer.locale), content_type="image/png", headers=PNG_HEADERS)


def _downloads(viewer: Viewer, scope: str, query: dict[str, str]) -> dict[str, str | None]:
    """The links that download what a page shows as files: the workbook, and the CSV files zipped."""
    return {extension: viewer.link(f"{scope}.{extension}", **query) for extension in downloads.EXTENSIONS}


def _date(value: str) -> date | None:
    """A date filter as the browser's date field sends it (ISO); ValueError otherwise."""
    value = value.strip()
    return date.fromisoformat(value) if value else None


def mount(runtime: Any) -> Dashboard:
    """Register the dashboard's routes on ``runtime.web`` (the App's aiohttp application)."""
    return Dashboard.mount(runtime)


__all__ = ["Dashboard", "mount", "reader_locale"]

"""Gantt (任务甘特图) and burndown (燃尽图) charts as PNG, drawn with matplotlib in the reader's language.

``gantt_png`` and ``burndown_png`` are what the chat commands, the weekly report and the dashboard call. The
pure ``render_gantt`` / ``render_burndown`` also return where things were drawn (``ChartLayout``), so a test
can look at the pixels of a given day or bar.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from matplotlib import dates as mdates
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from bot.calendar import WorkCalendar
from bot.errors import NotFound
from bot.i18n import _, localize
from storage.models import Collaboration

from .chartdata import GANTT_PAGE_SIZE, BurndownData, GanttData, burndown_data, gantt_data
from .fonts import cjk_font_family

SOLID = {"red": "#d93025", "yellow": "#f29900", "green": "#188038", "grey": "#80868b"}
TINT = {"red": "#f6c3be", "yellow": "#fde4b0", "green": "#bfe3c9", "grey": "#dadce0"}
DAY_OFF = "#e3e5e8"
TODAY = "#1a73e8"
DPI = 100


@dataclass(slots=True)
class ChartLayout:
    """Pixel positions in the PNG (origin top left): the centre of each day's column, of each bar's row."""

    width: int
    height: int
    day_x: dict[date, int] = field(default_factory=dict)
    bar_y: dict[str, int] = field(default_factory=dict)
    blank_y: list[int] = field(default_factory=list)  # rows with no bar (department headers)
    bar_x: dict[str, tuple[int, int]] = field(default_factory=dict)  # first and last pixel of each bar


def _t(message: Any, locale: str) -> str:
    return str(localize(message, locale))


def day_label(day: date, locale: str) -> str:
    """``10月1日`` for a Chinese reader, ``Oct 1`` otherwise."""
    if locale.startswith("zh"):
        return f"{day.month}月{day.day}日"
    return day.strftime("%b ") + str(day.day)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    # zlib level 1: a tall Gantt encodes several times faster; the file grows by a third, still far under upload limits
    figure.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _pixel(figure: Figure, ax: Any) -> Callable[[float, float], tuple[int, int]]:
    height = figure.get_size_inches()[1] * DPI

    def convert(x: float, y: float) -> tuple[int, int]:
        px, py = ax.transData.transform((x, y))
        return round(px), round(height - py)

    return convert


def _day_spans(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days merged: one shaded patch per weekend or holiday run."""
    spans: list[tuple[date, date]] = []
    for day in sorted(days):
        if spans and spans[-1][1] + timedelta(days=1) == day:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def _boxes(spans: list[tuple[float, float]], rows: list[int], height: float = 0.62) -> list[list[tuple[float, float]]]:
    """Rectangles (left, width) on rows, as polygons for a ``PolyCollection``."""
    half = height / 2
    return [[(x, y - half), (x + w, y - half), (x + w, y + half), (x, y + half)] for (x, w), y in zip(spans, rows, strict=True)]


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _full_code(code: str, parent: str) -> str:
    return code if "-" in code else f"{parent}-{code.zfill(2)}"


# ---------------------------------------------------------------- Gantt


def render_gantt(data: GanttData, locale: str) -> tuple[bytes, ChartLayout]:
    """Bars from start to deadline, progress filled, the board's colours, dependencies, today, days off, milestones."""
    cjk_font_family()
    rows: list[tuple[str, Any]] = []  # ("header", department) or ("bar", Bar)
    department = None
    for bar in data.bars:  # sorted by department: a header row where one starts
        if bar.department != department:
            department = bar.department
            rows.append(("header", department))
        rows.append(("bar", bar))
    span_days = (data.last_day - data.first_day).days + 1
    width = min(20.0, max(11.0, 6.0 + span_days * 0.12))
    height = 2.2 + 0.3 * max(len(rows), 3)
    figure = Figure(figsize=(width, height), dpi=DPI)
    ax = figure.add_axes((3.2 / width, 1.05 / height, 1 - 3.45 / width, 1 - 1.75 / height))
    x0, x1 = mdates.date2num(data.first_day), mdates.date2num(data.last_day + timedelta(days=1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(len(rows) - 0.5 if rows else 2.5, -0.5)
    for first, last in _day_spans(data.non_working):
        ax.axvspan(mdates.date2num(first), mdates.date2num(last + timedelta(days=1)), color=DAY_OFF, zorder=0, linewidth=0)
    positions: dict[str, int] = {}
    labels: list[str] = []
    tints: list[tuple[float, float]] = []
    fills: list[tuple[float, float]] = []
    tint_colours, fill_colours, edge_colours, tint_rows, fill_rows = [], [], [], [], []
    for index, (kind, value) in enumerate(rows):
        if kind == "header":
            labels.append(f"【{value}】" if locale.startswith("zh") else f"[{value}]")
            continue
        bar = value
        positions[bar.code] = index
        left, days = mdates.date2num(bar.start), (bar.end - bar.start).days + 1
        tints.append((left, days))
        tint_rows.append(index)
        tint_colours.append(TINT[bar.colour])
        edge_colours.append(SOLID[bar.colour])
        if bar.progress:
            fills.append((left, days * bar.progress / 100))
            fill_rows.append(index)
            fill_colours.append(SOLID[bar.colour])
        suffix = bar.code.rsplit("-", 1)[-1]
        labels.append(f"{suffix} {_short(bar.title, 14)} · {_short(bar.owner, 6)} · {bar.progress}%")
    # One collection per layer, not one artist per bar: 200 bars draw in a fraction of the time.
    ax.add_collection(PolyCollection(_boxes(tints, tint_rows), facecolors=tint_colours, edgecolors=edge_colours, linewidths=0.8, zorder=2))
    ax.add_collection(PolyCollection(_boxes(fills, fill_rows), facecolors=fill_colours, linewidths=0, zorder=3))
    marks = [(mdates.date2num(b.milestone) + 0.5, positions[b.code]) for b in data.bars if b.milestone is not None]
    if marks:
        ax.scatter([x for x, _y in marks], [y for _x, y in marks], marker="D", s=36, color="#202124", zorder=5)
    by_code = {b.code: b for b in data.bars}
    links, heads = [], []
    for bar in data.bars:
        for dep in bar.depends_on:
            before = by_code.get(_full_code(dep, data.code))
            if before is None:  # on another page, or not a subtask of this plan
                continue
            x_from, y_from = mdates.date2num(before.end + timedelta(days=1)), positions[before.code]
            x_to, y_to = mdates.date2num(bar.start), positions[bar.code]
            elbow = max(x_from, x_to) + 0.25 if x_to <= x_from else x_from + 0.25
            links.append([(x_from, y_from), (elbow, y_from), (elbow, y_to), (x_to - 0.15, y_to)])
            heads.append((x_to - 0.15, y_to))
    if links:
        ax.add_collection(LineCollection(links, colors="#5f6368", linewidths=0.9, zorder=4))
        ax.scatter([x for x, _y in heads], [y for _x, y in heads], marker=">", s=18, color="#5f6368", zorder=4)
    ax.axvline(mdates.date2num(data.today) + 0.5, color=TODAY, linestyle="--", linewidth=1.2, zorder=4)
    ax.text(mdates.date2num(data.today) + 0.5, -0.5, _t(_("Today"), locale), color=TODAY, fontsize=8, ha="center", va="bottom")
    # Row labels as plain texts beside the axes: 200 y ticks would each build a Tick (lines and texts) first.
    ax.set_yticks([])
    beside = blended_transform_factory(ax.transAxes, ax.transData)
    for index, ((kind, _value), label) in enumerate(zip(rows, labels, strict=True)):
        ax.text(-0.008, index, label, transform=beside, ha="right", va="center", fontsize=8, fontweight="bold" if kind == "header" else "normal")
    axes_inches = width - 3.45
    step = max(1, math.ceil(span_days * 0.62 / axes_inches))  # a label is about 0.6 inch wide
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=step))
    ax.xaxis.set_major_formatter(lambda x, _pos: day_label(mdates.num2date(x).date(), locale))
    ax.tick_params(axis="x", labelsize=8, rotation=0)
    ax.grid(axis="x", which="major", color="#f1f3f4", zorder=1)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    title = _t(_("Gantt chart {code} {title}", code=data.code, title=data.title), locale)
    if data.pages > 1:
        title += _t(_(" (page {page} of {pages}, {total} subtasks)", page=data.page, pages=data.pages, total=data.total), locale)
    figure.suptitle(title, fontsize=12, x=0.02, ha="left", y=1 - 0.2 / height, va="top")
    if not data.bars:
        ax.text((x0 + x1) / 2, 1, _t(_("No subtasks yet."), locale), ha="center", va="center", fontsize=11, color="#5f6368")
    legend = [
        Patch(color=SOLID["red"], label=_t(_("overdue"), locale)),
        Patch(color=SOLID["yellow"], label=_t(_("due soon"), locale)),
        Patch(color=SOLID["green"], label=_t(_("on track"), locale)),
        Patch(color=SOLID["grey"], label=_t(_("done"), locale)),
        Patch(color=DAY_OFF, label=_t(_("non-working day"), locale)),
    ]
    figure.legend(handles=legend, loc="lower left", ncol=5, fontsize=8, frameon=False, bbox_to_anchor=(3.2 / width, 0.0))
    figure.text(1 - 0.25 / width, 0.02, _t(_("◆ acceptance passed  ┆ today  → depends on"), locale), fontsize=8, ha="right", color="#5f6368")
    to_pixel = _pixel(figure, ax)  # the axes have a fixed place: no draw is needed to know where things go
    layout = ChartLayout(width=round(width * DPI), height=round(height * DPI))
    day = data.first_day
    while day <= data.last_day:
        layout.day_x[day] = to_pixel(mdates.date2num(day) + 0.5, 0)[0]
        day += timedelta(days=1)
    for bar in data.bars:
        layout.bar_y[bar.code] = to_pixel(0, positions[bar.code])[1]
        start = to_pixel(mdates.date2num(bar.start), 0)[0]
        end = to_pixel(mdates.date2num(bar.end + timedelta(days=1)), 0)[0]
        layout.bar_x[bar.code] = (start, end)
    layout.blank_y = [to_pixel(0, i)[1] for i, (kind, _v) in enumerate(rows) if kind == "header"]
    return _png(figure), layout


# ---------------------------------------------------------------- burndown


def render_burndown(data: BurndownData, locale: str) -> tuple[bytes, ChartLayout]:
    """Open subtasks and open work per working day against the ideal line; applied changes marked."""
    cjk_font_family()
    count = len(data.days)
    width = min(18.0, max(10.0, 5.0 + count * 0.12))
    height = 6.0
    figure = Figure(figsize=(width, height), dpi=DPI)
    ax = figure.add_axes((0.9 / width, 1.2 / height, 1 - 1.3 / width, 1 - 2.0 / height))
    xs = list(range(count))
    ax.plot(xs, data.ideal, linestyle="--", color="#9aa0a6", linewidth=1.4, label=_t(_("ideal"), locale))
    shown = [(x, v) for x, v in zip(xs, data.remaining_tasks, strict=True) if v is not None]
    if shown:
        ax.step([x for x, _v in shown], [v for _x, v in shown], where="post", color="#d93025", linewidth=2, label=_t(_("open subtasks"), locale))
    work = [(x, v) for x, v in zip(xs, data.remaining_work, strict=True) if v is not None]
    if work:
        ax.plot([x for x, _v in work], [v for _x, v in work], color="#1a73e8", linewidth=1.6, marker="o", markersize=3, label=_t(_("open work (by reported progress)"), locale))
    top = max([*data.ideal, *(v for v in data.remaining_tasks if v is not None), 1])
    for when, code in data.changes:
        index = next((i for i, d in enumerate(data.days) if d >= when), count - 1)
        ax.axvline(index, color="#a142f4", linestyle=":", linewidth=1.4)
        ax.text(index, top * 1.02, _t(_("change {code}", code=code.rsplit("-", 1)[-1]), locale), color="#a142f4", fontsize=8, ha="center", va="bottom")
    if data.today in data.days:
        index = data.days.index(data.today)
        ax.axvline(index, color=TODAY, linestyle="--", linewidth=1.0)
    if data.deadline in data.days:
        ax.axvline(data.days.index(data.deadline), color="#202124", linewidth=1.0)
    stride = max(1, count // 14)
    ax.set_xticks(xs[::stride], [day_label(d, locale) for d in data.days[::stride]], fontsize=8)
    ax.set_xlim(-0.5, max(count - 0.5, 0.5))
    ax.set_ylim(0, top * 1.12)
    ax.set_xlabel(_t(_("working days"), locale), fontsize=9)
    ax.set_ylabel(_t(_("subtasks"), locale), fontsize=9)
    ax.grid(axis="y", color="#f1f3f4")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    figure.suptitle(_t(_("Burndown chart {code} {title}", code=data.code, title=data.title), locale), fontsize=12, x=0.02, ha="left")
    figure.canvas.draw()
    to_pixel = _pixel(figure, ax)
    layout = ChartLayout(width=round(width * DPI), height=round(height * DPI))
    layout.day_x = {d: to_pixel(i, 0)[0] for i, d in enumerate(data.days)}
    return _png(figure), layout


# ---------------------------------------------------------------- what callers use


async def _collaboration(collaboration_id: int) -> Collaboration:
    collab = await Collaboration.get_or_none(id=collaboration_id)
    if collab is None:
        raise NotFound(_("There is no such collaboration."))
    return collab


async def gantt_png(
    collaboration_id: int, *, locale: str, calendar: WorkCalendar, today: date, page: int = 1,
    timezone: str = "Asia/Shanghai", due_soon_working_days: int = 2, page_size: int = GANTT_PAGE_SIZE,
) -> bytes:
    """The Gantt of one collaboration as PNG, ``page`` of its department-grouped pages (drawn in a thread)."""
    collab = await _collaboration(collaboration_id)
    data = await gantt_data(collab, calendar=calendar, today=today, tz=timezone, due_soon=due_soon_working_days, page=page, page_size=page_size)
    png, _layout = await asyncio.to_thread(render_gantt, data, locale)
    return png


async def burndown_png(collaboration_id: int, *, locale: str, calendar: WorkCalendar, today: date, timezone: str = "Asia/Shanghai") -> bytes:
    """The burndown of one collaboration as PNG (drawn in a thread)."""
    collab = await _collaboration(collaboration_id)
    data = await burndown_data(collab, calendar=calendar, today=today, tz=timezone)
    png, _layout = await asyncio.to_thread(render_burndown, data, locale)
    return png

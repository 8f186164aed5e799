"""The collaboration-health matrix: for each pair of departments (the initiator's → a department asked), how
fast requests were accepted, how fast reviews were given, how many acceptance rounds failed, how many risks
and escalations crossed between them. Computed from the audit log and the records; shown in the
retrospective (复盘) and on the dashboard (table and heat map).

Pairs:
- a request answer (``request.accepted`` / ``request.declined``, audit ``department``) counts for
  (initiator's department → that department), timed from the latest ``request.created`` / ``rescoped`` /
  ``rerouted`` before it;
- a review (``AcceptanceRequest``) for (initiator's department → the subtask owner's department);
- a risk or issue for (initiator's department → the raiser's department), or the subtask owner's when the
  initiator's side raised it; escalations are ``sla.request.escalated``, ``sla.review.escalated``, escalated
  risks and escalated issues.
"""

from __future__ import annotations

import asyncio
import io
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.i18n import Msg, _, text
from storage import sql
from storage.models import AcceptanceRequest, AuditEntry, Collaboration, Department, Person, Subtask
from storage.models_workflows import Issue, RiskReport
from storage.subjects import CODES_PER_STATEMENT, about_any

STARTS = ("request.created", "request.rescoped", "request.rerouted")
ANSWERS = ("request.accepted", "request.declined")


@dataclass(slots=True)
class PairHealth:
    """One cell of the matrix: ``source`` asked ``target``."""

    source: Department
    target: Department
    accepted: int = 0
    declined: int = 0
    accept_hours: list[float] = field(default_factory=list)
    reviews: int = 0
    review_hours: list[float] = field(default_factory=list)
    failed_rounds: int = 0
    risks: int = 0
    escalations: int = 0

    @property
    def median_accept_hours(self) -> float | None:
        return round(statistics.median(self.accept_hours), 1) if self.accept_hours else None

    @property
    def median_review_hours(self) -> float | None:
        return round(statistics.median(self.review_hours), 1) if self.review_hours else None


@dataclass(frozen=True, slots=True)
class _Task:
    id: int
    code: str
    owner_id: int
    collaboration_id: int


def _hours(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds() / 3600)


async def health_matrix(collaboration_ids: Iterable[int] | None = None) -> list[PairHealth]:
    """The matrix over the given collaborations (all when None), pairs sorted by department codes."""
    query = Collaboration.all() if collaboration_ids is None else Collaboration.filter(id__in=sql.among(collaboration_ids))
    collabs = {c.id: c for c in await query}
    if not collabs:
        return []
    initiator_ids = {c.initiator_id for c in collabs.values()}
    tasks = {row[0]: _Task(*row) for row in await Subtask.filter(collaboration_id__in=sql.among(collabs)).values_list("id", "code", "owner_id", "collaboration_id")}
    risks = list(await RiskReport.filter(collaboration_id__in=sql.among(collabs)).only("id", "collaboration_id", "subtask_id", "raised_by_id", "escalated_at"))
    issues = list(await Issue.filter(collaboration_id__in=sql.among(collabs)).only("id", "collaboration_id", "subtask_id", "raised_by_id", "step"))
    people_ids = initiator_ids | {t.owner_id for t in tasks.values()} | {r.raised_by_id for r in risks} | {i.raised_by_id for i in issues}
    dept_of = {p.id: p.department_id for p in await Person.filter(id__in=sql.among(people_ids))}
    departments = {d.id: d for d in await Department.all()}
    by_code = {d.code: d for d in departments.values()}
    pairs: dict[tuple[int, int], PairHealth] = {}

    def cell(collab: Collaboration, target_id: int | None) -> PairHealth | None:
        source_id = dept_of.get(collab.initiator_id)
        if source_id is None or target_id is None or source_id == target_id:
            return None
        key = (source_id, target_id)
        if key not in pairs:
            pairs[key] = PairHealth(departments[source_id], departments[target_id])
        return pairs[key]

    code_to_collab = {c.code: c for c in collabs.values()}
    audit = AuditEntry.filter(action__in=(*STARTS, *ANSWERS, "sla.request.escalated", "sla.review.escalated"))
    codes = list(code_to_collab)
    if len(codes) <= CODES_PER_STATEMENT:  # a retrospective, a page, a department's: their entries from the index
        audit = audit.filter(about_any(codes))
    entries = await audit.order_by("at", "id").only("id", "at", "action", "subject", "detail")
    starts: dict[str, list[datetime]] = {}
    task_by_code = {t.code: t for t in tasks.values()}
    for entry in entries:
        collab = code_to_collab.get(entry.subject.split("-", 1)[0])
        if collab is None:
            continue
        detail = entry.detail or {}
        if entry.action in STARTS:
            starts.setdefault(collab.code, []).append(entry.at)
            continue
        if entry.action == "sla.review.escalated":
            task = task_by_code.get(entry.subject)
            pair = cell(collab, dept_of.get(task.owner_id)) if task else None
        else:
            dept = by_code.get(str(detail.get("department") or detail.get("dept") or ""))
            pair = cell(collab, dept.id if dept else None)
        if pair is None:
            continue
        if entry.action == "request.accepted":
            pair.accepted += 1
            begun = [s for s in starts.get(collab.code, []) if s <= entry.at]
            pair.accept_hours.append(_hours(entry.at, begun[-1] if begun else collab.created_at))
        elif entry.action == "request.declined":
            pair.declined += 1
        else:
            pair.escalations += 1

    for review in await AcceptanceRequest.filter(subtask_id__in=sql.among(tasks)).exclude(state="withdrawn").only("id", "subtask_id", "state", "submitted_at", "decided_at"):
        task = tasks[review.subtask_id]
        pair = cell(collabs[task.collaboration_id], dept_of.get(task.owner_id))
        if pair is None:
            continue
        if review.decided_at is not None:
            pair.reviews += 1
            pair.review_hours.append(_hours(review.decided_at, review.submitted_at))
        if review.state == "failed":
            pair.failed_rounds += 1

    for doc, escalated in [(r, r.escalated_at is not None) for r in risks] + [(i, i.step > 0) for i in issues]:
        collab = collabs[doc.collaboration_id]
        raiser_dept = dept_of.get(doc.raised_by_id)
        target = raiser_dept
        if raiser_dept == dept_of.get(collab.initiator_id) and doc.subtask_id in tasks:
            target = dept_of.get(tasks[doc.subtask_id].owner_id)
        pair = cell(collab, target)
        if pair is None:
            continue
        pair.risks += 1
        pair.escalations += int(escalated)
    return sorted(pairs.values(), key=lambda p: (p.source.code, p.target.code))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


HEADERS: list[Msg] = [
    _("From (initiator)"),
    _("To (asked)"),
    _("Accepted / declined"),
    _("Median hours to accept"),
    _("Reviews"),
    _("Median hours to review"),
    _("Failed acceptance rounds"),
    _("Risks and issues"),
    _("Escalations"),
]


def table_rows(pairs: list[PairHealth]) -> list[list[str]]:
    """The table, one row per pair, in the column order of ``HEADERS``."""
    return [
        [p.source.name, p.target.name, f"{p.accepted} / {p.declined}", _num(p.median_accept_hours), str(p.reviews), _num(p.median_review_hours), str(p.failed_rounds), str(p.risks), str(p.escalations)]
        for p in pairs
    ]


def summary_lines(pairs: list[PairHealth]) -> list[Msg]:
    """The matrix as chat lines (the retrospective card)."""
    return [
        _(
            "- {source} → {target}: accepted {accepted} (median {accept_h} h), declined {declined}; reviews {reviews} (median {review_h} h), failed rounds {failed}; risks {risks}, escalations {escalations}",
            source=p.source.name, target=p.target.name, accepted=p.accepted, accept_h=_num(p.median_accept_hours), declined=p.declined,
            reviews=p.reviews, review_h=_num(p.median_review_hours), failed=p.failed_rounds, risks=p.risks, escalations=p.escalations,
        )
        for p in pairs
    ]


METRICS: list[tuple[str, Msg]] = [
    ("median_accept_hours", _("Hours to accept a request")),
    ("median_review_hours", _("Hours to give a review")),
    ("failed_rounds", _("Failed acceptance rounds")),
    ("escalations", _("Escalations")),
]


def _draw(pairs: list[PairHealth], locale: str) -> bytes:
    from matplotlib.figure import Figure

    from workflows.reports.fonts import cjk_font_family

    cjk_font_family()
    sources = sorted({p.source.code: p.source for p in pairs}.values(), key=lambda d: d.code)
    targets = sorted({p.target.code: p.target for p in pairs}.values(), key=lambda d: d.code)
    cells = {(p.source.code, p.target.code): p for p in pairs}
    figure = Figure(figsize=(7.2, 0.8 * max(2, len(sources)) * 2 + 1.6), dpi=120)
    figure.suptitle(text(_("Collaboration health between departments"), locale), fontsize=14)
    axes = figure.subplots(2, 2, squeeze=False)
    for ax, (attr, label) in zip(axes.flat, METRICS, strict=True):
        grid: list[list[float]] = []
        for source in sources:
            row = []
            for target in targets:
                pair = cells.get((source.code, target.code))
                value = getattr(pair, attr) if pair is not None else None
                row.append(float("nan") if value is None else float(value))
            grid.append(row)
        finite = [v for row in grid for v in row if v == v]
        top = max(finite) if finite else 1.0
        ax.imshow(grid, cmap="OrRd", vmin=0, vmax=(top or 1.0) * 1.25, aspect="auto")  # 0 pale, the worst pair red
        ax.set_title(text(label, locale), fontsize=11)
        ax.set_xticks(range(len(targets)), [t.name for t in targets], fontsize=10)
        ax.set_yticks(range(len(sources)), [s.name for s in sources], fontsize=10)
        ax.set_xlabel(text(_("To (asked)"), locale), fontsize=9, color="#646a73")
        ax.set_ylabel(text(_("From (initiator)"), locale), fontsize=9, color="#646a73")
        for y, row in enumerate(grid):
            for x, value in enumerate(row):
                ax.text(x, y, "—" if value != value else f"{value:g}", ha="center", va="center", fontsize=12)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def heatmap_png(pairs: list[PairHealth], *, locale: str) -> bytes:
    """The heat map of the matrix (four panels, one per measure), drawn off the event loop."""
    return await asyncio.to_thread(_draw, pairs, locale)


async def retro_lines(collab: Collaboration, *, config: object, now: datetime, person_id: int | None) -> list[Msg]:
    """The matrix of one collaboration for the retrospective card, with a signed link to its heat map."""
    from bot.links import LinkError, links_enabled, sign_link

    pairs = await health_matrix([collab.id])
    lines: list[Msg] = [_("**Collaboration health between departments**")]
    lines += summary_lines(pairs) or [_("No answers, reviews or risks between departments to measure yet.")]
    if pairs and links_enabled(config):  # type: ignore[arg-type]
        try:
            url = sign_link(config, scope=f"collab:{collab.id}/health.png", person_id=person_id, now=now)  # type: ignore[arg-type]
        except LinkError:
            return lines
        lines.append(_("[Heat map]({url})", url=url))
    return lines

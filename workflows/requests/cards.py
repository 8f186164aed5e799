"""Cards of the collaboration request (《协作需求确认表》): the overview, the heads' decision cards, the form."""

from __future__ import annotations

from bot.i18n import Msg, _, join
from bot.router import Context
from bot.types import Button, Card, CardField, Choice, Form, FormField
from storage.models import Collaboration, Department, Person, RequestedDepartment

from ..common.fields import FieldSet
from ..common.format import PRIORITIES, day, or_dash, when
from ..common.joined import Joins, joined
from ..common.records import related
from .states import CollaborationFlow

REQUEST_FIELDS = FieldSet(
    {
        "title": ("title", "标题", "名称", "需求名称", "主题"),
        "background": ("background", "背景", "任务背景"),
        "goal": ("goal", "goals", "目标", "协作目标"),
        "scope": ("scope", "in scope", "范围", "协作范围", "包含"),
        "out_of_scope": ("out of scope", "not in scope", "不包含", "范围外"),
        "departments": ("departments", "department", "depts", "部门", "协作部门", "期望协作部门"),
        "start": ("start", "start date", "期望启动", "期望启动时间", "启动时间", "开始时间"),
        "deadline": ("deadline", "due", "截止", "截止时间", "截止日期"),
        "priority": ("priority", "优先级"),
        "deliverables": ("deliverables", "交付物", "交付物清单"),
        "remarks": ("remarks", "notes", "备注"),
        "reviewer": ("reviewer", "验收人"),
        "decision_maker": ("decision maker", "决策人"),
        "tracker": ("tracker", "跟踪人", "项目经理"),
        "sop": ("sop", "from sop", "协作SOP", "模板"),
    }
)

FIELD_LABELS: dict[str, Msg] = {
    "title": _("Title"),
    "background": _("Background"),
    "goal": _("Goal"),
    "scope": _("Scope"),
    "out_of_scope": _("Out of scope"),
    "departments": _("Departments"),
    "start": _("Expected start"),
    "deadline": _("Deadline"),
    "priority": _("Priority"),
    "deliverables": _("Deliverables"),
    "remarks": _("Remarks"),
    "reviewer": _("Reviewer"),
    "decision_maker": _("Decision maker"),
    "tracker": _("Tracker"),
}

TEMPLATE = _(
    "new\ntitle: …\nbackground: …\ngoal: … (specific and measurable)\nscope: …\nout of scope: …\ndepartments: design, rd\nstart: 2026-12-01\ndeadline: 2026-12-20\npriority: high / medium / low\ndeliverables: …\nremarks: …"
)


def request_form(group_id: int | None = None) -> Form:
    """``group_id``: the group it was asked for in, bound to the new collaboration wherever the form is sent back from."""
    return Form(
        id="request.new",
        title=_("New collaboration request"),
        submit_label=_("Submit request"),
        value={"group": group_id} if group_id else {},
        template=TEMPLATE,
        fields=[
            FormField("title", FIELD_LABELS["title"], required=True),
            FormField("background", FIELD_LABELS["background"], "textarea"),
            FormField("goal", FIELD_LABELS["goal"], "textarea", required=True, placeholder=_("specific and measurable")),
            FormField("scope", FIELD_LABELS["scope"], "textarea"),
            FormField("out_of_scope", FIELD_LABELS["out_of_scope"], "textarea"),
            FormField("departments", FIELD_LABELS["departments"], required=True, placeholder=_("e.g. 设计部, 研发部")),
            FormField("start", FIELD_LABELS["start"], "date"),
            FormField("deadline", FIELD_LABELS["deadline"], "date", required=True),
            FormField(
                "priority",
                FIELD_LABELS["priority"],
                "select",
                choices=[Choice(k, v) for k, v in PRIORITIES.items()],
                initial="medium",
            ),
            FormField("deliverables", FIELD_LABELS["deliverables"], "textarea"),
            FormField("remarks", FIELD_LABELS["remarks"], "textarea"),
        ],
    )


def decline_form(collab: Collaboration, dept: Department, round_: int) -> Form:
    return Form(
        id="request.decline",
        title=_("Decline {code}", code=collab.code),
        submit_label=_("Decline"),
        value={"code": collab.code, "dept": dept.code, "round": round_},
        template=_("decline {code} reason: … counter date: 2026-12-20", code=collab.code),
        fields=[
            FormField("reason", _("Reason"), "textarea", required=True, placeholder=_("e.g. 当前人力饱和")),
            FormField("counter_date", _("Counter-proposal: could start on"), "date"),
        ],
    )


def _department_line(answer: RequestedDepartment, dept: Department, decider: Person | None, ctx: Context) -> Msg:
    if answer.state == "accepted":
        return _("✅ {dept}: accepted by {name} at {time}", dept=dept.name, name=decider.name if decider else "?", time=when(answer.decided_at, ctx.config.bot.timezone))
    if answer.state == "declined":
        counter = _(" — could start on {date}", date=day(answer.counter_date)) if answer.counter_date else ""
        return _(
            "❌ {dept}: declined by {name} at {time}: {reason}{counter}",
            dept=dept.name,
            name=decider.name if decider else "?",
            time=when(answer.decided_at, ctx.config.bot.timezone),
            reason=answer.reason,
            counter=counter,
        )
    return _("⏳ {dept}: waiting for {head}", dept=dept.name, head=dept.head.name if dept.head else "?")


_ANSWER_JOINS: Joins = (
    ("department", Department, "department", False),
    ("department__head", Person, "head", True),
    ("decided_by", Person, "decided_by", True),
)


async def department_answers(collab: Collaboration) -> list[RequestedDepartment]:
    """The current (not withdrawn) answers in the order asked, with what the cards show: department, head, decider."""
    return await joined(RequestedDepartment, _ANSWER_JOINS, {"collaboration_id": collab.id, "state__not": "withdrawn"}, order=("id",))


async def department_lines(collab: Collaboration, ctx: Context, answers: list[RequestedDepartment] | None = None) -> list[Msg]:
    """One line per department asked; ``answers``: from ``department_answers``, when the handler has them already."""
    if answers is None:
        answers = await department_answers(collab)
    return [_department_line(a, a.department, a.decided_by, ctx) for a in answers]


def request_fields(collab: Collaboration, initiator: Person) -> list[CardField]:
    """The request's fields; optional ones only when filled in."""
    optional = [
        (FIELD_LABELS["background"], collab.background),
        (FIELD_LABELS["scope"], collab.scope_in),
        (FIELD_LABELS["out_of_scope"], collab.scope_out),
        (FIELD_LABELS["start"], day(collab.start_date) if collab.start_date else ""),
        (FIELD_LABELS["deliverables"], collab.deliverables),
        (FIELD_LABELS["remarks"], collab.remarks),
    ]
    return [
        CardField(_("Initiator"), initiator.name),
        CardField(FIELD_LABELS["goal"], or_dash(collab.goal)),
        CardField(FIELD_LABELS["deadline"], day(collab.deadline)),
        CardField(FIELD_LABELS["priority"], PRIORITIES.get(collab.priority, collab.priority)),
        *(CardField(label, value) for label, value in optional if value and value.strip()),
    ]


_COLORS = {"pending": "yellow", "active": "green", "completed": "green", "archived": "grey", "cancelled": "grey"}


async def overview_card(collab: Collaboration, ctx: Context, answers: list[RequestedDepartment] | None = None) -> Card:
    """The request as the group sees it; updated in place as departments answer (``answers``: see ``department_lines``)."""
    initiator: Person = await related(collab, "initiator")
    lines = await department_lines(collab, ctx, answers)
    return Card(
        key=f"req:{collab.code}",
        title=_("Collaboration request {code}: {title}", code=collab.code, title=collab.title),
        body=join(lines),
        fields=request_fields(collab, initiator),
        color=_COLORS.get(collab.state, "blue"),  # type: ignore[arg-type]
        status=_("Status: {state} (round {round})", state=CollaborationFlow.label(collab.state), round=collab.round),
    )


def decision_key(collab: Collaboration, dept: Department, round_: int) -> str:
    return f"req:{collab.code}:{dept.code}:r{round_}"


def decision_buttons(collab: Collaboration, dept: Department, round_: int) -> list[Button]:
    """Accept / decline for a department head: the same actions on the request card and on its reminder,
    carrying the round so that a click from an older round is refused on the server."""
    value = {"code": collab.code, "dept": dept.code, "round": round_}
    return [
        Button(_("Accept"), "request.accept", value, "primary", command=_("accept {code} {department}", code=collab.code, department=dept.name)),
        Button(
            _("Decline"),
            "request.decline",
            value,
            "danger",
            command=_("decline {code} {department} reason: ", code=collab.code, department=dept.name),
            opens_form=decline_form(collab, dept, round_),
        ),
    ]


async def decision_card(collab: Collaboration, dept: Department, answer: RequestedDepartment, ctx: Context, *, note: Msg | None = None) -> Card:
    """The card a department head accepts or declines on; after a decision it shows who and when, without buttons."""
    initiator: Person = await related(collab, "initiator")
    buttons: list[Button] = []
    status: Msg | None = note
    if answer.state == "pending" and collab.state == "pending" and note is None:
        buttons = decision_buttons(collab, dept, answer.round)
        status = _("Please accept or decline for {dept}.", dept=dept.name)
    elif answer.state in ("accepted", "declined") and status is None:
        status = _department_line(answer, dept, await related(answer, "decided_by"), ctx)
    return Card(
        key=decision_key(collab, dept, answer.round),
        title=_("{initiator} asks {dept} to collaborate: {code} {title}", initiator=initiator.name, dept=dept.name, code=collab.code, title=collab.title),
        fields=request_fields(collab, initiator),
        buttons=buttons,
        color="blue" if buttons else ("green" if answer.state == "accepted" else "grey"),
        status=status,
    )


# ---------------------------------------------------------------- the initiator after a decline


def notice_key(collab: Collaboration, dept: Department, round_: int) -> str:
    return f"req:{collab.code}:declined:{dept.code}:r{round_}"


def rescope_form(collab: Collaboration) -> Form:
    return Form(
        id="request.rescope",
        title=_("Re-scope {code}", code=collab.code),
        submit_label=_("Re-scope and ask again"),
        value={"code": collab.code},
        template=_("rescope {code} deadline: 2026-12-30 scope: …", code=collab.code),
        fields=[
            FormField("start", FIELD_LABELS["start"], "date", initial=collab.start_date.isoformat() if collab.start_date else None),
            FormField("deadline", FIELD_LABELS["deadline"], "date", initial=collab.deadline.isoformat()),
            FormField("scope", FIELD_LABELS["scope"], "textarea", initial=collab.scope_in or None),
            FormField("goal", FIELD_LABELS["goal"], "textarea", initial=collab.goal or None),
            FormField("deliverables", FIELD_LABELS["deliverables"], "textarea", initial=collab.deliverables or None),
            FormField("remarks", FIELD_LABELS["remarks"], "textarea", initial=collab.remarks or None),
        ],
    )


def reroute_form(collab: Collaboration, dept: Department, others: list[Department]) -> Form:
    """Re-route from ``dept`` to one of ``others`` (the departments not asked yet)."""
    return Form(
        id="request.reroute",
        title=_("Re-route {code}", code=collab.code),
        submit_label=_("Re-route"),
        value={"code": collab.code, "from": dept.code},
        template=_("reroute {code} from: {dept} to: …", code=collab.code, dept=dept.name),
        fields=[FormField("to", _("Ask this department instead of {dept}", dept=dept.name), "select", required=True, choices=[Choice(d.code, d.name) for d in others])],
    )


def decline_notice_card(collab: Collaboration, dept: Department, answer: RequestedDepartment, others: list[Department], *, note: Msg | None = None) -> Card:
    """What the initiator gets when a department declines: the reason, and one button per way on."""
    value = {"code": collab.code, "dept": dept.code, "round": answer.round}
    buttons: list[Button] = []
    if note is None:
        buttons = [
            Button(_("Re-scope"), "request.rescope", value, "primary", command=_("rescope {code} deadline: …", code=collab.code), opens_form=rescope_form(collab)),
            Button(_("Re-route"), "request.reroute", value, command=_("reroute {code} from: {dept} to: …", code=collab.code, dept=dept.name), opens_form=reroute_form(collab, dept, others) if others else None),
            Button(_("Cancel the request"), "request.cancel", value, "danger", command=_("cancel {code}", code=collab.code)),
        ]
    return Card(
        key=notice_key(collab, dept, answer.round),
        title=_("{dept} declined {code}: {title}", dept=dept.name, code=collab.code, title=collab.title),
        body=join(
            [
                _("Reason: {reason}", reason=answer.reason),
                _("They could start on {date}.", date=day(answer.counter_date)) if answer.counter_date else None,
                _("Re-scope it (the departments are asked again), re-route it to another department, or cancel it.") if note is None else None,
            ]
        ),
        buttons=buttons,
        color="red" if note is None else "grey",
        status=note,
    )

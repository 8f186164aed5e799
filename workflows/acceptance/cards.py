"""The acceptance card (《验收申请》/《成果验收表》) with the delivery standard item by item, and its forms."""

from __future__ import annotations

from typing import Any

from bot.i18n import Msg, _, join
from bot.router import Context
from bot.types import Button, Card, CardField, Choice, Form, FormField
from storage.models import AcceptanceRequest, Person, Subtask

from ..common.format import when
from ..common.records import person_of, related
from .checklist import checklist_body, checklist_items, failed_items
from .states import AcceptanceFlow


def fail_form(request: AcceptanceRequest, code: str) -> Form:
    """The reviewer ticks the items that fail (none ticked: the comments decide, see ``checklist``)."""
    items = [row["item"] for row in request.checklist or []]
    fields = [FormField("comments", _("What must change"), "textarea", required=True, placeholder=_("e.g. 海报色彩与品牌VI不符，需调整主色调"))]
    if items:
        fields.insert(0, FormField("failed_items", _("Items that fail"), "checkboxes", choices=_item_choices(items)))
    return Form(
        id="acceptance.fail",
        title=_("Fail {code}", code=code),
        submit_label=_("Fail and send back"),
        value={"code": code, "attempt": request.attempt},
        template=_("fail {code} failed items: 2、3 comments: …", code=code) if items else _("fail {code} comments: …", code=code),
        fields=fields,
    )


def numbered(items: list[str]) -> list[Msg]:
    """The delivery standard's items as numbered lines, for the typed self-check or failed items (``2、3``)."""
    if not items:
        return []
    return [_("**Delivery standard, item by item:**"), *(_("{n}. {item}", n=number, item=item) for number, item in enumerate(items, start=1))]


def _item_choices(items: list[str]) -> list[Choice]:
    return [Choice(str(number), _("{n}. {item}", n=number, item=item)) for number, item in enumerate(items, start=1)]


def submit_form(task: Subtask) -> Form:
    """The owner's 《验收申请》: deliverables, statement, and the self-check ticked item by item."""
    items = checklist_items(task.delivery_standard)
    fields = [
        FormField("deliverables", _("Deliverables"), "textarea", required=True, placeholder=_("one per line: name, link, version (e.g. 海报 https://… v2-修改后)")),
        FormField("statement", _("Completion statement"), "textarea"),
    ]
    if items:
        fields.append(FormField("self_check_items", _("Self-check: the items of the delivery standard that are met"), "checkboxes", choices=_item_choices(items)))
    fields.append(FormField("self_check", _("Self-check notes"), "textarea"))
    return Form(
        id="acceptance.submit",
        title=_("Submit {code} for acceptance", code=task.code),
        submit_label=_("Submit for acceptance"),
        value={"code": task.code},
        template=_("submit {code}\ndeliverables: 海报 https://… v1\nstatement: …\nself-check: 1、2 pass; 3 fail", code=task.code),
        fields=fields,
    )


def verdict_buttons(request: AcceptanceRequest, task: Subtask) -> list[Button]:
    """Pass / fail for the reviewer: the same actions on the acceptance card and on its reminder, carrying
    the attempt so that a click on an older submission is refused on the server."""
    value = {"code": task.code, "attempt": request.attempt}
    return [
        Button(_("Pass"), "acceptance.pass", value, "primary", command=_("pass {code}", code=task.code)),
        Button(_("Fail"), "acceptance.fail", value, "danger", command=_("fail {code} comments: ", code=task.code), opens_form=fail_form(request, task.code)),
    ]


async def acceptance_card(request: AcceptanceRequest, task: Subtask, ctx: Context) -> Card:
    owner: Person = await related(task, "owner")
    reviewer: Person | None = await related(task, "reviewer")
    lines: list[Any] = [
        _("- {name} {version} {link}", name=d["name"], version=d.get("version", ""), link=d.get("link", "")) for d in request.deliverables
    ]
    buttons: list[Button] = []
    status: Msg
    if request.state == "pending":
        buttons = verdict_buttons(request, task)
        status = _("Waiting for {reviewer} to pass or fail.", reviewer=reviewer.name if reviewer else "?")
    else:
        decider = await person_of(request.reviewer_id, reviewer, owner)
        status = _(
            "{verdict} by {name} at {time}",
            verdict=AcceptanceFlow.label(request.state),
            name=decider.name if decider else "?",
            time=when(request.decided_at, ctx.config.bot.timezone),
        )
    failed = failed_items(request.checklist or [])
    fields = [
        CardField(_("Owner"), owner.name),
        CardField(_("Delivery standard"), task.delivery_standard),
        CardField(_("Completion statement"), request.statement or "—"),
        CardField(_("Self-check"), request.self_check or "—"),
    ]
    if failed:
        fields.append(CardField(_("Items that fail"), join(failed, ", ")))
    if request.comments:
        fields.append(CardField(_("Comments"), request.comments))
    return Card(
        key=f"acc:{task.code}:{request.attempt}",
        title=_("Acceptance request {code} (attempt {attempt}): {title}", code=task.code, attempt=request.attempt, title=task.title),
        body=join([_("Deliverables:"), *lines, checklist_body(request.checklist or [])]),
        fields=fields,
        buttons=buttons,
        color={"pending": "blue", "passed": "green", "failed": "red"}[request.state],  # type: ignore[arg-type]
        status=status,
        mentions=[str(reviewer.id)] if reviewer and request.state == "pending" else [],
    )

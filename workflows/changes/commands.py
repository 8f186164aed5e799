"""The ``change`` command (a new request, or a sub-command on an existing one), its form, and the list of changes."""

from __future__ import annotations

from typing import Any

from bot.i18n import _, join
from bot.router import Context, Router
from bot.types import Card, Outcome
from storage.models_workflows import ChangeRequest

from ..common import lookup
from ..common.forms import answer_typed, ask
from ..common.visibility import readable_collaboration, readable_document, sent_to
from ..risks.kit import (
    find_document,
    require_initiator,
)
from .cards import FIELD_LABELS, change_card, change_form
from .create import EXAMPLE, create_change
from .decisions import confirm, reject, resubmit, withdraw
from .parse import parse_change
from .states import ChangeFlow

router = Router()


@router.command("change", "变更申请", "变更", "申请变更")
async def change_command(ctx: Context, args: str) -> Outcome:
    from ..risks.kit import DOC

    head, values, items = parse_change(args)
    if any(m.group(2).upper() == "C" for m in DOC.finditer(head)):
        return await _change_subcommand(ctx, head, values)
    collab = await lookup.collaboration(ctx, head, lock=True)
    if not values and not items:
        require_initiator(ctx, collab, _("request a change"))
        form = change_form(collab)
        return ask(form, ctx=ctx)
    return await create_change(ctx, collab, values, items)


async def _change_subcommand(ctx: Context, head: str, values: dict[str, str]) -> Outcome:
    """``change XZB…-C01 confirm`` / ``reject reason: …`` / ``withdraw`` / ``resubmit``."""
    words = {w.lower() for w in head.split()}
    if words & {"confirm", "approve", "ok", "同意", "确认"}:  # a typed decision is answered where it was typed
        return answer_typed(ctx, await confirm(ctx, head), _("Recorded: you confirmed {code}.", code=head.split()[0]))
    if words & {"reject", "decline", "拒绝", "驳回", "不同意"}:
        return answer_typed(ctx, await reject(ctx, head, values.get("reason", "")), _("Recorded: you rejected {code}.", code=head.split()[0]))
    if words & {"withdraw", "cancel", "撤回", "撤销"}:
        return await withdraw(ctx, head)
    if words & {"resubmit", "again", "重新提交", "再次提交"}:
        return await resubmit(ctx, head)
    change = await find_document(ctx, ChangeRequest, head, "C", EXAMPLE)
    audience = await readable_document(ctx, change.collaboration_id, change.code)
    card = await change_card(change, ctx)
    card.key = None
    return sent_to(audience, [card])


@router.form("change.new")
async def change_form_submitted(ctx: Context, event: Any) -> Outcome:
    collab = await lookup.collaboration(ctx, str(event.value.get("code", "")), lock=True)
    text = "\n".join(f"{name}: {value}" for name, value in event.form.items() if isinstance(value, str) and value.strip() and name != "changes")
    _head, values, items = parse_change(text)
    _h2, _v2, more = parse_change(str(event.form.get("changes", "")))
    unparsed = [line for line in str(event.form.get("changes", "")).splitlines() if line.strip()]
    if unparsed and not more:
        values["_unparsed"] = unparsed[0]
    return await create_change(ctx, collab, values, items + more)


@router.command("changes", "变更记录", "变更列表")
async def list_changes(ctx: Context, args: str) -> Outcome:
    collab, _actor, audience = await readable_collaboration(ctx, args)
    rows = await ChangeRequest.filter(collaboration_id=collab.id).order_by("id")
    lines: list[Any] = []
    for row in rows:
        lines.append(_("**{code}** {state}: {reason}", code=row.code, state=ChangeFlow.label(row.state), reason=row.reason))
        applied = row.applied or {}
        for name, pair in (applied.get("collaboration") or {}).items():
            lines.append(_("- {code} {field}: {before} → {after}", code=collab.code, field=FIELD_LABELS.get(name, name), before=pair[0], after=pair[1]))
        for diff in applied.get("subtasks") or []:
            for name in ("deadline", "owner", "standard"):
                if name in diff:
                    lines.append(_("- {code} {field}: {before} → {after}", code=diff["subtask"], field=FIELD_LABELS[name], before=diff[name][0], after=diff[name][1]))
    return sent_to(audience, [Card(title=_("Change requests of {code}", code=collab.code), body=join(lines or [_("No change requests.")]), color="blue")])

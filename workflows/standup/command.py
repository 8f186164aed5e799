"""The ``standup`` / ``站会`` command: reads the sub-command and hands it to its sub-flow."""

from __future__ import annotations

from bot.calendar import WorkCalendar
from bot.router import Context, Router
from bot.types import Outcome

from ..common.fields import parse_fields
from .answers import answer_now
from .away import back, leave, skip
from .common import answer_fields, existing_standup
from .setup import SETUP_FIELDS, configure, setup_card, show, switch
from .stats import stats

router = Router()


_SUB = {
    "set": "set", "setup": "set", "config": "set", "configure": "set", "设置": "set", "配置": "set",
    "show": "show", "status": "show", "查看": "show", "状态": "show",
    "off": "off", "stop": "off", "disable": "off", "关闭": "off", "停止": "off", "停用": "off",
    "on": "on", "start": "on", "enable": "on", "开启": "on", "启用": "on",
    "skip": "skip", "跳过": "skip",
    "leave": "leave", "away": "leave", "vacation": "leave", "请假": "leave", "休假": "leave",
    "back": "back", "return": "back", "销假": "back",
    "stats": "stats", "participation": "stats", "统计": "stats", "参与": "stats", "参与度": "stats",
}



@router.command("standup", "stand-up", "站会", "每日站会", "晨会")
async def standup_command(ctx: Context, args: str, calendar: WorkCalendar) -> Outcome:
    word, _sep, rest = args.strip().partition(" ")
    sub = _SUB.get(word.lower().rstrip(":"))
    if sub is None:
        _head, answer = answer_fields(args)
        if answer:
            return await answer_now(ctx, answer)
        if args.strip() and ":" in args:
            sub, rest = "set", args
        else:
            sub = "show"
    if sub == "set":
        _head, values = parse_fields(rest, SETUP_FIELDS)
        if not values:
            return Outcome().reply(setup_card(await existing_standup(ctx), ctx))
        return await configure(ctx, values, calendar)
    if sub in ("on", "off"):
        return await switch(ctx, sub == "on", calendar)
    if sub == "skip":
        return await skip(ctx, rest)
    if sub == "leave":
        return await leave(ctx, rest)
    if sub == "back":
        return await back(ctx)
    if sub == "stats":
        return await stats(ctx, rest)
    return await show(ctx)

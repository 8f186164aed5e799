"""The peer side of ``bench_standup.py``: protomated/zulip-standup-bot driven in-process, on its own SQLite.

Run by ``bench_standup.py`` with the peer's own Python (its virtualenv), never imported by collabbot:

    PEER_PYTHON bench/peer_standup.py --peer-path CLONE --db FILE --participants 20

It reads one JSON request per line on stdin and answers one JSON line on stdout, so the two bots take turns
(one round of collabbot, one round of the peer, …) in the same run without sharing a process or a library.
Requests: ``{"op": "round", "status": K}`` runs one stand-up day and answers the latencies (wall clock and
CPU) of each command type; ``{"op": "count", "status": K}`` runs one more day and answers the SQL statements and connections per
command type (sqlite3's trace callback, outside the timed rounds); ``{"op": "quit"}``.

A day of the peer, as its own scheduler and its users would drive it:
  * (untimed) its answers of the day are cleared and its prompt job ``_send_standup_prompts`` runs;
  * ``status``  — ``/standup status`` in the stream, K times;
  * ``answer``  — each participant's first private reply (the peer asks its three questions one message at a
    time; the first reply inserts the person's answer row);
  * ``edit``    — each participant's second and third replies (each updates the stored answer row; the third
    also takes the person off the pending list);
  * ``digest``  — its summary job ``_generate_and_post_summary``.
Every reply is checked, so an error path is never timed as a command.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

STREAM_ID = 1
STREAM = "standup"


class FakeClient:
    """What the peer asks its Zulip client for: the stream's subscribers and the users (no network)."""

    def __init__(self, participants: int) -> None:
        self.ids = [100 + i for i in range(participants)]

    def get_subscribers(self, stream: str) -> dict[str, Any]:
        return {"result": "success", "subscribers": self.ids}

    def get_users(self) -> dict[str, Any]:
        members = [
            {"user_id": uid, "email": f"u{uid}@example.com", "full_name": f"User {uid}", "is_bot": False, "timezone": "Asia/Shanghai"}
            for uid in self.ids
        ]
        return {"result": "success", "members": members}


def stream_message(content: str, sender: int) -> dict[str, Any]:
    return {
        "type": "stream", "content": content, "sender_id": sender, "sender_email": f"u{sender}@example.com",
        "display_recipient": STREAM, "subject": "standup", "stream_id": STREAM_ID, "sender_full_name": f"User {sender}",
    }


def private_message(content: str, sender: int) -> dict[str, Any]:
    return {
        "type": "private", "content": content, "sender_id": sender, "sender_email": f"u{sender}@example.com",
        "display_recipient": [{"email": f"u{sender}@example.com"}], "subject": "", "sender_full_name": f"User {sender}",
    }


class Peer:
    def __init__(self, participants: int) -> None:
        import standup  # the peer's module (its folder is on sys.path)
        from zulip_bots.test_lib import StubBotHandler

        self.database = __import__("database")
        self.client = FakeClient(participants)
        self.handler = StubBotHandler()
        self.handler._client = self.client
        self.bot = standup.StandupHandler()
        self.bot.initialize(self.handler)
        self.bot.scheduler.pause()  # its cron jobs are driven by this script, never by wall-clock time
        self.day = 0
        # every day and no holiday skipping: the bench runs whatever today's real date is (the peer dates by it)
        for command in ("/standup setup 09:30 11:45 12:45", "/standup config days all", "/standup config skip_holidays false"):
            self.say(command, self.client.ids[0], expect="✅" if "config" in command else "Standup activated")

    def reply(self) -> str:
        transcript = self.handler.transcript
        return str(transcript[-1][1].get("content", "")) if transcript else ""

    def say(self, content: str, sender: int, *, private: bool = False, expect: str) -> tuple[float, float]:
        """Wall-clock and CPU seconds of one message handled."""
        message = private_message(content, sender) if private else stream_message(content, sender)
        self.handler.reset_transcript()
        c0, t0 = time.process_time(), time.perf_counter()
        self.bot.handle_message(message, self.handler)
        elapsed = time.perf_counter() - t0, time.process_time() - c0
        if expect not in self.reply():
            raise SystemExit(f"peer: {content!r} answered {self.reply()[:200]!r}, expected {expect!r}")
        return elapsed

    def prompt(self) -> None:
        with self.database.get_db_connection() as conn:
            conn.execute("DELETE FROM standup_responses")
            conn.commit()
        self.handler.reset_transcript()
        self.bot._send_standup_prompts(str(STREAM_ID))
        prompts = [m for m in self.handler.transcript if m[0] == "send_message"]
        if len(prompts) != len(self.client.ids):
            raise SystemExit(f"peer: {len(prompts)} prompts sent to {len(self.client.ids)} participants")

    def round(self, status: int) -> dict[str, dict[str, list[float]]]:
        """One day: ``{"wall": {command: [seconds…]}, "cpu": {command: [seconds…]}}``."""
        self.day += 1
        ids = self.client.ids
        wall: dict[str, list[float]] = collections.defaultdict(list)
        cpu: dict[str, list[float]] = collections.defaultdict(list)

        def note(command: str, spent: tuple[float, float]) -> None:
            wall[command].append(spent[0])
            cpu[command].append(spent[1])

        self.prompt()
        for i in range(status):
            note("status", self.say("/standup status", ids[i % len(ids)], expect="Standup Status for"))
        for uid in ids:
            note("answer", self.say(f"day {self.day}: wrote the spec for feature {uid}", uid, private=True, expect="Thanks!"))
        for uid in ids:
            note("edit", self.say(f"day {self.day}: review the copy of feature {uid}", uid, private=True, expect="Thanks!"))
        for uid in ids:
            note("edit", self.say("waiting for legal" if uid % 4 == 0 else "none", uid, private=True, expect="Perfect!"))
        self.handler.reset_transcript()
        c0, t0 = time.process_time(), time.perf_counter()
        self.bot._generate_and_post_summary(str(STREAM_ID))
        note("digest", (time.perf_counter() - t0, time.process_time() - c0))
        summary = self.reply()
        if f"**Participants:** {len(ids)} completed" not in summary:
            raise SystemExit(f"peer: the digest does not count {len(ids)} answers: {summary[:300]!r}")
        return {"wall": dict(wall), "cpu": dict(cpu)}

    def count(self, status: int) -> dict[str, dict[str, float]]:
        """Statements and connections per command type, over one more day (not timed)."""
        seen: collections.Counter[str] = collections.Counter()
        original = sqlite3.connect

        def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn = original(*args, **kwargs)
            seen["connections"] += 1

            def trace(sql: str) -> None:
                word = sql.lstrip().split(None, 1)[0].upper()
                seen["control" if word in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA") else "queries"] += 1

            conn.set_trace_callback(trace)
            return conn

        per: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        counts = collections.Counter[str]()
        real_say, real_summary = self.say, self.bot._generate_and_post_summary

        def counted_say(content: str, sender: int, *, private: bool = False, expect: str) -> tuple[float, float]:
            kind = "status" if content.startswith("/standup status") else ("answer" if content.startswith(f"day {self.day}: wrote") else "edit")
            seen.clear()
            elapsed = real_say(content, sender, private=private, expect=expect)
            per[kind].update(seen)
            counts[kind] += 1
            return elapsed

        def counted_summary(stream_id: str) -> None:
            seen.clear()
            real_summary(stream_id)
            per["digest"].update(seen)
            counts["digest"] += 1

        self.database.sqlite3.connect = connect
        self.say = counted_say  # type: ignore[method-assign]
        self.bot._generate_and_post_summary = counted_summary
        try:
            self.round(status)
        finally:
            self.database.sqlite3.connect = original
            del self.say
            self.bot._generate_and_post_summary = real_summary
        return {kind: {k: v / counts[kind] for k, v in per[kind].items()} for kind in counts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer-path", required=True, help="a clone of protomated/zulip-standup-bot")
    parser.add_argument("--db", required=True, help="the peer's SQLite file (created)")
    parser.add_argument("--participants", type=int, default=20)
    args = parser.parse_args()
    bots = Path(args.peer_path) / "zulip_bots" / "zulip_bots"
    sys.path[:0] = [str(bots), str(bots / "bots" / "standup")]
    for name in ("DATABASE_URL", "GROQ_API_KEY"):  # its own SQLite file; no AI summary (that would be a network call)
        os.environ.pop(name, None)
    os.environ["SQLITE_DB_PATH"] = args.db
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout = sys.stderr  # whatever the peer prints must not mix with the answers
    logging.disable(logging.ERROR)  # the peer logs every message at INFO; collabbot's bench logs nothing either
    peer = Peer(args.participants)
    protocol.write(json.dumps({"ready": True}) + "\n")
    protocol.flush()
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        answer = peer.round(request["status"]) if request["op"] == "round" else peer.count(request["status"])
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
    peer.bot.scheduler.shutdown(wait=False)


if __name__ == "__main__":
    main()

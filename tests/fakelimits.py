"""The platforms' send limits as the fake servers enforce them (written apart from ``bot/pacing.py`` on purpose).

A fake asks ``admit(checks)`` before it accepts a send; a refused send is answered the way the
platform answers it (the fake decides the wire shape) and counted in ``refused``. Time is the test's
or benchmark's clock (a ``ManualClock`` in simulated time).

- ``Window(limit, seconds)``: at most ``limit`` accepted sends in any ``seconds`` (DingTalk: 20 a minute
  per group; WeCom: 30 a minute and 1,000 an hour per member); ``block`` seconds of refusing everything
  after an excess (DingTalk blocks a robot for 10 minutes).
- ``Bucket(rate, seconds, burst)``: a classic token bucket with float tokens (Slack: about one message a
  second per channel, short bursts).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

EPSILON = 1e-6


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: float
    block: float = 0.0


@dataclass(frozen=True)
class Bucket:
    rate: int
    seconds: float
    burst: int


Rule = Window | Bucket


@dataclass
class PlatformLimits:
    now: Callable[[], datetime]
    accepted: dict[str, deque[datetime]] = field(default_factory=dict)
    tokens: dict[str, tuple[float, datetime]] = field(default_factory=dict)
    blocked_until: dict[str, datetime] = field(default_factory=dict)
    refused: list[tuple[str, datetime]] = field(default_factory=list)
    history: dict[str, list[datetime]] = field(default_factory=dict)

    def admit(self, checks: list[tuple[str, Rule]]) -> float | None:
        """Accept a send (None) or refuse it: the seconds until the refusing limit allows one."""
        now = self.now()
        wait = 0.0
        for key, rule in checks:
            blocked = self.blocked_until.get(key)
            if blocked is not None and blocked > now:
                wait = max(wait, (blocked - now).total_seconds())
                continue
            if isinstance(rule, Window):
                sent = self.accepted.setdefault(key, deque())
                while sent and sent[0] <= now - timedelta(seconds=rule.seconds):
                    sent.popleft()
                if len(sent) >= rule.limit:
                    wait = max(wait, (sent[0] + timedelta(seconds=rule.seconds) - now).total_seconds())
                    if rule.block:
                        self.blocked_until[key] = now + timedelta(seconds=rule.block)
                        wait = max(wait, rule.block)
            else:
                tokens, at = self.tokens.get(key, (float(rule.burst), now))
                tokens = min(float(rule.burst), tokens + (now - at).total_seconds() * rule.rate / rule.seconds)
                self.tokens[key] = (tokens, now)
                if tokens < 1 - EPSILON:
                    wait = max(wait, (1 - tokens) * rule.seconds / rule.rate)
        if wait > 0:
            self.refused.append((checks[0][0] if checks else "", now))
            return wait
        for key, rule in checks:
            if isinstance(rule, Window):
                self.accepted.setdefault(key, deque()).append(now)
            else:
                tokens, at = self.tokens[key]
                self.tokens[key] = (tokens - 1, at)
            self.history.setdefault(key, []).append(now)
        return None

    def most_in_any(self, key: str, seconds: float) -> int:
        """The most sends accepted for ``key`` in any window of ``seconds``."""
        times = sorted(self.history.get(key, []))
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= timedelta(seconds=seconds):
                start += 1
            best = max(best, end - start + 1)
        return best

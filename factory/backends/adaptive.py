"""How many calls one endpoint gets at once: a fixed number, or `auto`, a limit that finds
the server's capacity while the run goes.

`auto` is AIMD (additive increase, multiplicative decrease), the rule TCP uses, steered by
latency as well as errors. Time is cut into windows of about one round trip: a window closes
once as many calls have finished as the limit allowed when it opened. At its close:

- a 429, a 5xx or a timeout in the window: the limit is multiplied by 0.7 (`overload`);
- else, the window's mean latency above `tolerance` x its floor: multiplied by 0.9
  (`latency`), since the server is queueing calls rather than serving more of them;
- else, if the window used the whole limit (calls were waiting): +1, or doubled while no
  signal has been seen yet (slow start);
- else: unchanged (the run, not the server, is the bottleneck).

Latency is the mean of a window's successful calls; its floor is the lowest window mean seen.
A floor can go stale when the work itself gets slower (longer prompts as dialogues grow):
when two latency cuts in a row do not bring the latency down, it did not come from queueing,
and the floor is re-measured there instead of cutting again. A limit stays between 1 and the
ceiling. Each change is kept as a decision
(when, to what, why) for the progress line and the manifest."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

Outcome = Literal["ok", "overload", "error"]

_DECREASE = {"overload": 0.7, "latency": 0.9}
_STALE = 0.9  # a cut that leaves the latency above this share of the last one: stale floor
_KEPT_DECISIONS = 200


@dataclass(frozen=True)
class Decision:
    at_s: float  # seconds since the limiter started
    limit: int
    why: str  # start, slow_start, increase, latency, overload


@dataclass
class ConcurrencyLimit:
    """The calls in flight to one endpoint: at most `limit`; with `adaptive`, the limit moves
    between 1 and `ceiling` as described in the module docstring."""

    limit: int
    ceiling: int
    adaptive: bool = False
    tolerance: float = 2.0
    in_flight: int = 0
    decisions: deque[Decision] = field(default_factory=lambda: deque(maxlen=_KEPT_DECISIONS))
    reasons: Counter[str] = field(default_factory=Counter)
    _waiters: deque[asyncio.Future[None]] = field(default_factory=deque)
    _started: float = field(default_factory=time.monotonic)
    _latency_sum: float = 0.0
    _latency_n: int = 0
    _floor: float | None = None
    _cut_at: float | None = None  # the mean latency that caused the last latency cut
    _window_left: int = 0
    _window_full: bool = False
    _window_overload: bool = False
    _slow_start: bool = True
    peak: int = 0

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.limit, self.ceiling))
        self._window_left = self.limit
        self.peak = self.limit
        self._decide(self.limit, "start")

    @classmethod
    def fixed(cls, limit: int) -> ConcurrencyLimit:
        return cls(limit=limit, ceiling=limit)

    @classmethod
    def auto(cls, ceiling: int, start: int = 4, tolerance: float = 2.0) -> ConcurrencyLimit:
        return cls(limit=start, ceiling=ceiling, adaptive=True, tolerance=tolerance)

    @property
    def last(self) -> Decision:
        return self.decisions[-1]

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self._acquire()
        try:
            yield
        finally:
            self.in_flight -= 1
            self._wake()

    def observe(self, outcome: Outcome, seconds: float) -> None:
        """One attempt's outcome: `ok` (with its latency), `overload` (429, 5xx, timeout) or
        `error` (anything else: says nothing about load)."""
        if not self.adaptive:
            return
        if outcome == "ok":
            self._latency_sum += seconds
            self._latency_n += 1
        elif outcome == "overload":
            self._window_overload = True
        self._window_left -= 1
        if self._window_left <= 0:
            self._close_window()

    def _close_window(self) -> None:
        old = self.limit
        why = None
        slow = False
        if self._latency_n:
            mean = self._latency_sum / self._latency_n
            self._floor = mean if self._floor is None else min(self._floor, mean)
            slow = mean > self.tolerance * self._floor
            if slow and self._cut_at is not None and mean >= _STALE * self._cut_at:
                self._floor, slow = mean, False  # cutting did not help: a slower workload
            self._cut_at = mean if slow else None
        self._latency_sum, self._latency_n = 0.0, 0
        if self._window_overload:
            why = "overload"
        elif slow:
            why = "latency"
        if why is not None:
            self._slow_start = False
            new = max(1, int(old * _DECREASE[why]))
            if new == old and old > 1:
                new = old - 1
        elif self._window_full:
            why = "slow_start" if self._slow_start else "increase"
            new = min(self.ceiling, old * 2 if self._slow_start else old + 1)
        else:
            new = old
        self._window_left = max(1, new)
        self._window_full = self.in_flight >= new
        self._window_overload = False
        if why is not None and new != old:
            self.limit = new
            self.peak = max(self.peak, new)
            self._decide(new, why)
            self._wake()

    def _decide(self, limit: int, why: str) -> None:
        self.decisions.append(Decision(round(time.monotonic() - self._started, 2), limit, why))
        self.reasons[why] += 1

    async def _acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self._take()
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._window_full = True  # calls are waiting: the limit is what holds them
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.in_flight -= 1  # handed a slot while being cancelled: give it back
                self._wake()
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _take(self) -> None:
        self.in_flight += 1
        if self.in_flight >= self.limit:
            self._window_full = True

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._take()
                waiter.set_result(None)

    def record(self) -> dict[str, object]:
        """For the manifest: the limit now, its peak, why it changed and when (the last
        changes, at most 200)."""
        return {
            "mode": "auto" if self.adaptive else "fixed",
            "ceiling": self.ceiling,
            "limit": self.limit,
            "peak": self.peak,
            "changes": dict(self.reasons),
            "trace": [[d.at_s, d.limit, d.why] for d in self.decisions],
        }

"""Progress of a long run: a live bar on a terminal (dialogues, calls, tokens, errors, ETA),
plain log lines every few seconds otherwise, nothing at all in library use."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from factory.models import Usage


class Progress:
    """Silent base; `for_stream` picks the bar or the log lines."""

    unit = "dialogues"

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.started = 0.0
        self._already = 0
        self.note = ""  # set by the caller, shown at the end of the line (auto concurrency)

    @staticmethod
    def null() -> Progress:
        return Progress()

    @staticmethod
    def for_stream(stream: TextIO | None = None, unit: str = "dialogues") -> Progress:
        stream = stream or sys.stderr
        progress = BarProgress(stream) if stream.isatty() else LogProgress(stream)
        progress.unit = unit
        return progress

    def start(self, total: int, already: int) -> None:
        self.total, self.done, self._already = total, already, already
        self.started = time.monotonic()

    def advance(self, usage: Usage, errors: int) -> None:
        self.done += 1

    def stop(self) -> None:
        return None

    def eta_seconds(self) -> float | None:
        """None until a few items are done: the first ones carry the start-up (a model or an
        encoder loading) and gave ETAs a hundred times too long."""
        made = self.done - self._already
        if made < min(5, max(1, self.total - self._already)):
            return None
        rate = made / max(time.monotonic() - self.started, 1e-9)
        return (self.total - self.done) / rate

    def summary(self, usage: Usage, errors: int) -> str:
        eta = self.eta_seconds()
        eta_text = f"{eta:.0f}s" if eta is not None else "?"
        tokens = usage.prompt_tokens + usage.completion_tokens
        note = f" | {self.note}" if self.note else ""
        return (
            f"{self.done}/{self.total} {self.unit} | {usage.calls} calls | {tokens} tokens"
            f" | {errors} errors | ETA {eta_text}{note}"
        )


class LogProgress(Progress):
    """One line per interval (and one at the end) for logs and CI."""

    def __init__(self, stream: TextIO, interval_s: float = 10.0) -> None:
        super().__init__()
        self.stream = stream
        self.interval_s = interval_s
        self._last = 0.0

    def start(self, total: int, already: int) -> None:
        super().start(total, already)
        self._last = self.started  # the first line after one interval, not at the first item

    def advance(self, usage: Usage, errors: int) -> None:
        super().advance(usage, errors)
        now = time.monotonic()
        if now - self._last >= self.interval_s or self.done == self.total:
            self._last = now
            print(f"progress: {self.summary(usage, errors)}", file=self.stream, flush=True)


class BarProgress(Progress):
    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=Console(file=stream),
        )
        self._task = self._bar.add_task("dialogues", total=0, stats="")

    def start(self, total: int, already: int) -> None:
        super().start(total, already)
        self._bar.update(self._task, total=total, completed=already, description=self.unit)
        self._bar.start()

    def advance(self, usage: Usage, errors: int) -> None:
        super().advance(usage, errors)
        tokens = usage.prompt_tokens + usage.completion_tokens
        stats = f"{usage.calls} calls, {tokens} tokens, {errors} errors"
        if self.note:
            stats += f", {self.note}"
        self._bar.update(self._task, completed=self.done, stats=stats)

    def stop(self) -> None:
        self._bar.stop()


class StepCounter:
    """Counts and rate of one long step (reading, filtering, writing), said through `say`
    at most every `interval_s` seconds and once at the end when the step took that long:
    short steps say nothing."""

    def __init__(
        self,
        label: str,
        say: Callable[[str], None],
        interval_s: float = 10.0,
        unit: str = "dialogues",
    ) -> None:
        self.label, self.say, self.interval_s, self.unit = label, say, interval_s, unit
        self.count = 0
        self.started = self._last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if now - self._last >= self.interval_s:
            self._last = now
            self.say(self._line(now))

    def done(self) -> None:
        now = time.monotonic()
        if now - self.started >= self.interval_s:
            self.say(self._line(now) + ", done")

    def _line(self, now: float) -> str:
        seconds = max(now - self.started, 1e-9)
        return (
            f"{self.label}: {self.count:,} {self.unit} in {seconds:.0f}s"
            f" ({self.count / seconds:,.0f}/s)"
        )

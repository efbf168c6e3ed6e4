"""Progress of a long stage as one short line, published at a bounded rate.

A trial worker reports its stage (train step k/n, eval case k/n) through this; the sweep's driver
prints the latest line per running trial in log mode (Ray job logs, CI), where a live table cannot
repaint, so an epoch is not minutes of silence. Pure: a clock is injected for tests.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from orchestrator.errors import UsageError

# Where output is not a terminal (Ray job logs, CI, a pipe), a line per running stage at most this often.
LOG_EVERY_ENV = "TOOLSWEEP_PROGRESS_EVERY_S"
LOG_EVERY_DEFAULT_S = 30.0


def log_interval_s() -> float:
    """Seconds between progress lines in log mode: TOOLSWEEP_PROGRESS_EVERY_S, or 30. Read at each
    call, so a test or a user can set it after import; a value that is not a number ≥ 0 is one line."""
    raw = os.environ.get(LOG_EVERY_ENV, "").strip()
    if not raw:
        return LOG_EVERY_DEFAULT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise UsageError(f"{LOG_EVERY_ENV}={raw!r}: expected a number of seconds ≥ 0 (default {LOG_EVERY_DEFAULT_S:g})")
    return value


def _secs(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def progress_line(stage: str, done: int, total: int, elapsed_s: float) -> str:
    """'train step 12/40, 1m05s elapsed, ETA 2m32s' (the ETA assumes the rate so far holds)."""
    # No ETA before a second has passed: the rate of a first case that finished at once says nothing ("ETA 0s").
    eta = f", ETA {_secs(elapsed_s / done * (total - done))}" if 0 < done < total and elapsed_s >= 1 else ""
    return f"{stage} {done}/{total}, {_secs(elapsed_s)} elapsed{eta}"


class StageProgress:
    """Calls `publish(line)` at most every `min_interval_s` per stage, and always at a stage's start and end."""

    def __init__(self, publish: Callable[[str], None], min_interval_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.publish, self.min_interval_s, self.clock = publish, min_interval_s, clock
        self.stage: str | None = None
        self.started = self.last = 0.0

    def update(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        if stage != self.stage:
            self.stage, self.started, self.last = stage, now, float("-inf")
        if done >= total or done == 0 or now - self.last >= self.min_interval_s:
            self.last = now
            self.publish(progress_line(stage, done, total, now - self.started))


def case_lines(publish: Callable[[str], None], stage: str) -> Callable[[int, int], None]:
    """An eval's `on_case(done, total)` that publishes 'stage k/n, elapsed, ETA' lines through a plain
    line logger (promotion's), at most every TOOLSWEEP_PROGRESS_EVERY_S seconds and at the end: 96
    cases are minutes of work, and a log should not go quiet for them."""
    lines = StageProgress(publish, log_interval_s())
    return lambda done, total: lines.update(stage, done, total)

"""A progress bar for long runs on stderr: percent, objects, rows, MB/s and ETA; silent when
stderr is not a terminal (pipes, CI logs)."""

from __future__ import annotations

import bisect
import itertools
import sys
import time
from typing import Optional, Sequence, TextIO

_REDRAW_SECONDS = 0.2
_WIDTH = 24


class ProgressBar:
    """Call with ``(bytes_done, records_done)``; ``close()`` ends the line.

    ``start(sizes)`` (called by ``Transformer.transform`` once the inputs are listed) sets the
    total from the objects' sizes and adds an ``objects done/total`` count to the line.
    """

    def __init__(self, total_bytes: int = 0, stream: Optional[TextIO] = None, enabled: Optional[bool] = None):
        self.stream = stream or sys.stderr
        self.total = max(total_bytes, 1)
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.perf_counter()
        self._last = 0.0
        self._drawn = False
        self._ends: Optional[list[int]] = None  # cumulative object sizes, after start()
        self._done = self._records = 0

    def start(self, sizes: Sequence[int]) -> None:
        self._ends = list(itertools.accumulate(sizes))
        self.total = max(self._ends[-1] if self._ends else 0, 1)

    def __call__(self, done: int, records: int, *, force: bool = False) -> None:
        self._done, self._records = done, records
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < _REDRAW_SECONDS):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        frac = min(done / self.total, 1.0)
        filled = int(frac * _WIDTH)
        rate = done / elapsed / 1e6
        eta = max(self.total - done, 0) / (done / elapsed) if done else 0.0
        objects = ""
        if self._ends is not None:
            objects = f"{bisect.bisect_right(self._ends, done)}/{len(self._ends)} objects  "
        self.stream.write(
            f"\r{frac:4.0%} |{'█' * filled}{' ' * (_WIDTH - filled)}| {objects}"
            f"{records:,} rows  {rate:6.1f} MB/s  ETA {_clock(eta)} "
        )
        self.stream.flush()
        self._drawn = True

    def close(self, done: Optional[int] = None, records: Optional[int] = None) -> None:
        if self.enabled and self._drawn:
            self(
                self._done if done is None else done,
                self._records if records is None else records,
                force=True,
            )
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}"

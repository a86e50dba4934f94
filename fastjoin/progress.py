"""A progress bar for long runs on stderr: percent, rows, MB/s and ETA; silent when stderr is
not a terminal (pipes, CI logs)."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

_REDRAW_SECONDS = 0.2
_WIDTH = 24


class ProgressBar:
    """Call with ``(bytes_done, records_done)``; ``close()`` ends the line."""

    def __init__(self, total_bytes: int, stream: Optional[TextIO] = None, enabled: Optional[bool] = None):
        self.stream = stream or sys.stderr
        self.total = max(total_bytes, 1)
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.perf_counter()
        self._last = 0.0
        self._drawn = False

    def __call__(self, done: int, records: int, *, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last < _REDRAW_SECONDS):
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        frac = min(done / self.total, 1.0)
        filled = int(frac * _WIDTH)
        rate = done / elapsed / 1e6
        eta = (self.total - done) / (done / elapsed) if done else 0.0
        self.stream.write(f"\r{frac:4.0%} |{'█' * filled}{' ' * (_WIDTH - filled)}| "
                          f"{records:,} rows  {rate:6.1f} MB/s  ETA {_clock(eta)} ")
        self.stream.flush()
        self._drawn = True

    def close(self, done: int = 0, records: int = 0) -> None:
        if self.enabled and self._drawn:
            self(done, records, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}"

"""Progress events from long-running steps (calibration batches, training steps, export).

From a plain Python script nothing is reported unless a sink is installed; the
Java side installs one for the duration of each call so that its progress bars
follow the work. A sink is any callable taking one ``dict``.
"""

import contextlib
import time

__all__ = ["emit", "sink", "Reporter"]

_sink = None


def emit(phase, current, total=None, **metrics):
    """Report that ``phase`` reached ``current`` of ``total`` (``None`` if unknown)."""
    if _sink is None:
        return
    event = {"phase": str(phase), "current": int(current),
             "total": None if total is None else int(total), "time": time.time()}
    for key, value in metrics.items():
        try:
            event[key] = float(value)
        except (TypeError, ValueError):
            event[key] = str(value)
    _sink(event)


@contextlib.contextmanager
def sink(callback):
    """Install ``callback`` as the event sink inside the ``with`` block."""
    global _sink
    previous, _sink = _sink, callback
    try:
        yield
    finally:
        _sink = previous


class Reporter:
    """A callable handed to user training functions: ``progress(step, total, loss=...)``."""

    def __init__(self, phase, total=None):
        self.phase = phase
        self.total = total

    def __call__(self, current, total=None, **metrics):
        emit(self.phase, current, self.total if total is None else total, **metrics)

"""Progress events from long-running steps (calibration batches, training steps, export).

From a plain Python script nothing is reported unless a sink is installed; the
Java side installs one for the duration of each call so that its progress bars
follow the work. A sink is any callable taking one ``dict``.
"""

import contextlib
import time

__all__ = ["emit", "sink", "Reporter", "batch_total"]

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


def batch_total(batches, max_batches=None):
    """How many of ``batches`` a loop capped at ``max_batches`` will see: ``len(batches)`` (or
    ``None`` without one), at most ``max_batches``; the ``total`` of its progress events."""
    try:
        total = len(batches)
    except TypeError:
        total = None
    if max_batches is not None:
        total = int(max_batches) if total is None else min(total, int(max_batches))
    return total


@contextlib.contextmanager
def sink(callback):
    """Install ``callback`` as the event sink inside the ``with`` block."""
    global _sink
    previous, _sink = _sink, callback
    try:
        yield
    finally:
        _sink = previous


def _count(value, what, call):
    """``value`` as a non-negative int (ints, integral floats, numpy and 0-d tensor numbers), or DataError."""
    from quantbridge.errors import DataError

    number = value
    if not isinstance(number, (int, float)) and hasattr(number, "item"):
        try:
            number = number.item()      # a numpy or torch scalar
        except (TypeError, ValueError, RuntimeError):
            pass
    if isinstance(number, bool) or not isinstance(number, (int, float)) or number != number \
            or number in (float("inf"), float("-inf")) or int(number) != number or number < 0:
        msg = (f"{call}: the {what} must be a whole number >= 0, got {type(value).__name__} {value!r}; "
               f"call progress(step, total, **metrics), e.g. progress(i, n, loss=float(loss))")
        raise DataError(msg)
    return int(number)


class Reporter:
    """A callable handed to user training functions: ``progress(step, total, loss=...)``.

    ``step`` and ``total`` must be whole numbers (``total`` may be None); a call with anything
    else raises DataError naming the call. Metrics are numbers (or text).
    """

    def __init__(self, phase, total=None):
        self.phase = phase
        self.total = total

    def __call__(self, current, total=None, **metrics):
        args = ", ".join([repr(current)] + ([repr(total)] if total is not None else [])
                         + [f"{k}={v!r}" for k, v in metrics.items()])
        call = f"progress({args[:120]})"
        step = _count(current, "step", call)
        total = self.total if total is None else _count(total, "total", call)
        emit(self.phase, step, total, **metrics)

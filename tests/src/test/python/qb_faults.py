"""Training functions that misbehave on purpose, for the service-mode fault tests.

Each takes the quant model like a user's training function. They run only inside worker JVMs
(never in the test JVM): a crash here must end one worker and fail one job.
"""

import ctypes
import os
import time


def segfault(model, progress=None):
    """Dereferences a null pointer in native code (SIGSEGV)."""
    ctypes.string_at(0)


def hard_exit(model, progress=None):
    """Ends the process at once, as ``os._exit`` does: no Python clean-up, no exception."""
    os._exit(7)


def endless(model, progress=None):
    """Loops forever without reporting progress (only a kill can end it)."""
    n = 0
    while True:
        n += 1


def memory_blowup(model, chunk_mb=64, progress=None):
    """Allocates and touches memory until something stops it."""
    chunks = []
    while True:
        chunks.append(b"x" * (chunk_mb << 20))


def slow_train(model, steps=400, delay=0.05, progress=None):
    """A training loop that reports progress every step and takes ``steps * delay`` seconds."""
    import torch
    import torch.nn.functional as F

    from digitsnet import data

    loader = data.train_loader()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    step = 0
    while step < steps:
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if progress is not None:
                progress(step, steps, loss=float(loss))
            time.sleep(delay)
            if step >= steps:
                break
    return {"steps": step}


def swallowing_train(model, steps=400, delay=0.05, progress=None):
    """Like ``slow_train`` but wraps every step in ``except Exception`` (a stop must still get through)."""
    step = 0
    while step < steps:
        try:
            step += 1
            if progress is not None:
                progress(step, steps)
            time.sleep(delay)
        except Exception:   # noqa: BLE001 - the point of the test
            pass
    return {"steps": step}

"""User functions that fail the way real user code sometimes does, for the fault tests
(``tests/src/test/java/io/quantbridge/it/Fault*Test.java``): a segfault in native code, an abort,
a "Fatal Python error", a hard ``os._exit``, and functions that run until they are interrupted.
They are passed to the command line next to the example projects' own functions
(``-P tests/src/test/python``), and the training functions the service-mode fault tests run
inside worker JVMs (never in the test JVM: a crash there must end one worker and fail one job)."""

import ctypes
import os
import sys
import time


def segfault(*args, **kwargs):
    """Dereferences NULL in native code (what a broken extension module does)."""
    sys.stdout.flush()
    ctypes.string_at(0)


def abort(*args, **kwargs):
    """Aborts the process (SIGABRT), as ``os.abort()`` or a failed C ``assert`` in a library does."""
    sys.stdout.flush()
    os.abort()


def fatal_python_error(*args, **kwargs):
    """Stops the interpreter with a "Fatal Python error" (``Py_FatalError``: CPython's report on
    stderr, then abort()), as a broken extension module can."""
    sys.stdout.flush()
    ctypes.pythonapi.Py_FatalError(b"qb_faults: the interpreter state is broken")


def print_fatal_lookalike(batch_size=32, num_batches=8, rank=0, world_size=1):
    """Prints the words CPython's fatal errors start with, then yields the digits batches: not a crash."""
    sys.stderr.write("Fatal Python error: only words\n")
    sys.stderr.flush()
    from digitsnet import data

    return data.calibration_batches(batch_size, num_batches, rank, world_size)


def os_exit(*args, code=7, **kwargs):
    """Ends the process the hard way, as some scripts do."""
    os._exit(code)


def endless_batches(batch_size=32, **kwargs):
    """Digits batches (images, labels) for ever, slowly: calibration runs until interrupted."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    i = 0
    while True:
        lo = (i * batch_size) % (len(x) - batch_size)
        yield x[lo:lo + batch_size].reshape(-1, 1, 8, 8), digits.target[lo:lo + batch_size]
        i += 1
        if i == 1:
            print("qb_faults: endless batches started", flush=True)
        time.sleep(0.01)


def tf_long_run(sess, info, quant_flag=1, is_train_flag=True, progress=None, **kwargs):
    """A TensorFlow training function whose one ``Session.run`` takes minutes (a long while_loop):
    KeyboardInterrupt cannot reach Python while it runs."""
    import tensorflow as tf

    n = tf.constant(0, dtype=tf.int64)
    loop = tf.compat.v1.while_loop(lambda i: i < 10 ** 12, lambda i: i + 1, [n], back_prop=False)
    print("qb_faults: long Session.run started", flush=True)
    return {"iterations": float(sess.run(loop))}


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

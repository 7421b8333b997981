"""User functions that fail the way real user code sometimes does, for the fault tests
(``tests/src/test/java/io/quantbridge/it/Fault*Test.java``): a segfault in native code, a hard
``os._exit``, and functions that run until they are interrupted. They are passed to the command
line next to the example projects' own functions (``-P tests/src/test/python``).
"""

import ctypes
import os
import sys
import time


def segfault(*args, **kwargs):
    """Dereferences NULL in native code (what a broken extension module does)."""
    sys.stdout.flush()
    ctypes.string_at(0)


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

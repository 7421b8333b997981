"""Python helpers called by the runtime integration tests (user code stand-ins)."""

import sys

import numpy as np


def add(a, b):
    return a + b


def echo(value):
    return value


def describe(value):
    """Type and content summary of what arrived from Java."""
    if isinstance(value, np.ndarray):
        return {"type": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape),
                "sum": float(value.sum())}
    return {"type": type(value).__name__, "repr": repr(value)}


def scale_in_place(array, factor):
    """Multiplies a numpy view in place (proves a DirectNDArray shares Java memory)."""
    array *= factor
    return bool(array.flags["OWNDATA"])


def make_arrays():
    return {"f32": np.arange(6, dtype=np.float32).reshape(2, 3),
            "f64": np.linspace(0.0, 1.0, 5),
            "i64": np.array([1, -2, 3 ** 30], dtype=np.int64)}


def fail(message):
    def inner():
        raise ValueError(message)
    inner()


def exit_now(code):
    sys.exit(code)


class Counter:
    def __init__(self):
        self.n = 0

    def incr(self, k=1):
        self.n += k
        return self.n


def make_counter():
    return Counter()


def emit_progress(n):
    from quantbridge import progress
    for i in range(1, n + 1):
        progress.emit("work", i, n, loss=1.0 / i)
    return n


def torch_forward():
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 6 * 6, 3))
    with torch.no_grad():
        out = model(torch.ones(2, 1, 8, 8))
    return {"version": torch.__version__, "shape": list(out.shape), "finite": bool(torch.isfinite(out).all())}


def tf_forward():
    import tensorflow as tf
    tf.random.set_seed(0)
    layer = tf.keras.layers.Dense(3)
    out = layer(tf.ones((2, 5)))
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4])
        y = tf.reduce_sum(x * 2.0, axis=1)
        with tf.compat.v1.Session(graph=graph) as sess:
            graph_out = sess.run(y, {x: np.ones((2, 4), np.float32)})
    return {"version": tf.__version__, "shape": list(out.shape), "graph_sum": float(graph_out.sum())}

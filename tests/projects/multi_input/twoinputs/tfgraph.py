"""TensorFlow (tf.compat.v1 graph) digits models.

``build_graph(mask=...)``: ``images`` [N, 8, 8, 1] and a second input ``mask`` [N, 8, 8, 1] (with a
default of ones, or a plain placeholder without one); conv 3x3 (8) on the images and conv 3x3 (8)
on ``images * mask``, concatenated, max-pool 2, dense (10) -> ``logits``.

``build_flat()``: ``features/pixels`` [N, 64] (a 2-D input) -> dense (32) + ReLU -> dense (10) ->
``logits``, and ``probs`` (softmax) as a second output.
"""

import warnings

import numpy as np
import tensorflow as tf

from twoinputs import data

warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed", category=UserWarning)
warnings.filterwarnings("ignore", message=r".*`layer.apply` is deprecated", category=UserWarning)
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)


def build_graph(mask="default"):
    """The two-input graph; returns ``{"input", "mask", "output", "labels", "loss"}`` tensor names."""
    tf.compat.v1.set_random_seed(0)
    init = tf.compat.v1.glorot_uniform_initializer(seed=0)
    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    if mask == "default":
        m = tf.compat.v1.placeholder_with_default(tf.ones([1, 8, 8, 1]), [None, 8, 8, 1], name="mask")
    else:
        m = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name="mask")
    labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
    a = tf.nn.relu(tf.compat.v1.layers.conv2d(x, 8, 3, padding="same", kernel_initializer=init, name="conv_a"))
    b = tf.nn.relu(tf.compat.v1.layers.conv2d(x * m, 8, 3, padding="same", kernel_initializer=init, name="conv_b"))
    h = tf.reshape(tf.nn.max_pool2d(tf.concat([a, b], axis=-1), 2, 2, "VALID"), [-1, 4 * 4 * 16])
    logits = tf.identity(tf.compat.v1.layers.dense(h, 10, kernel_initializer=init, name="fc"), name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
    return {"input": x.name, "mask": m.name, "output": logits.name, "labels": labels.name, "loss": loss.name}


def build_flat():
    """The 2-D input graph with two outputs; returns ``{"input", "output", "labels", "loss"}``."""
    tf.compat.v1.set_random_seed(0)
    init = tf.compat.v1.glorot_uniform_initializer(seed=0)
    x = tf.compat.v1.placeholder(tf.float32, [None, 64], name="features/pixels")
    labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
    h = tf.nn.relu(tf.compat.v1.layers.dense(x, 32, kernel_initializer=init, name="fc1"))
    logits = tf.identity(tf.compat.v1.layers.dense(h, 10, kernel_initializer=init, name="fc2"), name="logits")
    tf.nn.softmax(logits, name="probs")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
    return {"input": x.name, "output": logits.name, "labels": labels.name, "loss": loss.name}


def create_float_checkpoint(prefix, graph="two", epochs=2):
    """Train ``build_graph`` (``graph="two"``, the mask fed as ones) or ``build_flat`` (``"flat"``)
    from scratch with Adam and save a checkpoint at ``prefix``; returns the test accuracy in percent."""
    tf.compat.v1.disable_v2_behavior()
    layout = "flat" if graph == "flat" else "nhwc"
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        info = build_flat() if graph == "flat" else build_graph(mask="plain")
        g = sess.graph
        tensors = {k: g.get_tensor_by_name(info[k]) for k in info}
        op = tf.compat.v1.train.AdamOptimizer(3e-3).minimize(tensors["loss"])
        sess.run(tf.compat.v1.global_variables_initializer())

        def feed(x, y=None):
            out = {tensors["input"]: x}
            if "mask" in tensors:
                out[tensors["mask"]] = np.ones_like(x)
            if y is not None:
                out[tensors["labels"]] = y
            return out

        for _ in range(epochs):
            for x, y in data.batches(layout, num_batches=47):
                sess.run(op, feed(x, y))
        (x, y), = data.batches(layout, batch_size=300, num_batches=1, split="test")
        accuracy = float((sess.run(tensors["output"], feed(x)).argmax(1) == y).mean() * 100)
        tf.compat.v1.train.Saver().save(sess, str(prefix), write_meta_graph=False)
    return accuracy

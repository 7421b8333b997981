"""The TensorFlow demo's "user code": the digits CNN as a TF1-style graph (tf.compat.v1.Session).

Written the way a user's own TF 1.x project would be: a graph builder, a training loop,
calibration data and an evaluation. Nothing here imports QuantBridge except for progress
events. Call ``tf.compat.v1.disable_v2_behavior()`` once before ``build_graph`` (reference
variables and v1 control flow, as in TF 1.x). Everything is seeded: the same calls give the
same numbers.

Data: the same as ``digits_torch``: ``sklearn.datasets.load_digits`` scaled to [0, 1] and
normalised with the training split's mean and std, as ``N x 8 x 8 x 1`` float32 (NHWC);
stratified split (random_state=0) keeping 360 images for testing.

Quantized runs: after the caller created the vendor's ``quant_flag`` / ``is_train_flag``
placeholders it records their names in ``graph_info["quant_flag"]`` and
``graph_info["is_train_flag"]``; ``train``, ``calibrate`` and ``evaluate`` then feed them.
"""

import warnings

import numpy as np
import tensorflow as tf

from quantbridge import progress as qb_progress
from quantbridge.examples import digits_data

# A TF 1.x project on TF 2.8 triggers deprecation notices for every tf.compat.v1.layers call;
# they say nothing about this example, so it keeps them quiet.
warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed", category=UserWarning)
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

__all__ = ["SEED", "TEST_SIZE", "INPUT_NAME", "OUTPUT_NAME", "load_data", "build_graph", "train_float",
           "calibration_batches", "calibrate", "train", "evaluate", "predict", "test_inputs"]

SEED = digits_data.SEED
TEST_SIZE = digits_data.TEST_SIZE
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
_TRAIN_OP = "digits_tf_train_op"


def load_data():
    """``{"x_train", "y_train", "x_test", "y_test"}`` as numpy arrays (copies), NHWC."""
    return digits_data.load("NHWC")


def build_graph():
    """Build the float model in the default graph; return the names of its tensors.

    conv 3x3 (16) + BN + ReLU, depthwise 3x3 + BN + ReLU, pointwise conv (32) + BN + ReLU,
    2x2 max-pool, flatten, dense (10) -> ``logits``. BatchNorm is
    ``tf.compat.v1.layers.batch_normalization`` driven by the ``is_training`` placeholder
    (default False).
    """
    tf.compat.v1.set_random_seed(SEED)
    init = tf.compat.v1.glorot_uniform_initializer(seed=SEED)
    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name=INPUT_NAME)
    labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
    is_training = tf.compat.v1.placeholder_with_default(False, [], name="is_training")
    h = tf.compat.v1.layers.conv2d(x, 16, 3, padding="same", use_bias=False, kernel_initializer=init, name="conv1")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=is_training, name="bn1"))
    with tf.compat.v1.variable_scope("dw"):
        kernel = tf.compat.v1.get_variable("depthwise_kernel", [3, 3, 16, 1], initializer=init)
        h = tf.nn.depthwise_conv2d(h, kernel, [1, 1, 1, 1], "SAME", name="depthwise")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=is_training, name="bn2"))
    h = tf.compat.v1.layers.conv2d(h, 32, 1, use_bias=False, kernel_initializer=init, name="pw")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=is_training, name="bn3"))
    h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    h = tf.reshape(h, [-1, 4 * 4 * 32])
    h = tf.compat.v1.layers.dense(h, 10, kernel_initializer=init, name="fc")
    logits = tf.identity(h, name=OUTPUT_NAME)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
    return {"input": x.name, "labels": labels.name, "is_training": is_training.name, "logits": logits.name,
            "loss": loss.name}


def _tensor(graph, name):
    return name if isinstance(name, tf.Tensor) else graph.get_tensor_by_name(name if ":" in name else f"{name}:0")


def _feed(graph, graph_info, quant_flag=None, is_train_flag=None, feed_extra=None):
    feed = {}
    for key, value in (("quant_flag", quant_flag), ("is_train_flag", is_train_flag)):
        if value is None:
            continue
        if key not in graph_info:
            msg = f"graph_info has no {key!r}: record the placeholder's name there after creating it"
            raise ValueError(msg)
        feed[_tensor(graph, graph_info[key])] = value
    for key, value in (feed_extra or {}).items():
        feed[_tensor(graph, key)] = value
    return feed


def _train_op(graph, graph_info):
    """One Adam train op per graph, built on first use (after any graph rewrite)."""
    found = graph.get_collection(_TRAIN_OP)
    if found:
        return found[0], found[1]
    with graph.as_default():
        lr = tf.compat.v1.placeholder_with_default(np.float32(1e-3), [], name="learning_rate")
        with tf.control_dependencies(graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
            op = tf.compat.v1.train.AdamOptimizer(lr).minimize(_tensor(graph, graph_info["loss"]), name="train")
    graph.add_to_collection(_TRAIN_OP, op)
    graph.add_to_collection(_TRAIN_OP, lr)
    return op, lr


def _init_uninitialized(sess):
    names = {n.decode() if isinstance(n, bytes) else n
             for n in sess.run(tf.compat.v1.report_uninitialized_variables())}
    if names:
        variables = [v for v in sess.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
                     + sess.graph.get_collection(tf.compat.v1.GraphKeys.LOCAL_VARIABLES) if v.op.name in names]
        sess.run(tf.compat.v1.variables_initializer(variables))


def _fit(sess, graph_info, epochs, lr, batch_size, progress, feed, seed):
    graph = sess.graph
    train_op, lr_tensor = _train_op(graph, graph_info)
    _init_uninitialized(sess)
    data = load_data()
    x, y = data["x_train"], data["y_train"]
    x_t, y_t, loss_t = (_tensor(graph, graph_info[k]) for k in ("input", "labels", "loss"))
    training = _tensor(graph, graph_info["is_training"])
    rng = np.random.RandomState(seed)
    steps = (len(x) + batch_size - 1) // batch_size
    total, step, loss_sum = epochs * steps, 0, 0.0
    report = progress if progress is not None else qb_progress.Reporter("train")
    for _ in range(epochs):
        order = rng.permutation(len(x))
        loss_sum = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            run_feed = {**feed, x_t: x[index], y_t: y[index], training: True, lr_tensor: lr}
            _, loss = sess.run([train_op, loss_t], feed_dict=run_feed)
            step += 1
            loss_sum += float(loss)
            report(step, total, loss=float(loss))
    return {"loss": loss_sum / steps, "steps": step}


def train_float(sess, graph_info, epochs=12, progress=None, lr=3e-3, batch_size=32):
    """Train the float model from scratch with Adam (initialises what is not initialised yet)."""
    return _fit(sess, graph_info, epochs, lr, batch_size, progress, {}, SEED)


def train(sess, graph_info, quant_flag, is_train_flag, epochs=2, progress=None, lr=1e-4, batch_size=32):
    """Training with the vendor's flags fed (QAT: ``quant_flag=1, is_train_flag=True``)."""
    feed = _feed(sess.graph, graph_info, quant_flag, is_train_flag)
    return _fit(sess, graph_info, epochs, lr, batch_size, progress, feed, SEED + 1)


def calibration_batches(batch_size=64, num_batches=8):
    """``num_batches`` input arrays from the training split (a fixed sample)."""
    x = load_data()["x_train"]
    order = np.random.default_rng(SEED).permutation(len(x))[:batch_size * num_batches]
    return [x[order[i:i + batch_size]] for i in range(0, len(order), batch_size)]


def calibrate(sess, graph_info, quant_flag=1, is_train_flag=False, progress=None, batches=None):
    """Forward passes over the calibration batches (BatchNorm in inference mode)."""
    graph = sess.graph
    batches = calibration_batches() if batches is None else batches
    feed = _feed(graph, graph_info, quant_flag, is_train_flag)
    x_t, logits = _tensor(graph, graph_info["input"]), _tensor(graph, graph_info["logits"])
    report = progress if progress is not None else qb_progress.Reporter("calibrate")
    for i, batch in enumerate(batches, 1):
        sess.run(logits, feed_dict={**feed, x_t: batch})
        report(i, len(batches))
    return len(batches)


def predict(sess, graph_info, x, feed_extra=None):
    """Logits (numpy) for the batch ``x`` in inference mode; ``feed_extra`` maps names to values."""
    graph = sess.graph
    feed = _feed(graph, graph_info, feed_extra=feed_extra)
    feed[_tensor(graph, graph_info["input"])] = np.asarray(x, dtype=np.float32)
    return sess.run(_tensor(graph, graph_info["logits"]), feed_dict=feed)


def test_inputs():
    """The test images, ``360 x 8 x 8 x 1`` float32."""
    return load_data()["x_test"]


def evaluate(sess, graph_info, feed_extra=None):
    """Top-1 accuracy on the test split, in percent (``feed_extra``: e.g. the vendor's flags)."""
    data = load_data()
    logits = predict(sess, graph_info, data["x_test"], feed_extra)
    return float((logits.argmax(axis=1) == data["y_test"]).mean() * 100.0)

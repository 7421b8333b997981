"""TensorFlow data, training and evaluation functions that each break one rule (the graph and the
good parts come from the example project, ``digitsgraph``)."""

import sys

import numpy as np
import tensorflow as tf

from digitsgraph import data as digits_data
from digitsgraph import graph as digits_graph
from digitsgraph import train as digits_train


def nan_checkpoint(prefix, epochs=1):
    """A float checkpoint whose first conv weight holds a NaN (a damaged or diverged model)."""
    tf.compat.v1.disable_v2_behavior()
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        digits_graph.build_graph()
        sess.run(tf.compat.v1.global_variables_initializer())
        kernel = [v for v in tf.compat.v1.global_variables() if v.op.name == "conv1/kernel"][0]
        value = sess.run(kernel)
        value[0, 0, 0, 0] = np.nan
        kernel.load(value, sess)
        tf.compat.v1.train.Saver().save(sess, str(prefix), write_meta_graph=False)
    return str(prefix)


def diverging_train(sess, info, quant_flag=None, is_train_flag=None, progress=None):
    """Plain SGD with a learning rate far too high: the weights overflow within a few steps."""
    graph = sess.graph
    loss = graph.get_tensor_by_name(info["loss"])
    op = tf.compat.v1.train.GradientDescentOptimizer(1e30).minimize(loss)
    x, y = digits_data.splits()[:2]
    feed = {graph.get_tensor_by_name(info["quant_flag"]): quant_flag,
            graph.get_tensor_by_name(info["is_train_flag"]): bool(is_train_flag)}
    for i in range(6):
        sess.run(op, feed_dict={**feed, graph.get_tensor_by_name(info["input"]): x[i * 32:(i + 1) * 32],
                                graph.get_tensor_by_name(info["labels"]): y[i * 32:(i + 1) * 32]})
    return {"steps": 6}


def nan_weights_train(sess, info, quant_flag=None, is_train_flag=None):
    kernel = [v for v in tf.compat.v1.global_variables() if v.op.name == "fc/kernel"][0]
    value = sess.run(kernel)
    value[:] = np.nan
    kernel.load(value, sess)


def progress_string_train(sess, info, quant_flag=None, is_train_flag=None, progress=None):
    progress("a")


def raising_train(sess, info, quant_flag=None, is_train_flag=None):
    raise RuntimeError("training failed on purpose")


def exiting_train(sess, info, quant_flag=None, is_train_flag=None):
    sys.exit(4)


def eval_string(sess, info, quant_flag=None, is_train_flag=False):
    return "high"


def eval_nan(sess, info, quant_flag=None, is_train_flag=False):
    return float("nan")


def raising_data():
    raise ValueError("the data function failed on purpose")


def returns_none():
    return None


def yields_none():
    yield None


def empty_list():
    return []


def nan_batches():
    x = digits_data.splits()[0][:32].copy()
    x[0, 0, 0, 0] = np.nan
    return [x]


def half_batches():
    return [digits_data.splits()[0][:32].astype(np.float16)]


def wrong_rank():
    return [digits_data.splits()[0][:32, :, :, 0]]


def zero_batch_size():
    return [digits_data.splits()[0][:0]]


def raising_graph():
    raise RuntimeError("the graph builder failed on purpose")


def graph_without_info():
    digits_graph.build_graph()
    return None


def graph_without_layers():
    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    return {"input": x.name, "output": tf.identity(x, name="out").name}


def graph_with_lgamma():
    """The example graph with ``Lgamma`` on its output path: it quantizes and freezes, but tf2onnx
    1.14 has no conversion for ``Lgamma``."""
    info = digits_graph.build_graph()
    logits = tf.compat.v1.get_default_graph().get_tensor_by_name(info["output"])
    info["output"] = tf.identity(tf.math.lgamma(tf.abs(logits) + 1.0), name="lgamma_logits").name
    return info


def nan_copy_of_checkpoint(source, prefix):
    """A copy of the checkpoint ``source`` whose first float kernel holds a NaN."""
    tf.compat.v1.disable_v2_behavior()
    reader = tf.train.load_checkpoint(str(source))
    dtypes = reader.get_variable_to_dtype_map()
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        variables = []
        poisoned = False
        for name in sorted(dtypes):
            value = reader.get_tensor(name)
            if not poisoned and name.endswith("kernel") and dtypes[name].is_floating:
                value = value.copy()
                value.flat[0] = np.nan
                poisoned = True
            variables.append(tf.compat.v1.Variable(value, name=name))
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver(variables).save(sess, str(prefix), write_meta_graph=False)
    return str(prefix)

"""Training and evaluation in a session (float graph, or the quantized graph with the vendor's flags)."""

import numpy as np
import tensorflow as tf

from digitsgraph import data, graph as graph_lib

_TRAIN = "digitsgraph_train"


def _feed(sess, info, quant_flag, is_train_flag):
    """The vendor's two flags, when the graph has them (``info`` names their placeholders)."""
    feed = {}
    if quant_flag is not None and "quant_flag" in info:
        feed[sess.graph.get_tensor_by_name(info["quant_flag"])] = quant_flag
        feed[sess.graph.get_tensor_by_name(info["is_train_flag"])] = bool(is_train_flag)
    return feed


def _train_op(sess, info, lr):
    """One Adam step op per graph (created on first use, then only its new variables initialised)."""
    graph = sess.graph
    found = graph.get_collection(_TRAIN)
    if found:
        return found[0]
    with tf.control_dependencies(graph.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)):
        op = tf.compat.v1.train.AdamOptimizer(lr).minimize(graph.get_tensor_by_name(info["loss"]))
    graph.add_to_collection(_TRAIN, op)
    uninitialized = {n.decode() for n in sess.run(tf.compat.v1.report_uninitialized_variables())}
    sess.run(tf.compat.v1.variables_initializer(
        [v for v in tf.compat.v1.global_variables() if v.op.name in uninitialized]))
    return op


def train(sess, info, quant_flag=None, is_train_flag=None, epochs=1, lr=1e-3, batch_size=32, progress=None):
    """Adam over the graph's loss; ``progress(step, total, loss=...)`` after each step.

    Returns ``{"loss": mean loss of the last epoch, "steps": steps}``.
    """
    graph = sess.graph
    op = _train_op(sess, info, lr)
    x, y = data.splits()[:2]
    tensors = [graph.get_tensor_by_name(info[k]) for k in ("input", "labels", "training", "loss")]
    flags = _feed(sess, info, quant_flag, is_train_flag)
    rng = np.random.RandomState(1)
    steps = (len(x) + batch_size - 1) // batch_size
    step = 0
    for _ in range(epochs):
        order, losses = rng.permutation(len(x)), []
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            feed = {**flags, tensors[0]: x[index], tensors[1]: y[index], tensors[2]: True}
            _, loss = sess.run([op, tensors[3]], feed_dict=feed)
            step += 1
            losses.append(float(loss))
            if progress is not None:
                progress(step, epochs * steps, loss=float(loss))
    return {"loss": sum(losses) / len(losses), "steps": step}


def evaluate(sess, info, quant_flag=None, is_train_flag=False):
    """Top-1 accuracy on the test split, in percent."""
    _, _, x, y = data.splits()
    feed = {**_feed(sess, info, quant_flag, is_train_flag), sess.graph.get_tensor_by_name(info["input"]): x}
    logits = sess.run(sess.graph.get_tensor_by_name(info["output"]), feed_dict=feed)
    return float((logits.argmax(axis=1) == y).mean() * 100.0)


def create_float_checkpoint(prefix, epochs=3):
    """Train the float graph from scratch and save a checkpoint at ``prefix``; return its accuracy."""
    tf.compat.v1.disable_v2_behavior()
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        info = graph_lib.build_graph()
        sess.run(tf.compat.v1.global_variables_initializer())
        train(sess, info, epochs=epochs, lr=3e-3)
        accuracy = evaluate(sess, info)
        tf.compat.v1.train.Saver().save(sess, str(prefix), write_meta_graph=False)
    return accuracy


if __name__ == "__main__":
    import sys

    print(f"accuracy {create_float_checkpoint(sys.argv[1] if len(sys.argv) > 1 else 'float.ckpt'):.2f}%")

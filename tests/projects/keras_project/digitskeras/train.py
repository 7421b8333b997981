"""Training and evaluation in a session (float graph, or the quantized graph with the vendor's flags).

The image size and channels come from the graph's input tensor, so the same functions serve
the 8x8 models and the 32x32 keras.applications ones.
"""

import warnings

import numpy as np
import tensorflow as tf

from digitskeras import data, model as model_lib

_TRAIN = "digitskeras_train"
_LOSS = "digitskeras_loss"


def _feed(sess, info, quant_flag, is_train_flag):
    """The vendor's two flags, when the graph has them (``info`` names their placeholders)."""
    feed = {}
    if quant_flag is not None and "quant_flag" in info:
        feed[sess.graph.get_tensor_by_name(info["quant_flag"])] = quant_flag
        feed[sess.graph.get_tensor_by_name(info["is_train_flag"])] = bool(is_train_flag)
    return feed


def info_of(built):
    """The builder's dict, or for a builder that returns the Keras model, the same names
    QuantBridge derives from it (used when this project runs on its own)."""
    if isinstance(built, dict):
        return built
    with warnings.catch_warnings():     # Model.updates is deprecated for eager code; graph code needs it
        warnings.simplefilter("ignore")
        updates = [getattr(u, "op", u).name for u in built.updates]
    return {"input": built.inputs[0].name, "output": built.outputs[0].name,
            "training": tf.keras.backend.learning_phase().name, "updates": updates}


def _splits(sess, info):
    shape = sess.graph.get_tensor_by_name(info["input"]).shape
    return data.splits(int(shape[1]), int(shape[3]))


def _loss(sess, info):
    """(labels placeholder, loss): the builder's, or made once per graph from the logits."""
    graph = sess.graph
    if "loss" in info:
        return graph.get_tensor_by_name(info["labels"]), graph.get_tensor_by_name(info["loss"])
    found = graph.get_collection(_LOSS)
    if not found:
        with graph.as_default():
            labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
            logits = graph.get_tensor_by_name(info["output"])
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        found = [labels, loss]
        for tensor in found:
            graph.add_to_collection(_LOSS, tensor)
    return found[0], found[1]


def _train_op(sess, info, lr):
    """One Adam step op per graph, after the BatchNormalization updates (created on first use,
    then only its own new variables initialised)."""
    graph = sess.graph
    found = graph.get_collection(_TRAIN)
    if found:
        return found[0]
    updates = [graph.get_operation_by_name(name) for name in info.get("updates", [])]
    with graph.as_default(), tf.control_dependencies(updates):
        op = tf.compat.v1.train.AdamOptimizer(lr).minimize(_loss(sess, info)[1])
    graph.add_to_collection(_TRAIN, op)
    uninitialized = {n.decode() for n in sess.run(tf.compat.v1.report_uninitialized_variables())}
    sess.run(tf.compat.v1.variables_initializer(
        [v for v in tf.compat.v1.global_variables() if v.op.name in uninitialized]))
    return op


def train(sess, info, quant_flag=None, is_train_flag=None, epochs=1, lr=1e-3, batch_size=32, max_steps=0,
          progress=None):
    """Adam over the graph's loss with Keras' learning phase on (BatchNormalization on batch
    statistics, dropout active); ``progress(step, total, loss=...)`` after each step.
    ``max_steps`` > 0 stops early. Returns ``{"loss": mean loss of the last epoch, "steps": steps}``."""
    graph = sess.graph
    op = _train_op(sess, info, lr)
    x, y = _splits(sess, info)[:2]
    labels, loss_t = _loss(sess, info)
    tensors = [graph.get_tensor_by_name(info["input"]), labels, graph.get_tensor_by_name(info["training"]), loss_t]
    flags = _feed(sess, info, quant_flag, is_train_flag)
    rng = np.random.RandomState(1)
    steps = (len(x) + batch_size - 1) // batch_size
    total = epochs * steps if not max_steps else min(max_steps, epochs * steps)
    step, losses = 0, []
    for _ in range(epochs):
        order, losses = rng.permutation(len(x)), []
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            feed = {**flags, tensors[0]: x[index], tensors[1]: y[index], tensors[2]: True}
            _, loss = sess.run([op, tensors[3]], feed_dict=feed)
            step += 1
            losses.append(float(loss))
            if progress is not None:
                progress(step, total, loss=float(loss))
            if step == total:
                return {"loss": sum(losses) / len(losses), "steps": step}
    return {"loss": sum(losses) / len(losses), "steps": step}


def predict(sess, info, x, quant_flag=None, is_train_flag=False):
    """The logits for ``x`` in inference mode."""
    feed = {**_feed(sess, info, quant_flag, is_train_flag), sess.graph.get_tensor_by_name(info["input"]): x}
    return sess.run(sess.graph.get_tensor_by_name(info["output"]), feed_dict=feed)


def evaluate(sess, info, quant_flag=None, is_train_flag=False):
    """Top-1 accuracy on the test split, in percent."""
    _, _, x, y = _splits(sess, info)
    return float((predict(sess, info, x, quant_flag, is_train_flag).argmax(axis=1) == y).mean() * 100.0)


def create_float_checkpoint(prefix, builder="build_functional", epochs=3, lr=3e-3, max_steps=0, **model_args):
    """Train ``model.<builder>(**model_args)`` from scratch and save a checkpoint at ``prefix``;
    return its test accuracy."""
    tf.compat.v1.disable_v2_behavior()
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        info = info_of(getattr(model_lib, builder)(**model_args))
        sess.run(tf.compat.v1.global_variables_initializer())
        train(sess, info, epochs=epochs, lr=lr, max_steps=max_steps)
        accuracy = evaluate(sess, info)
        tf.compat.v1.train.Saver().save(sess, str(prefix), write_meta_graph=False)
    return accuracy


if __name__ == "__main__":
    import sys

    print(f"accuracy {create_float_checkpoint(sys.argv[1] if len(sys.argv) > 1 else 'float.ckpt'):.2f}%")

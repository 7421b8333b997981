"""A PyTorch "user project" with one DELIBERATELY FRAGILE layer, for the sensitivity tests.

An MLP 64 -> 64 -> 64 -> 10 on scikit-learn's digits (trained by scikit-learn, seeded). One
hidden unit of ``fc1`` is then scaled up by ``OUTLIER`` (weights and bias) and the matching input
column of ``fc2`` down by the same factor: ReLU is positively homogeneous, so the float model
computes the same function, but ``fc2``'s input holds a channel with enormous values and its
min-max uint8 range leaves every other channel at zero or one step. Quantizing ``fc2`` destroys
the model; ``fc1`` and ``fc3`` quantize fine. The same model exists as a TF1 graph
(``build_tf_graph``, ``save_tf_checkpoint``); each framework is imported only where it is used.
"""

import warnings

import numpy as np

OUTLIER = 1000.0
FRAGILE = "fc2/MatMul"
INPUT_SHAPE = "x:1,64"
_cache = {}


def _trained():
    if "weights" not in _cache:
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import train_test_split
        from sklearn.neural_network import MLPClassifier

        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)
        x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=360,
                                                            stratify=digits.target, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier((64, 64), max_iter=200, random_state=0).fit(x_train, y_train)
        weights = [(w.astype(np.float32).copy(), b.astype(np.float32).copy())
                   for w, b in zip(mlp.coefs_, mlp.intercepts_)]
        unit = int(np.argmax(np.maximum(x_train @ weights[0][0] + weights[0][1], 0.0).mean(axis=0)))
        weights[0][0][:, unit] *= OUTLIER
        weights[0][1][unit] *= OUTLIER
        weights[1][0][unit, :] /= OUTLIER
        _cache.update(weights=weights, x_train=x_train, x_test=x_test, y_test=y_test)
    return _cache


def _mlp_class():
    """``FragileMLP`` (``fc1``, ``fc2``, ``fc3``), defined on first use so that TF users never import torch."""
    if "mlp" not in _cache:
        import torch
        from torch import nn

        class FragileMLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1, self.fc2, self.fc3 = nn.Linear(64, 64), nn.Linear(64, 64), nn.Linear(64, 10)

            def forward(self, x):
                x = torch.relu(self.fc1(torch.flatten(x, 1)))
                return self.fc3(torch.relu(self.fc2(x)))

        _cache["mlp"] = FragileMLP
    return _cache["mlp"]


def build_model():
    """The model factory: a fresh MLP with the trained (fragile) float weights."""
    import torch

    model = _mlp_class()()
    with torch.no_grad():
        for layer, (w, b) in zip((model.fc1, model.fc2, model.fc3), _trained()["weights"]):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    return model.eval()


def calibration_batches(batch_size=64, num_batches=4):
    """A fixed sample of training inputs, as tensors."""
    import torch

    x = _trained()["x_train"]
    order = np.random.default_rng(0).permutation(len(x))[:batch_size * num_batches]
    return [torch.from_numpy(x[order[i:i + batch_size]]) for i in range(0, len(order), batch_size)]


def evaluate(model):
    """Top-1 accuracy on the test split, in percent."""
    import torch

    data = _trained()
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(data["x_test"]))
    return float((logits.argmax(1).numpy() == data["y_test"]).mean() * 100.0)


def evaluate_dict(model):
    """The same accuracy as a dict with an ``accuracy`` entry (the project commands accept both)."""
    return {"accuracy": evaluate(model), "samples": len(_trained()["y_test"])}


# -- the same model as a TF1-style graph (TensorFlow imported only here) --------------------------------
def build_tf_graph():
    """The graph builder: the MLP with zero-initialised variables (weights come from the checkpoint)."""
    import tensorflow as tf

    x = tf.compat.v1.placeholder(tf.float32, [None, 64], name="x")
    h = x
    for i, width in enumerate((64, 64, 10), 1):
        with tf.compat.v1.variable_scope(f"fc{i}"):
            w = tf.compat.v1.get_variable("kernel", [h.shape[1], width], initializer=tf.compat.v1.zeros_initializer())
            b = tf.compat.v1.get_variable("bias", [width], initializer=tf.compat.v1.zeros_initializer())
            h = tf.nn.bias_add(tf.matmul(h, w, name="MatMul"), b)
        if i < 3:
            h = tf.nn.relu(h)
    logits = tf.identity(h, name="logits")
    return {"input": x.name, "output": logits.name}


def save_tf_checkpoint(prefix):
    """Write the float checkpoint of the TF graph with the fragile weights; returns its prefix."""
    import tensorflow as tf

    tf.compat.v1.disable_v2_behavior()
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        build_tf_graph()
        sess.run(tf.compat.v1.global_variables_initializer())
        variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
        for i, (w, b) in enumerate(_trained()["weights"], 1):
            variables[f"fc{i}/kernel"].load(w, sess)
            variables[f"fc{i}/bias"].load(b, sess)
        return tf.compat.v1.train.Saver().save(sess, str(prefix), write_meta_graph=False)


def tf_batches(batch_size=64, num_batches=4):
    """The calibration sample as numpy arrays."""
    x = _trained()["x_train"]
    order = np.random.default_rng(0).permutation(len(x))[:batch_size * num_batches]
    return [x[order[i:i + batch_size]] for i in range(0, len(order), batch_size)]


def tf_evaluate(sess, info, quant_flag=None, is_train_flag=False):
    """Top-1 % on the test split, as the project commands call it: ``quant_flag`` 1 or 0 and
    ``is_train_flag`` fed to the vendor's placeholders that ``info`` names, when the graph has them."""
    graph = sess.graph
    feed = {graph.get_tensor_by_name(info["input"]): _trained()["x_test"]}
    if quant_flag is not None and "quant_flag" in info:
        feed[graph.get_tensor_by_name(info["quant_flag"])] = quant_flag
        feed[graph.get_tensor_by_name(info["is_train_flag"])] = bool(is_train_flag)
    logits = sess.run(graph.get_tensor_by_name(info["output"]), feed_dict=feed)
    return float((logits.argmax(1) == _trained()["y_test"]).mean() * 100.0)

"""The graph: two conv blocks and a dense layer, built in the default graph (no weights loaded)."""

import warnings

import tensorflow as tf

# tf.compat.v1.layers work on TF 2.8 but warn on every call; nothing to act on in this project.
warnings.filterwarnings("ignore", message=r".*is deprecated and will be removed", category=UserWarning)
warnings.filterwarnings("ignore", message=r".*`layer.apply` is deprecated", category=UserWarning)
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

SEED = 0


def build_graph():
    """Build the float model; return the names of the tensors the other functions use.

    ``images`` [N, 8, 8, 1] -> conv 3x3 (8) + BN + ReLU -> conv 3x3 (16) + BN + ReLU -> max-pool 2
    -> dense (10) -> ``logits``. BatchNorm follows the ``training`` placeholder (default False).
    """
    tf.compat.v1.set_random_seed(SEED)
    init = tf.compat.v1.glorot_uniform_initializer(seed=SEED)
    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name="images")
    labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
    training = tf.compat.v1.placeholder_with_default(False, [], name="training")
    h = tf.compat.v1.layers.conv2d(x, 8, 3, padding="same", use_bias=False, kernel_initializer=init, name="conv1")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=training, name="bn1"))
    h = tf.compat.v1.layers.conv2d(h, 16, 3, padding="same", use_bias=False, kernel_initializer=init, name="conv2")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=training, name="bn2"))
    h = tf.nn.max_pool2d(h, 2, 2, "VALID")
    h = tf.reshape(h, [-1, 4 * 4 * 16])
    logits = tf.identity(tf.compat.v1.layers.dense(h, 10, kernel_initializer=init, name="fc"), name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
    return {"input": x.name, "output": logits.name, "labels": labels.name, "training": training.name,
            "loss": loss.name}

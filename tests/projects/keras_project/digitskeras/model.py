"""The models, built with tf.keras layers in the default graph (no weights loaded).

``build_functional`` and ``build_application`` return the tensor names the other functions
use: ``input``, ``output`` (the logits), ``labels``, ``loss``, ``training`` (Keras'
learning-phase placeholder, default False) and ``updates`` (the BatchNormalization
moving-statistics updates, run by the training loop). ``build_sequential`` returns the
``tf.keras.Model`` itself, as much Keras code does; QuantBridge then derives ``input``,
``output``, ``training`` and ``updates`` from it, and ``train`` adds the labels and the loss.
"""

import warnings

import tensorflow as tf

keras = tf.keras
layers = tf.keras.layers
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)

SEED = 0


def _info(model):
    labels = tf.compat.v1.placeholder(tf.int64, [None], name="labels")
    logits = model.output
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), name="loss")
    with warnings.catch_warnings():     # Model.updates is deprecated for eager code; graph code needs it
        warnings.simplefilter("ignore")
        updates = [getattr(u, "op", u).name for u in model.updates]
    return {"input": model.input.name, "output": logits.name, "labels": labels.name, "loss": loss.name,
            "training": keras.backend.learning_phase().name, "updates": updates}


def build_functional(width=16):
    """Functional API: conv 3x3 + BN + ReLU, a residual block (depthwise 3x3 + BN + ReLU,
    pointwise conv + BN, added to its input), max-pool, dropout, dense (10) ``logits``."""
    tf.compat.v1.set_random_seed(SEED)
    inputs = keras.Input(shape=(8, 8, 1), name="images")
    h = layers.Conv2D(width, 3, padding="same", use_bias=False, name="stem")(inputs)
    h = layers.ReLU(name="stem_relu")(layers.BatchNormalization(momentum=0.9, name="stem_bn")(h))
    r = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(h)
    r = layers.ReLU(name="dw_relu")(layers.BatchNormalization(momentum=0.9, name="dw_bn")(r))
    r = layers.Conv2D(width, 1, use_bias=False, name="pw")(r)
    r = layers.BatchNormalization(momentum=0.9, name="pw_bn")(r)
    h = layers.ReLU(name="block_relu")(layers.Add(name="block_add")([h, r]))
    h = layers.MaxPool2D(2, name="pool")(h)
    h = layers.Dropout(0.1, name="dropout")(layers.Flatten(name="flatten")(h))
    logits = layers.Dense(10, name="logits")(h)
    return _info(keras.Model(inputs, logits, name="digits_functional"))


def build_sequential(width=16):
    """Sequential API: conv 3x3 (ReLU) + BN, strided conv 3x3 (ReLU) + BN, flatten, dense (32, ReLU),
    dense (10). Returns the model."""
    tf.compat.v1.set_random_seed(SEED)
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1), name="images"),
        layers.Conv2D(width, 3, padding="same", activation="relu", name="conv1"),
        layers.BatchNormalization(momentum=0.9, name="bn1"),
        layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", name="conv2"),
        layers.BatchNormalization(momentum=0.9, name="bn2"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="hidden"),
        layers.Dense(10, name="logits"),
    ], name="digits_sequential")
    return model


def build_application(arch="MobileNetV2", size=32, **kwargs):
    """A ``tf.keras.applications`` network (``weights=None``) on ``size`` x ``size`` x 3 digits,
    with global average pooling and a dense (10) ``logits`` head. ``kwargs`` go to the
    application (e.g. ``alpha=0.35`` for MobileNetV2)."""
    tf.compat.v1.set_random_seed(SEED)
    inputs = keras.Input(shape=(int(size), int(size), 3), name="images")
    base = getattr(keras.applications, arch)(input_tensor=inputs, include_top=False, weights=None, pooling="avg",
                                             **kwargs)
    logits = layers.Dense(10, name="logits")(base.output)
    return _info(keras.Model(inputs, logits, name=f"digits_{arch.lower()}"))

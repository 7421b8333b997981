"""QuantBridge for TensorFlow 2.8 graph (tf.compat.v1.Session) code: the vendor's workflow.

::

    import tensorflow as tf
    from quantbridge.tf import (generate_config_file, optimize_model, set_calibrate_state,
                                generate_final_model, float_saver)

    with tf.compat.v1.Session() as sess:                       # 1. template
        build_tf_model()
        generate_config_file(sess, "./config_gen.json")
    # 2. edit: set chosen layers to "Quant_INT8-8"
    with tf.compat.v1.Session() as sess:                       # 3. calibrate or retrain
        build_tf_model()                                       #    graph only, no weights yet
        quant_flag = tf.compat.v1.placeholder(tf.int32)
        is_train_flag = tf.compat.v1.placeholder(tf.bool, name="is_train")
        optimize_model(sess, "./config_gen.json", is_train_flag, quant_flag)
        float_saver(sess).restore(sess, float_ckpt)            # restores the ORIGINAL variables only
        set_calibrate_state(sess, True)                        # or: train with quant_flag=1, is_train=True
        ... forward passes feeding quant_flag=1 ...
        set_calibrate_state(sess, False)
        tf.compat.v1.train.Saver().save(sess, "./quant.ckpt")  # weights and ranges
    with tf.compat.v1.Session() as sess:                       # 4. export
        build_tf_model()                                       #    the float graph again
        generate_final_model(sess, "./config_gen.json", ["logits"], "./quant.ckpt", "./")

Restoring the float checkpoint: the rewrite adds range variables that the float checkpoint
does not have, so a plain ``Saver().restore`` of it fails. ``float_saver(sess)`` is a Saver over
the variables that existed before the rewrite (``Saver(var_list=...)`` of your own works too).
``optimize_model`` initialises the new variables itself; do not run
``global_variables_initializer`` after restoring (it would overwrite the restored weights);
``init_quant_variables(sess)`` re-initialises only the new ones.

Supported graphs: TF1-style graphs with reference variables (``disable_v2_behavior``) or
resource variables, quantizable layers Conv2D, MatMul and DepthwiseConv2dNative whose weight
is read from a variable, outside tf.cond / while_loop. Every ``sess.run`` that touches a
rewritten layer must feed ``quant_flag`` and ``is_train_flag``.

Ranges: calibration (``set_calibrate_state``) keeps a running min / max (and, for the config's
``quantbridge.calibration.method`` ``percentile`` / ``mse``, a histogram fed through a
``py_func``); training steps with ``quant_flag > 0`` and ``is_train_flag`` True update an EMA
(decay 0.99); otherwise ranges stay fixed. A layer whose range was never set takes it from the
first batch it runs with ``quant_flag > 0`` (in that same step, inference included, as the
PyTorch back end does), so an uncalibrated quantized run is batch-dependent but not degenerate.
The session must not have run the graph before ``optimize_model`` (TF ignores changes to ops a
session already ran; this is detected).

Export: ``<name>.pb`` (frozen, BatchNorm folded, weights on their int8 grid, activation fake
quant as constant ops, exact under a default Session too) and ``<name>_quant_param.json``. The
.pb is the inference model: every scalar bool placeholder (``is_training`` flags, with or
without a default, even a default of True) is frozen to False; bool placeholders of rank >= 1
are model inputs and stay. Weight scales are per output channel: ``"axis"`` 3 for Conv2D
(HWIO), 1 for MatMul (0 with transpose_b), 2 for DepthwiseConv2dNative with channel
multiplier 1; a depthwise filter [h, w, in, mult] with mult > 1 has ``"channel_axes": [2, 3]``
instead of ``"axis"``, its in*mult scales ordered in-major, mult-minor. Activation ``min`` /
``max`` are the range the scale and zero point represent, ``((0 - zp) * s, (255 - zp) * s)``.
``generate_final_model(..., onnx=True)`` also writes ``<name>.onnx``: the .pb's graph without its
activation fake quant, converted by tf2onnx (opset 13; ``quantbridge.tf._onnx``), from which
QuantBridge's Java side builds the INT8 QDQ ONNX with the parameter file.

Java-facing helpers: ``list_layers``, ``build_config``, ``quant_params``, ``export_pb`` (the ``.pb`` only,
the parameter numbers returned for Java to write the file), ``run_frozen``.

Several processes over shards of the calibration data: ``calibration_stats`` in each, then
``merge_calibration`` of all of them in each before ``set_calibrate_state(sess, False)``
(``quantbridge.tf._merge``): the same ranges as one process on the union of the shards.
"""

from quantbridge.common import config as _config
from quantbridge.tf._export import export_pb, generate_final_model, range_variable_names, run_frozen
from quantbridge.tf._graph import SUPPORTED, find_layers, graph_of
from quantbridge.tf import _rewrite
from quantbridge.tf._merge import calibration_stats, merge_calibration
from quantbridge.tf._rewrite import (EMA_DECAY, float_saver, init_quant_variables, optimize_model, quant_params,
                                     quant_variables, set_calibrate_state)

__all__ = ["SUPPORTED", "EMA_DECAY", "generate_config_file", "optimize_model", "set_calibrate_state",
           "generate_final_model", "float_saver", "init_quant_variables", "quant_variables", "list_layers",
           "build_config", "quant_params", "run_frozen", "range_variable_names", "calibration_stats",
           "merge_calibration", "export_pb", "check_config"]


def list_layers(graph_or_sess=None):
    """``[[name, op_type], ...]`` of every quantizable op (Conv2D, MatMul, DepthwiseConv2dNative)."""
    return [[name, op_type] for name, op_type in find_layers(graph_of(graph_or_sess)).items()]


def check_config(sess_or_graph, config, checked=False):
    """``{layer: strategy}`` in graph order when ``config`` (path or dict) fits the graph; raises
    ConfigError otherwise and changes nothing. ``checked``: the dict already passed the structural
    rules (Java ran them), only the fit to the graph is checked."""
    cfg = config if checked else _config.load(config)
    strategies = _config.validate(cfg, find_layers(graph_of(sess_or_graph)), SUPPORTED, checked=checked)
    _rewrite.settings(cfg)
    return strategies


def build_config(sess=None):
    """The config template of the graph as a dict (every layer at ``float``), nothing written."""
    layers = list_layers(sess)
    return _config.build_template([(name, op) for name, op in layers], SUPPORTED)


def generate_config_file(sess, dst_path="./config_gen.json"):
    """Write the config template of ``sess.graph`` to ``dst_path`` (atomically); return the dict."""
    cfg = build_config(sess)
    _config.write_template(cfg, dst_path)
    return cfg

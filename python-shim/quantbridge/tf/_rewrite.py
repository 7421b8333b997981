"""``optimize_model``: the in-place graph rewrite, calibration state and the range registry.

For every layer at ``Quant_INT8-8`` (layer op ``L`` with input ``x`` and weight read ``w``)::

    w' = where(quant_flag > 0, fq_w(w), w)                     fq_w: per-channel symmetric int8
    x' = where(quant_flag > 0, fq_a(x; lo', hi'), x)           fq_a: per-tensor asymmetric uint8
    L(x', w')                                                  (inputs rerouted with _update_input)

``where`` on a scalar condition returns the untouched float tensor for ``quant_flag == 0``, so
the float path is bit-identical to the original graph. The activation range lives in three
variables under ``<layer>/quantbridge/`` (``act_min``, ``act_max``, ``initialized``; global, so a
plain Saver saves them). Every forward pass computes the next range arithmetically and
assigns it (an unchanged value when nothing is to be updated); ``fq_a`` uses the new range::

    quant_flag > 0, range not set yet (any mode):           min / max of this batch (initialized := True)
    calibrating (set_calibrate_state, quant_flag > 0):      running min / max of the batches
    quant_flag > 0, is_train_flag, not calibrating (QAT):   EMA, decay 0.99
    otherwise:                                               unchanged

A layer whose range was never set (no calibration, no training) thus takes it from the first
batch it runs quantized, in that same step, inference included, as the PyTorch quantizers do:
running the quantized graph before calibrating gives a usable (if batch-dependent) model
rather than a degenerate [0, 0] range. ``set_calibrate_state(sess, True)`` clears the flags,
so a calibration still starts from scratch.

Where an inference BatchNorm follows a layer (``_fold``), the quantized path runs the layer with
the BatchNorm folded into it, exactly as the frozen ``.pb`` does, whenever the BatchNorm's
``tf.cond`` (if any) takes its inference branch::

    use = quant_flag > 0 and every mode flag of the BatchNorm's cond selects inference
    L(x', where(use, fold_w(w), w')); BatchNorm result := where(use, BiasAdd(L(...), shift), BN(...))

A quantized layer whose output feeds another quantized layer's input (``_integer.plan``, with
``quantbridge.integer_kernels``, the default) computes, where the graph runs quantized inference
(``quant_flag > 0``, ``is_train_flag`` false, not calibrating, the reader's range set, the folded
BatchNorm's cond on its inference branch), the integer arithmetic of ONNX Runtime's
``QLinearConv`` / ``QGemm`` requantized to the reader's input parameters (``_integer``), as the
frozen ``.pb`` does; training, calibration and ``quant_flag == 0`` take the float path::

    group output := cond(use_integer, requantize(conv64(codes(x), codes(w)) + bias_codes), float output)

With ``quantbridge.calibration.method`` ``percentile`` or ``mse`` a ``py_func`` also feeds the
calibrating batches into a ``common.qparams.HistogramObserver`` per layer (an empty slice
otherwise); ``set_calibrate_state(sess, False)`` writes the chosen range into the variables.
"""

import threading
import warnings
import weakref

import numpy as np
import tensorflow as tf

from quantbridge.common import config, qparams
from quantbridge.errors import ConfigError, ModelError
from quantbridge.tf import _fold, _graphdef, _integer, _ops, _params
from quantbridge.tf._graph import SCOPE, SUPPORTED, graph_of, layer_ops, trace_weight, weight_layout

__all__ = ["EMA_DECAY", "optimize_model", "set_calibrate_state", "float_saver", "init_quant_variables",
           "quant_variables", "quant_params", "state_of", "is_rewritten"]

EMA_DECAY = 0.99
_registry = weakref.WeakKeyDictionary()


class _Layer:
    """One layer of a rewritten graph (float layers keep only name, op_type and strategy)."""

    def __init__(self, name, op, strategy):
        self.name = name
        self.op = op
        self.op_type = op.type
        self.strategy = strategy
        self.input_tensor = op.inputs[0]
        self.weight_tensor = op.inputs[1]
        self.reduce_axes, self.channel_axis = weight_layout(op.type, op)
        self.output_tensor = op.outputs[0]    # with a folded BatchNorm: the BatchNorm's result
        self.variable = None
        self.act_min = self.act_max = self.initialized = None
        self.set_min = self.set_max = self.set_range = None
        self.observer = None
        self.act_scale = None
        self.fold_codes = self.fold_scale = self.fold_shift = self.fold_use = None

    @property
    def quantized(self):
        return self.strategy == config.INT8


class _State:
    def __init__(self, graph, layers, quant_flag, is_train_flag, calibration):
        self.graph = graph
        self.layers = layers
        self.quant_flag = quant_flag
        self.is_train_flag = is_train_flag
        self.method = calibration["method"]
        self.percentile = float(calibration["percentile"])
        self.bins = int(calibration["bins"])
        self.original_vars = []
        self.quant_vars = []
        self.calibrating_var = None
        self.calib_on = self.calib_off = self.init_op = None
        self.calibrating = False
        self.folded = []
        self.requantized = []
        self.saver = None
        self.lock = threading.Lock()

    @property
    def quantized(self):
        return [layer for layer in self.layers if layer.quantized]


def is_rewritten(graph):
    return graph in _registry


def state_of(sess_or_graph):
    graph = graph_of(sess_or_graph)
    state = _registry.get(graph)
    if state is None:
        msg = "this graph was not rewritten by quantbridge.tf.optimize_model; call optimize_model(sess, ...) first"
        raise ModelError(msg)
    return state


def _check_flag(value, dtype, what, graph):
    if isinstance(value, tf.Variable):
        value = value.value()
    if not isinstance(value, tf.Tensor):
        msg = (f"{what} must be a {dtype.name} tensor such as tf.compat.v1.placeholder(tf.{dtype.name}), "
               f"got {type(value).__name__}")
        raise ModelError(msg)
    if value.graph is not graph:
        msg = f"{what} ({value.name}) belongs to another graph than the session's; create it after building the model"
        raise ModelError(msg)
    if value.dtype.base_dtype != dtype:
        msg = f"{what} ({value.name}) must be tf.{dtype.name}, got tf.{value.dtype.base_dtype.name}"
        raise ModelError(msg)
    if value.shape.rank not in (None, 0):
        msg = f"{what} ({value.name}) must be a scalar, got shape {value.shape}"
        raise ModelError(msg)
    return value


def _refusals(layers):
    problems = []
    for layer in layers:
        if not layer.quantized:
            continue
        op = layer.op
        if op._get_control_flow_context() is not None:  # noqa: SLF001 - TF has no public accessor
            problems.append(f"{layer.name}: the op is inside a tf.cond / tf.while_loop branch")
            continue
        traced = trace_weight(op)
        if traced is None:
            problems.append(f"{layer.name}: its weight input {op.inputs[1].name} (from a {op.inputs[1].op.type} op) "
                            f"is not read from a variable")
            continue
        layer.variable = traced[0].name
        if op.inputs[0].dtype.base_dtype != tf.float32 or op.inputs[1].dtype.base_dtype != tf.float32:
            problems.append(f"{layer.name}: only float32 layers can be quantized, got {op.inputs[0].dtype.name}")
    return problems


def settings(cfg):
    """The config's ``quantbridge`` section as the TensorFlow back end applies it (calibration,
    integer kernels: :mod:`quantbridge.tf._integer`). ``reduce_range: true`` is refused: the
    TensorFlow back end has no 7-bit activations, and exporting 8-bit ones for a machine that
    needs 7 would be wrong silently."""
    extra = config.extra_settings(cfg)
    if extra["reduce_range"]:
        msg = (f"'{config.EXTRA_KEY}.reduce_range' is true; the TensorFlow back end has no 7-bit activations "
               "(expected false or absent; PyTorch models support it)")
        raise ConfigError(msg)
    return extra


def optimize_model(sess, config_file, is_train_flag, quant_flag, *, checked=False):
    """Rewrite ``sess.graph`` in place so that ``quant_flag > 0`` runs the quantized model.

    Call it after building the float graph and before restoring weights; restore the float
    checkpoint with ``float_saver(sess)`` (a plain Saver also asks for the new range variables).
    The new variables are initialised here. Raises ConfigError / ModelError before changing
    anything when the config or the graph does not fit. ``checked``: ``config_file`` is a dict
    that already passed the structural rules (Java ran them); only the graph fit is checked then.

    An inference BatchNorm right after a layer (``_fold.plan``) is folded into it on the
    quantized inference path, as the export folds it, so that the frozen ``.pb`` computes what
    this session computes; the returned summary lists those layers under ``folded``.

    A quantized layer whose output feeds another quantized layer's input (``_integer.plan``;
    ``quantbridge.integer_kernels``, default true) computes, in quantized inference, the integer
    arithmetic ONNX Runtime's ``QLinearConv`` / ``QGemm`` run, requantized to that layer's input parameters,
    as the frozen ``.pb`` does; the summary lists those layers under ``requantized``.
    """
    graph = graph_of(sess)
    if graph in _registry:
        msg = "optimize_model was already applied to this graph; rebuild the float graph to start again"
        raise ModelError(msg)
    cfg = config_file if checked else config.load(config_file)
    ops = layer_ops(graph)
    strategies = config.validate(cfg, {name: op.type for name, op in ops.items()}, SUPPORTED, checked=checked)
    extra = settings(cfg)
    calibration = extra["calibration"]
    quant_flag = _check_flag(quant_flag, tf.int32, "quant_flag", graph)
    is_train_flag = _check_flag(is_train_flag, tf.bool, "is_train_flag", graph)
    if graph.finalized:
        msg = "the graph is finalized; call optimize_model before creating a MonitoredSession or finalizing it"
        raise ModelError(msg)
    layers = [_Layer(name, op, strategies[name]) for name, op in ops.items()]
    problems = _refusals(layers)
    if problems:
        msg = "cannot quantize these layers (set them to 'float' or change the model): " + "; ".join(problems)
        raise ModelError(msg)
    if any(op.name.split("/")[0].startswith("gradients") for op in graph.get_operations()):
        warnings.warn("gradients were built before optimize_model: they ignore the fake quant of the rewritten "
                      "layers. Build the training op after optimize_model for quantization-aware training.",
                      stacklevel=2)

    float_gd = graph.as_graph_def()
    folds = _fold.plan(float_gd, [layer.name for layer in layers])
    groups = _integer.plan(float_gd, strategies, folds, extra["integer_kernels"])
    state = _State(graph, layers, quant_flag, is_train_flag, calibration)
    state.folded = sorted(folds)
    state.requantized = sorted(groups)
    with graph.as_default(), graph.control_dependencies(None):
        state.original_vars = list(graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES))
        _build_shared(state)
        for layer in state.quantized:
            _rewrite_layer(state, layer)
        for layer in state.layers:
            if layer.name in folds:
                _fold_layer(state, layer, folds[layer.name])
        by_name = {layer.name: layer for layer in state.layers}
        for name, group in groups.items():
            _requantize_layer(state, by_name[name], by_name[group.consumer], group)
        state.calib_on = tf.group([state.calibrating_var.assign(True, read_value=False)]
                                  + [layer.initialized.assign(False, read_value=False) for layer in state.quantized],
                                  name=f"{SCOPE}/calibration_on")
        state.calib_off = state.calibrating_var.assign(False, read_value=False, name=f"{SCOPE}/calibration_off")
        state.init_op = tf.compat.v1.variables_initializer(state.quant_vars, name=f"{SCOPE}/init")
    _registry[graph] = state
    if sess is not None and not isinstance(sess, tf.Graph):
        if state.quantized:
            _check_session_sees_rewrite(sess, state.quantized[0])
        sess.run(state.init_op)
    return state_summary(state)


def _check_session_sees_rewrite(sess, layer):
    """A session that already ran the graph keeps its own copy of it: rewiring ops afterwards
    has no effect there (TF only logs a warning). Probe the first rewritten layer: feed its new
    inputs with ones and twice ones; a session that uses them returns exactly doubled values,
    a stale one asks for the model inputs or reads the old weight."""
    op = layer.op
    x_new, w_new = op.inputs[0], op.inputs[1]
    if x_new.shape.rank is None or not w_new.shape.is_fully_defined():
        return  # cannot build a probe feed; nothing to check with

    spatial = max(w_new.shape.as_list()[:2]) + 2 if op.type != "MatMul" else 1
    x_shape = [d if d is not None else (1 if i == 0 else spatial) for i, d in enumerate(x_new.shape.as_list())]
    x_val = np.ones(x_shape, np.float32)
    w_val = np.ones(w_new.shape.as_list(), np.float32)
    try:
        first, second = (sess.run(op.outputs[0], {x_new: x_val, w_new: w_val * k}) for k in (1.0, 2.0))
        sees = bool(np.any(first != 0)) and np.array_equal(second, first * 2)
    except tf.errors.FailedPreconditionError:
        sees = False     # the old layer reads its variable: the rewired inputs were fed, not used
    except tf.errors.InvalidArgumentError as exc:
        sees = "must feed a value" not in str(exc)   # the old layer still wants the model inputs
    except tf.errors.OpError:
        sees = True      # inconclusive (e.g. a layout the CPU kernel refuses): do not block
    if not sees:
        msg = ("this session already ran the graph before optimize_model, so it keeps the graph as it was and "
               "ignores the rewrite (TensorFlow does not apply changes to ops a session has run). Build the "
               "graph in a fresh session and call optimize_model before the first sess.run (initialising or "
               "restoring variables included); restore weights afterwards with float_saver(sess)")
        raise ModelError(msg)


def state_summary(state):
    return {"quantized": [layer.name for layer in state.quantized],
            "float": [layer.name for layer in state.layers if not layer.quantized],
            "variables": [v.op.name for v in state.quant_vars], "calibration": state.method,
            "folded": list(state.folded), "requantized": list(state.requantized)}


def _variable(initial, name, collections=None):
    return tf.compat.v1.Variable(initial, trainable=False, name=name, use_resource=True,
                                 collections=collections or [tf.compat.v1.GraphKeys.GLOBAL_VARIABLES])


def _build_shared(state):
    with tf.compat.v1.name_scope(f"{SCOPE}/"):
        state.calibrating_var = _variable(False, "calibrating", [tf.compat.v1.GraphKeys.LOCAL_VARIABLES])
        state.quant_vars.append(state.calibrating_var)
        # Scalars with a static shape, so that where() keeps the static shapes of the layer inputs.
        state.quant_on = tf.reshape(tf.greater(state.quant_flag, 0), [], name="quant_on")
        is_train = tf.reshape(state.is_train_flag, [], name="is_train")
        calibrating = state.calibrating_var.read_value()
        state.do_calib = tf.logical_and(state.quant_on, calibrating, name="do_calibrate")
        state.do_ema = tf.logical_and(state.quant_on, tf.logical_and(tf.logical_not(calibrating), is_train),
                                      name="do_ema")
        # quantized inference with frozen ranges: where groups run the deployed integer arithmetic
        state.inference = tf.logical_and(state.quant_on, tf.logical_not(tf.logical_or(calibrating, is_train)),
                                         name="integer_inference")


def _rewrite_layer(state, layer):
    op, x, w = layer.op, layer.input_tensor, layer.weight_tensor
    with tf.compat.v1.name_scope(f"{layer.name}/{SCOPE}/"):
        layer.act_min = _variable(0.0, "act_min")
        layer.act_max = _variable(0.0, "act_max")
        layer.initialized = _variable(False, "initialized")
        state.quant_vars += [layer.act_min, layer.act_max, layer.initialized]
        layer.set_min = tf.compat.v1.placeholder(tf.float32, [], name="set_min")
        layer.set_max = tf.compat.v1.placeholder(tf.float32, [], name="set_max")
        layer.set_range = tf.group(layer.act_min.assign(layer.set_min, read_value=False),
                                   layer.act_max.assign(layer.set_max, read_value=False),
                                   layer.initialized.assign(True, read_value=False), name="set_range")

        w_new = tf.where(state.quant_on, _ops.weight_fake_quant(w, layer.reduce_axes), w, name="weight")

        x_const = tf.stop_gradient(x)
        nonempty = tf.greater(tf.size(x), 0)
        do_calib = tf.logical_and(state.do_calib, nonempty)
        do_ema = tf.logical_and(state.do_ema, nonempty)
        batch_min, batch_max = tf.reduce_min(x_const), tf.reduce_max(x_const)
        old_min, old_max = layer.act_min.read_value(), layer.act_max.read_value()
        init = layer.initialized.read_value()
        # A range never set is taken from the current batch whenever the layer runs quantized
        # (calibration, training or inference alike), in this same step: the fake quant below
        # then uses that range instead of the degenerate initial [0, 0].
        first = tf.logical_and(tf.logical_and(state.quant_on, nonempty), tf.logical_not(init), name="first_batch")
        decay = np.float32(EMA_DECAY)
        new_min = tf.where(first, batch_min,
                           tf.where(do_calib, tf.minimum(old_min, batch_min),
                                    tf.where(do_ema, old_min * decay + batch_min * (1 - decay), old_min)))
        new_max = tf.where(first, batch_max,
                           tf.where(do_calib, tf.maximum(old_max, batch_max),
                                    tf.where(do_ema, old_max * decay + batch_max * (1 - decay), old_max)))
        new_init = tf.logical_or(init, first)
        updates = [layer.act_min.assign(new_min, read_value=False),
                   layer.act_max.assign(new_max, read_value=False),
                   layer.initialized.assign(new_init, read_value=False)]
        if state.method != "minmax":
            layer.observer = qparams.HistogramObserver(state.bins)
            count = tf.cast(do_calib, tf.int32) * tf.size(x)
            updates.append(tf.compat.v1.py_func(_collector(state, layer), [tf.reshape(x_const, [-1])[:count]],
                                                tf.bool, stateful=True, name="collect"))
        scale, zero_point = _ops.activation_qparams(new_min, new_max)
        layer.act_scale = scale
        x_sel = tf.where(state.quant_on, _ops.activation_fake_quant(x, scale, zero_point), x)
        with tf.control_dependencies(updates):
            x_new = tf.identity(x_sel, name="input")
    x_new.set_shape(x.shape)
    w_new.set_shape(w.shape)
    op._update_input(0, x_new)  # noqa: SLF001 - the documented way to reroute an op's input
    op._update_input(1, w_new)  # noqa: SLF001


def _read_source(graph, name):
    """The value of a variable or Const (a node name from ``_fold.plan``), read outside any cond."""
    op = graph.get_operation_by_name(name)
    if op.type == "VarHandleOp":
        return tf.raw_ops.ReadVariableOp(resource=op.outputs[0], dtype=op.get_attr("dtype"))
    return tf.identity(op.outputs[0])


def _tensor(graph, text):
    name, port = _graphdef.parse_input(text)
    return graph.get_tensor_by_name(f"{name}:{port}")


def _fold_layer(state, layer, fold):
    """Quantized inference with the BatchNorm after ``layer`` folded, as the export folds it
    (``_fold``): where the layer runs quantized and the BatchNorm's cond takes its inference
    branch, the layer uses the folded weight and ``BiasAdd(layer, shift)`` replaces the
    BatchNorm's result; otherwise (float path, training branch) everything is as before."""
    graph, op = state.graph, layer.op
    with tf.compat.v1.name_scope(f"{layer.name}/{SCOPE}/fold/"):
        use = state.quant_on
        for pred, port in fold.switches:
            pred = tf.reshape(_tensor(graph, pred), [])
            use = tf.logical_and(use, pred if port == 1 else tf.logical_not(pred))
        params = [_read_source(graph, name) for name in fold.sources]
        bias = _read_source(graph, fold.bias_source) if fold.bias is not None else None
        weight, shift, codes, scale = _fold.fold_tf(op.type, layer.weight_tensor, layer.quantized, *params, bias,
                                                    fold.epsilon)
        layer.fold_codes, layer.fold_scale, layer.fold_shift, layer.fold_use = codes, scale, shift, use
        current = op.inputs[1]
        w_sel = tf.where(use, weight, current, name="weight")
        w_sel.set_shape(current.shape)
        result = _tensor(graph, fold.output)
        consumers = [(c, i) for c in result.consumers() for i, t in enumerate(c.inputs) if t is result]
        folded = tf.nn.bias_add(op.outputs[0], shift, data_format=fold.data_format.decode())
        out = tf.where(use, folded, result, name="output")
        out.set_shape(result.shape)
    layer.output_tensor = out
    for consumer, index in consumers:
        consumer._update_input(index, out)  # noqa: SLF001
    op._update_input(1, w_sel)  # noqa: SLF001


def _requantize_layer(state, layer, consumer, group):
    """The deployed integer arithmetic of ``group`` (``_integer``): where the graph runs quantized
    inference with the consumer's range set (and, for a folded BatchNorm, its inference branch),
    the group's output is the layer's integer result requantized to the consumer's input
    parameters; elsewhere (training, calibration, float) everything is as before. A ``tf.cond``
    (not a select): the integer branch, a float64 convolution, runs only where it is used."""
    graph, op = state.graph, layer.op
    with tf.compat.v1.name_scope(f"{layer.name}/{SCOPE}/integer/"):
        s_x = layer.act_scale
        if layer.fold_codes is not None:
            codes, scale, bias, use = layer.fold_codes, layer.fold_scale, layer.fold_shift, layer.fold_use
            end = layer.output_tensor
        else:
            codes = scale = None
            bias = graph.get_operation_by_name(group.bias).inputs[1] if group.bias is not None else None
            use = state.quant_on
            end = graph.get_tensor_by_name(f"{group.end}:0")
        use = tf.logical_and(tf.logical_and(use, state.inference), consumer.initialized.read_value())
        x_q = op.inputs[0]

        def integer():
            # the codes of the fake-quantized input the layer reads (``k * s_x`` gives back ``k``
            # exactly): its input tensor may have been rerouted (a folded BatchNorm or a group before it)
            x_int = tf.round(tf.math.divide_no_nan(x_q, s_x))
            w_int, w_scale = (codes, scale) if codes is not None else _ops.weight_codes(layer.weight_tensor,
                                                                                       layer.reduce_axes)
            s_w = tf.reshape(w_scale, [-1])
            s_y, zp_y = _ops.activation_qparams(consumer.act_min.read_value(), consumer.act_max.read_value())
            acc = _integer.integer_op_tf(op, tf.cast(x_int, tf.float64), tf.cast(w_int, tf.float64))
            data_format = _integer.data_format(op)
            if bias is not None:
                acc = tf.nn.bias_add(acc, _integer.bias_codes_tf(bias, s_x, s_w), data_format=data_format.decode())
            shape = _integer.channel_shape(op.type, data_format, 2 if op.type == "MatMul" else 4)
            multiplier = tf.reshape(_integer.multiplier_tf(s_x, s_w, s_y), shape)
            return tf.stop_gradient(_integer.requantize_tf(acc, multiplier, s_y, zp_y))

        consumers = [(c, i) for c in end.consumers() for i, t in enumerate(c.inputs) if t is end]
        out = tf.identity(tf.compat.v1.cond(use, integer, lambda: tf.identity(end)), name="output")
        out.set_shape(end.shape)
    for user, index in consumers:
        user._update_input(index, out)  # noqa: SLF001
    # layer.output_tensor stays the layer's own (float-arithmetic) output: per-layer statistics
    # compare a layer with its float op, not with the reader's grid


def _collector(state, layer):
    def collect(values):
        if values.size:
            with state.lock:
                layer.observer.update(values)
        return np.bool_(True)
    return collect


def set_calibrate_state(sess, calibration_mode):
    """``True``: following forward passes with ``quant_flag > 0`` collect activation ranges from
    scratch (whatever ``is_train_flag`` says). ``False``: finalise the ranges (minmax, percentile
    or mse from the config) into the range variables and leave calibration.

    Returns ``{layer: [min, max]}`` when leaving calibration, else ``None``.
    """
    state = state_of(sess)
    if calibration_mode:
        sess.run(state.calib_on)
        for layer in state.quantized:
            if layer.observer is not None:
                layer.observer = qparams.HistogramObserver(state.bins)
        state.calibrating = True
        return None
    if not state.calibrating:
        sess.run(state.calib_off)
        return None
    layers = state.quantized
    values = sess.run([(layer.act_min, layer.act_max, layer.initialized) for layer in layers])
    missing = [layer.name for layer, (_, _, init) in zip(layers, values) if not init]
    if missing:
        msg = (f"calibration collected no range for {missing}: run forward passes with quant_flag > 0 over the "
               f"calibration set before set_calibrate_state(sess, False)")
        raise ModelError(msg)
    ranges = {}
    feed, fetch = {}, []
    for layer, (lo, hi, _) in zip(layers, values):
        lo, hi = qparams.choose_range(state.method, lo, hi, layer.observer, state.percentile)
        ranges[layer.name] = [float(lo), float(hi)]
        feed[layer.set_min], feed[layer.set_max] = lo, hi
        fetch.append(layer.set_range)
    sess.run(fetch, feed_dict=feed)
    sess.run(state.calib_off)
    state.calibrating = False
    return ranges


def float_saver(sess, **saver_kwargs):
    """A Saver over the variables that existed before the rewrite: restores a float checkpoint."""
    state = state_of(sess)
    if saver_kwargs:
        return tf.compat.v1.train.Saver(var_list=state.original_vars, **saver_kwargs)
    if state.saver is None:
        with state.graph.as_default():
            state.saver = tf.compat.v1.train.Saver(var_list=state.original_vars)
    return state.saver


def quant_variables(sess_or_graph):
    """The variables optimize_model added (range variables and the calibration switch)."""
    return list(state_of(sess_or_graph).quant_vars)


def init_quant_variables(sess):
    """(Re)initialise only the variables optimize_model added; restored weights are untouched."""
    sess.run(state_of(sess).init_op)


def quant_params(sess):
    """Per-layer quantization parameters of a rewritten session, from the current values.

    Weight scales are computed from the current (float) weights; activation scale and zero point
    from the range variables. Entries follow the parameter-file schema, ``tensor`` naming the
    weight variable and the layer's input tensor in this graph; as in the PyTorch back end the
    activation's ``min`` / ``max`` are the range its scale and zero point represent and
    ``activation["calibrated"]`` says whether the range was ever set. A depthwise filter with a
    channel multiplier > 1 has ``"channel_axes": [2, 3]`` instead of ``"axis"`` (see ``_params``).
    """
    state = state_of(sess)
    fetch = [(layer.weight_tensor, layer.act_min, layer.act_max, layer.initialized) for layer in state.quantized]
    values = iter(sess.run(fetch))
    out = []
    for layer in state.layers:
        entry = {"name": layer.name, "op_type": layer.op_type, "quant_strategy": layer.strategy}
        if layer.quantized:
            weight, lo, hi, init = next(values)
            absmax = np.max(np.abs(weight), axis=layer.reduce_axes).reshape(-1)
            entry["weight"] = _params.weight_entry(layer.variable, layer.op_type, weight.shape, layer.channel_axis,
                                                   qparams.weight_qparams(absmax))
            scale, zero_point = qparams.activation_qparams(lo, hi)
            entry["activation"] = _params.activation_entry(layer.input_tensor.name, scale, zero_point)
            entry["activation"]["calibrated"] = bool(init)
        out.append(entry)
    return out

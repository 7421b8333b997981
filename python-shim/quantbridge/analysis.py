"""Per-layer quantization statistics of a quant model, for the quantization report.

Importable without torch or TensorFlow: each framework is imported inside the function that
needs it. Both back ends return the same schema, one dict per layer of the model (quantized
or float), in model order; every number is a plain Python ``int`` / ``float`` or ``None``::

    {"name": "features/0/Conv2D", "op_type": "...", "quant_strategy": "Quant_INT8-8" | "float",
     "quantized": True, "batches": 8,
     "weight": {"shape": [16, 1, 3, 3], "axis": 0, "channels": 16, "min": w_lo, "max": w_hi,
                "absmax": max |w|, "scale_min": s, "scale_median": s, "scale_max": s,
                "clipped_fraction": 0.0, "sqnr_db": weight vs fake-quant weight},
     "activation": {"count": n, "min": x_lo, "max": x_hi,                  # observed layer input
                    "scale": s, "zero_point": z, "range_min": (0 - z) * s, "range_max": (255 - z) * s,
                    "clipped_fraction": share saturated, "sqnr_db": input vs fake-quant input},
     "sqnr_db": float layer output vs fake-quant layer output}

Definitions:

* weight scales are the symmetric per-output-channel int8 scales ``max |w[c]| / 127`` (also
  listed for float layers, as they would be); ``clipped_fraction`` is the share of weights whose
  quantized value ``round(w / s)`` falls outside [-127, 127] (0 for these absmax scales);
* activation ``clipped_fraction`` is the share of layer-input values that saturate:
  ``round(x / s) + z`` outside [0, 255], i.e. beyond ``[range_min, range_max]`` by more than the
  half step every value may be rounded by; for float layers only ``count``/``min``/``max`` are set;
* ``sqnr_db = 10 log10(sum(ref^2) / sum((ref - q)^2))`` over all batches, ``inf`` when ``q``
  equals ``ref`` exactly. The layer's ``sqnr_db`` compares its float output (float weight, float
  input) with its fake-quant output, both computed on the same layer input as seen in the quant
  model (so upstream error is not counted twice); ``None`` for float layers.

Neither function changes the model: no weight, range or flag is modified, and the training
mode is restored.
"""

import math

import numpy as np

from quantbridge import progress
from quantbridge.common import config as qconfig
from quantbridge.common import qparams
from quantbridge.errors import ModelError, QuantBridgeError

__all__ = ["torch_layer_stats", "tf_layer_stats", "rank_worst_first", "weight_summary", "PHASE"]

PHASE = "analyze"


# -- shared numpy accumulators ------------------------------------------------------------------
_Sqnr = qparams.Sqnr


class _Activation:
    """Observed range, saturation count and SQNR of one layer's input over the batches."""

    def __init__(self, scale=None, zero_point=None):
        self.scale = None if scale is None else float(scale)
        self.zero_point = None if zero_point is None else int(zero_point)
        self.count = 0
        self.clipped = 0
        self.lo = math.inf
        self.hi = -math.inf
        self.sqnr = _Sqnr()

    def add(self, x):
        x = np.asarray(x, dtype=np.float32)
        if x.size == 0:
            return
        self.count += int(x.size)
        self.lo = min(self.lo, float(x.min()))
        self.hi = max(self.hi, float(x.max()))
        if self.scale is None:
            return
        q = np.rint(x / np.float32(self.scale)) + self.zero_point
        self.clipped += int(np.count_nonzero((q < qparams.ACT_QMIN) | (q > qparams.ACT_QMAX)))
        self.sqnr.add(x, qparams.fake_quant(x, self.scale, self.zero_point, qparams.ACT_QMIN, qparams.ACT_QMAX))

    def summary(self):
        seen = self.count > 0
        out = {"count": self.count, "min": self.lo if seen else None, "max": self.hi if seen else None,
               "scale": self.scale, "zero_point": self.zero_point, "range_min": None, "range_max": None,
               "clipped_fraction": None, "sqnr_db": None}
        if self.scale is not None:
            out["range_min"] = float((qparams.ACT_QMIN - self.zero_point) * self.scale)
            out["range_max"] = float((qparams.ACT_QMAX - self.zero_point) * self.scale)
            if seen:
                out["clipped_fraction"] = self.clipped / self.count
                out["sqnr_db"] = self.sqnr.db()
        return out


def weight_summary(weight, reduce_axes, axis):
    """Range, per-channel scale summary, saturated share and SQNR of a weight (numpy reference).

    ``reduce_axes`` are the axes reduced for one scale per output channel, ``axis`` the channel
    axis reported (TF depthwise weights have two channel axes, reported as one).
    """
    w = np.asarray(weight, dtype=np.float32)
    if w.size == 0:
        return {"shape": list(w.shape), "axis": int(axis), "channels": 0, "min": None, "max": None,
                "absmax": None, "scale_min": None, "scale_median": None, "scale_max": None,
                "clipped_fraction": None, "sqnr_db": None}
    reduce_axes = tuple(int(a) for a in reduce_axes)
    absmax = np.max(np.abs(w), axis=reduce_axes, keepdims=True)
    scale = qparams.weight_qparams(absmax)
    q = np.rint(w / scale)
    clipped = int(np.count_nonzero((q < qparams.W_QMIN) | (q > qparams.W_QMAX)))
    fq = (np.clip(q, qparams.W_QMIN, qparams.W_QMAX) * scale).astype(np.float32)
    sqnr = _Sqnr()
    sqnr.add(w, fq)
    flat = scale.reshape(-1).astype(np.float64)
    return {"shape": [int(d) for d in w.shape], "axis": int(axis), "channels": int(flat.size),
            "min": float(w.min()), "max": float(w.max()), "absmax": float(np.max(np.abs(w))),
            "scale_min": float(flat.min()), "scale_median": float(np.median(flat)), "scale_max": float(flat.max()),
            "clipped_fraction": clipped / w.size, "sqnr_db": sqnr.db()}


def _entry(name, op_type, strategy, weight, activation, output_sqnr, batches):
    return {"name": str(name), "op_type": str(op_type), "quant_strategy": str(strategy),
            "quantized": strategy == qconfig.INT8, "batches": int(batches), "weight": weight,
            "activation": activation, "sqnr_db": output_sqnr}


def rank_worst_first(stats):
    """``stats`` sorted by ``sqnr_db`` ascending (worst first); layers without one (float layers,
    NaN) last, each group in its original order. Returns a new list."""
    def key(item):
        value = item[1].get("sqnr_db")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (1, 0.0, item[0])
        return (0, float(value), item[0])
    return [entry for _, entry in sorted(enumerate(stats), key=key)]


def _check_max_batches(max_batches):
    if max_batches is not None and int(max_batches) < 1:
        msg = f"max_batches must be at least 1 (or None for all), got {max_batches!r}"
        raise QuantBridgeError(msg)


# -- PyTorch ------------------------------------------------------------------------------------
def _torch_float_output(module, inputs):
    """The layer's float op on the raw weight: the float class's forward, bypassing the fake quant."""
    return type(module)._FLOAT_CLASS.forward(module, *inputs)


def _torch_check_ready(layers):
    from quantbridge.torch import _layers

    calibrating, uncalibrated = [], []
    for name, (_, module) in layers.items():
        if not _layers.is_quant_layer(module):
            continue
        act = module.activation_quant
        if int(act.observer_enabled[0]) == 1:
            calibrating.append(name)
        elif int(act.fake_quant_enabled[0]) == 1 and int(act.calibrated[0]) == 0:
            uncalibrated.append(name)
    if calibrating:
        msg = (f"calibration is in progress for {calibrating}: call set_calibrate_state(quant_model, False) "
               f"before computing layer statistics")
        raise ModelError(msg)
    if uncalibrated:
        msg = (f"layers {uncalibrated} have no activation range yet: calibrate (or train) the quant model "
               f"before computing layer statistics")
        raise ModelError(msg)


def torch_layer_stats(quant_model, batches, max_batches=None):
    """Per-layer statistics (module docstring schema) of a PyTorch quant model over ``batches``.

    ``batches`` are tensors, numpy arrays or ``(inputs, targets)`` pairs (at most
    ``max_batches``). Runs eval-mode ``no_grad`` forward passes with forward hooks on every
    quantizable layer; the hooks are removed and every module's training mode restored afterwards.
    Emits ``progress`` events for phase ``analyze``.

    Raises ModelError for a model that is not a quant model, is calibrating, or has a quantized
    layer without an activation range; QuantBridgeError when ``batches`` is empty.
    """
    import torch

    from quantbridge.common.batches import no_batches, source_of
    from quantbridge.torch import _batches, _config, _integer, _layers
    from quantbridge.torch._modules import cached_weights

    _config.check_model(quant_model, "quant_model")
    _check_max_batches(max_batches)
    layers = _layers.find_layers(quant_model)
    if not any(_layers.is_quant_layer(m) for _, m in layers.values()) and not hasattr(quant_model,
                                                                                     _config.CONFIG_ATTR):
        msg = "quant_model has no quantized layer: pass the model returned by optimize_model"
        raise ModelError(msg)
    _torch_check_ready(layers)

    acts, outputs = {}, {}
    for name, (_, module) in layers.items():
        if _layers.is_quant_layer(module):
            q = module.activation_quant
            if int(q.fake_quant_enabled[0]) == 1:
                params = q.qparams()
                acts[name] = _Activation(params["scale"], params["zero_point"])
            else:   # quantization switched off by the user: the layer input passes unchanged
                acts[name] = _Activation()
            outputs[name] = _Sqnr()
        else:
            acts[name] = _Activation()

    def hook_for(name, module):
        quantized = _layers.is_quant_layer(module)

        def hook(mod, inputs, output):
            if not inputs or not isinstance(inputs[0], torch.Tensor):
                return
            acts[name].add(inputs[0].detach().float().cpu().numpy())
            if quantized and isinstance(output, torch.Tensor):
                ref = _torch_float_output(mod, inputs)
                if ref.shape == output.shape:
                    outputs[name].add(ref.detach().float().cpu().numpy(), output.detach().float().cpu().numpy())
        return hook

    device = next((p.device for p in quant_model.parameters()), torch.device("cpu"))
    total = progress.batch_total(batches, max_batches)
    source = source_of(batches, "the batches")
    modes = [(m, m.training) for m in quant_model.modules()]   # restored one by one: modes may be mixed
    handles = []
    count = 0
    try:
        # find_layers lists a module shared at several places once: it gets one hook, called per use.
        for name, (_, module) in layers.items():
            handles.append(module.register_forward_hook(hook_for(name, module)))
        quant_model.eval()
        # each layer's own output (not its BatchNorm-folded, requantized group's) against its float op
        with torch.no_grad(), cached_weights(quant_model), _integer.layer_outputs(quant_model):
            for batch in batches:
                if max_batches is not None and count >= int(max_batches):
                    break
                x = _batches.model_input(batch, count + 1, source, quant_model, device)
                _batches.forward(quant_model, x, count + 1, source)
                count += 1
                progress.emit(PHASE, count, total)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes:
            module.training = training
    if count == 0:
        raise no_batches(source)

    out = []
    for name, (_, module) in layers.items():
        quantized = _layers.is_quant_layer(module)
        cls = _layers.float_class(module)
        weight = module.weight.detach().float().cpu().numpy()
        axis = module.weight_quant.ch_axis if quantized else _layers._CH_AXIS[cls]  # noqa: SLF001
        reduce_axes = [d for d in range(weight.ndim) if d != axis]
        out.append(_entry(name, _layers.op_type(cls), qconfig.INT8 if quantized else qconfig.FLOAT,
                          weight_summary(weight, reduce_axes, axis), acts[name].summary(),
                          outputs[name].db() if quantized else None, count))
    return out


# -- TensorFlow ---------------------------------------------------------------------------------
def _tf_tensor(graph, name):
    import tensorflow as tf

    if isinstance(name, (tf.Tensor, tf.Variable)):
        return name
    name = str(name)
    try:
        return graph.get_tensor_by_name(name if ":" in name else f"{name}:0")
    except (KeyError, ValueError) as exc:
        msg = f"no tensor named {name!r} in the session's graph ({exc})"
        raise ModelError(msg) from None


def tf_layer_stats(sess, batches, input_name, quant_flag_name=None, extra_feed=None, max_batches=None):
    """Per-layer statistics (module docstring schema) of a session rewritten by ``optimize_model``.

    Every batch (an input array, or ``(inputs, targets)``) is fed to ``input_name`` with
    ``quant_flag = 1`` and the rewrite's ``is_train_flag = False``, plus ``extra_feed``
    (``{tensor name: value}``). That run gives each quantized layer's input and fake-quant
    output; a second run with ``quant_flag = 0`` feeds those inputs back to get the float
    outputs on the same inputs. Neither run changes a range variable (ranges move only while
    calibrating or training). ``quant_flag_name`` names the quant-flag tensor when it is not
    the one given to ``optimize_model``. A layer's output is its op's output (a Conv2D or MatMul
    before any separate BiasAdd), or for a layer with a folded BatchNorm (``tf._fold``: the
    quantized path runs the layer with the BatchNorm folded in) the BatchNorm's result. Float
    layers get weight statistics and their observed input range.

    Raises ModelError for a graph not rewritten, calibration in progress or a quantized layer
    without a range; QuantBridgeError when ``batches`` is empty.
    """
    from quantbridge.tf import _rewrite

    state = _rewrite.state_of(sess)
    graph = state.graph
    _check_max_batches(max_batches)
    if state.calibrating:
        msg = "calibration is in progress: call set_calibrate_state(sess, False) before computing layer statistics"
        raise ModelError(msg)
    x_in = _tf_tensor(graph, input_name)
    flag = state.quant_flag if quant_flag_name is None else _tf_tensor(graph, quant_flag_name)
    base_feed = {state.is_train_flag: False}
    for key, value in dict(extra_feed or {}).items():
        base_feed[_tf_tensor(graph, key)] = value

    quantized = state.quantized
    weights = sess.run([layer.weight_tensor for layer in state.layers], feed_dict=base_feed)
    ranges = sess.run([(layer.act_min, layer.act_max, layer.initialized) for layer in quantized])
    missing = [layer.name for layer, (_, _, init) in zip(quantized, ranges) if not init]
    if missing:
        msg = (f"layers {missing} have no activation range yet: calibrate (or train) the session before "
               f"computing layer statistics")
        raise ModelError(msg)

    acts, outputs = {}, {}
    for layer, (lo, hi, _) in zip(quantized, ranges):
        acts[layer.name] = _Activation(*qparams.activation_qparams(lo, hi))
        outputs[layer.name] = _Sqnr()
    for layer in state.layers:
        acts.setdefault(layer.name, _Activation())

    layer_outputs = [layer.output_tensor for layer in quantized]
    # One float run for all layers unless a layer's input is another layer's output (feeding it
    # would also replace the fetched output); then one run per layer.
    fed_inputs = {layer.input_tensor.ref() for layer in quantized}
    grouped = not any(t.ref() in fed_inputs for t in layer_outputs)
    from quantbridge.common.batches import check_iterable, no_batches, source_of
    from quantbridge.tf._batches import check_batch

    source = source_of(batches, "the batches")
    check_iterable(batches, source)
    shape = None if x_in.shape.rank is None else x_in.shape.as_list()
    dtype = x_in.dtype.base_dtype.as_numpy_dtype
    total = progress.batch_total(batches, max_batches)
    count = 0
    for batch in batches:
        if max_batches is not None and count >= int(max_batches):
            break
        feed = dict(base_feed)
        feed[x_in] = check_batch(batch, count + 1, source, shape, dtype, x_in.name)
        fetches = {"inputs": [layer.input_tensor for layer in state.layers], "quant": layer_outputs}
        got = sess.run(fetches, feed_dict={**feed, flag: 1})
        inputs = dict(zip((layer.name for layer in state.layers), got["inputs"]))
        for layer in state.layers:
            acts[layer.name].add(inputs[layer.name])
        if quantized:
            float_feed = {**feed, flag: 0}
            if grouped:
                refs = sess.run(layer_outputs, feed_dict={**float_feed, **{layer.input_tensor: inputs[layer.name]
                                                                          for layer in quantized}})
            else:
                refs = [sess.run(layer.output_tensor, feed_dict={**float_feed, layer.input_tensor: inputs[layer.name]})
                        for layer in quantized]
            for layer, ref, quant in zip(quantized, refs, got["quant"]):
                outputs[layer.name].add(ref, quant)
        count += 1
        progress.emit(PHASE, count, total)
    if count == 0:
        raise no_batches(source)

    out = []
    for layer, weight in zip(state.layers, weights):
        out.append(_entry(layer.name, layer.op_type, layer.strategy,
                          weight_summary(weight, layer.reduce_axes, layer.channel_axis), acts[layer.name].summary(),
                          outputs[layer.name].db() if layer.quantized else None, count))
    return out

"""Plugin-style quantization for PyTorch models: the vendor's five functions plus helpers for Java.

Vendor workflow (only the import differs from the vendor's snippet)::

    from quantbridge.torch import (generate_config_file, optimize_model, get_quant_loss,
                                   set_calibrate_state, generate_final_model)
    generate_config_file(model, "x:1,3,224,224", "./config_gen.json")   # user edits it
    quant_model = optimize_model(model, "./config_gen.json")
    optimizer = torch.optim.SGD(quant_model.parameters(), lr=0.01)       # over quant_model
    ...  loss = task_loss + 0.05 * get_quant_loss(quant_model)  (optional)
    torch.save(quant_model.state_dict(), "quant.pth")
    # or no training: set_calibrate_state(quant_model, True); forward passes; set_calibrate_state(quant_model, False)
    generate_final_model(build_model(), "./config_gen.json", "quant.pth", "./out")

Config naming: a layer's name is its module path with ``.`` replaced by ``/``, plus
``/`` and the op kind: ``nn.Conv2d`` -> ``Conv2D`` (``features.0`` -> ``features/0/Conv2D``),
``nn.Conv1d`` -> ``Conv1D``, ``nn.ConvTranspose2d`` -> ``Conv2DTranspose``, ``nn.Linear`` ->
``MatMul``. Its ``op_type`` is ``str(type(module))``, e.g.
``"<class 'torch.nn.modules.conv.Conv2d'>"``. Every such layer supports
``["Quant_INT8-8"]`` (uint8 asymmetric per-tensor input, int8 symmetric per-output-channel
weight, narrow range [-127, 127]); ConvTranspose2d only with ``groups=1``. Only modules of
exactly these classes are listed (subclasses may use their weight differently).
The optional ``"quantbridge": {"calibration": {"method": "minmax" | "percentile" | "mse",
"percentile": 99.99, "bins": 2048}}`` section chooses how calibration turns statistics into ranges.

A quantized layer is a subclass of its float class (``QuantConv2d`` is an ``nn.Conv2d``)
that keeps the float parameters under their names and adds the children
``activation_quant`` and ``weight_quant``; so ``quant_model.load_state_dict(float_state_dict,
strict=False)`` loads every float weight, and the quant ``state_dict`` is the float keys plus
the quantizer keys. Paths follow the vendor's rule (directories: letters, digits, ``_``;
file names: also ``.``); output files are written atomically and never overwritten unless asked.
"""

import copy

import numpy as np
import torch

from quantbridge import progress
from quantbridge.common import config as qconfig
from quantbridge.common import paramfile
from quantbridge.common import batches as qbatches
from quantbridge.errors import DivergedError, ModelError
from quantbridge.torch import _batches, _config, _distributed, _export, _layers, _points, _state
from quantbridge.torch._modules import ActivationFakeQuantize, WeightFakeQuantize, cached_weights

__all__ = ["generate_config_file", "optimize_model", "get_quant_loss", "set_calibrate_state",
           "generate_final_model", "list_layers", "build_config", "calibrate", "quant_params", "export_onnx",
           "fake_quant_predict", "cached_weights", "ActivationFakeQuantize", "WeightFakeQuantize", "load_state",
           "check_quant_model"]


def list_layers(model):
    """``[[layer name, op_type], ...]``: every quantizable layer of ``model``, in module order."""
    return _config.list_layers(model)


def build_config(model, input_shape):
    """The config template for ``model`` as a dict (every layer at ``"float"``), nothing written.

    Raises ModelError for a data-parallel wrapped model, ConfigError for a malformed ``input_shape``.
    """
    return _config.build_config(model, input_shape)


def generate_config_file(model, input_shape, dst_path="./config_gen.json"):
    """Write the config template for ``model`` to ``dst_path`` and return it.

    ``input_shape`` is the shape of the deployed model, ``"x:1,3,224,224;y:1,10"``; it is
    stored in the config as given and used for the ONNX export. Every quantizable layer
    is listed at ``"float"``; switch the chosen ones to ``"Quant_INT8-8"``.
    Raises ModelError (wrapped model), ConfigError (``input_shape``), PathError (``dst_path``).
    """
    cfg = build_config(model, input_shape)
    qconfig.write_template(cfg, dst_path)
    return cfg


def optimize_model(model, config_path):
    """Replace every ``Quant_INT8-8`` layer of ``model`` by its fake-quant wrapper, in place.

    ``config_path`` is a config file path or an already loaded dict. The whole config is
    checked against the model before anything changes (ConfigError, ModelError, PathError).
    Returns the quant model (``model`` itself unless the root module is a quantized layer);
    build the optimizer over it. The resolved config is kept as ``quant_model._quantbridge_config``.
    Activation quantizers start with quantization on: without calibration each one takes
    its range from the first batch it sees.
    """
    resolved = _config.resolve(model, config_path)
    return _config.quantize(model, resolved)


def _quant_layers(model):
    return [m for m in model.modules() if _layers.is_quant_layer(m)]


def get_quant_loss(quant_model):
    """A differentiable scalar: the summed relative quantization error of the quantized layers.

    For every quantized layer it adds ``||w - fq(w)||^2 / ||w||^2`` of the weight and
    ``||x - fq(x)||^2 / ||x||^2`` of the layer input in the current training-mode forward pass
    of ``quant_model`` (summed over the calls of a layer called more than once; denominators are
    constants). A layer that did not run in that pass (a branch not taken) adds its weight term
    only. The derived quantization points with a quantizer of their own (``quant_model.quantbridge_points``)
    add their input's term the same way. Gradients reach the weights (toward their grid points), the learned activation scales
    and the clipped activations. Call it after the forward pass and before ``backward``: the
    layer inputs are released when the backward pass reaches them. Add it with a small weight,
    ``loss + 0.05 * get_quant_loss(quant_model)``: about 1:20 to the task loss is typical.
    Returns 0 for a model without quantized layers.
    """
    terms = []
    for module in _quant_layers(quant_model):
        terms.append(module.weight_quant.quant_error(module.weight))
        act = module.activation_quant.quant_error()
        if act is not None:
            terms.append(act)
    container = getattr(quant_model, _points.CONTAINER, None)
    for quantizer in (container.values() if container is not None else ()):
        act = quantizer.quant_error()      # a derived point of its own (layer outputs, residual adds)
        if act is not None:
            terms.append(act)
    if not terms:
        return torch.zeros(())
    return torch.stack(terms).sum()


def _activation_quantizers(quant_model):
    _config.check_model(quant_model, "quant_model")
    quantizers = [m for m in quant_model.modules() if isinstance(m, ActivationFakeQuantize)]
    if not quantizers and not hasattr(quant_model, _config.CONFIG_ATTR):
        msg = "quant_model has no quantized layer: pass the model returned by optimize_model"
        raise ModelError(msg)
    return quantizers


def set_calibrate_state(quant_model, calibrate_mode):
    """Start (True) or finish (False) calibration of every activation quantizer.

    True: each quantizer forgets earlier statistics, then observes running min/max (plus a
    histogram for ``percentile``/``mse``) and passes values through unchanged; run forward
    passes in eval mode under ``torch.no_grad()`` (they change no weights). False: each
    quantizer that is calibrating and saw data takes the range of the configured method, then
    quantization is switched on. False is idempotent: a quantizer that is not calibrating keeps
    its parameters (calibrated or learned in QAT) and only has quantization switched on.
    Weights stay fake-quantized throughout. Under a ``torch.distributed`` process group of several
    ranks, False first merges the statistics of every calibrating observer across the ranks (a
    collective: every rank calls it), so every rank ends with the same scales, those of the union
    of the ranks' batches (``quantbridge.torch._distributed``).
    """
    quantizers = _activation_quantizers(quant_model)
    if not calibrate_mode:
        _distributed.sync_observers(quant_model)     # under a process group: merge every rank's statistics
    for quantizer in quantizers:
        if calibrate_mode:
            quantizer.reset_observer()
            quantizer.enable_observer().disable_fake_quant()
        else:
            quantizer.finish_calibration()


def calibrate(quant_model, batches, max_batches=None):
    """Calibrate over ``batches`` (tensors, numpy arrays or ``(inputs, targets)``); return the count.

    Runs ``set_calibrate_state(True)``, eval-mode ``no_grad`` forward passes (at most
    ``max_batches``), then ``set_calibrate_state(False)``; reports ``progress`` events for
    phase ``calibrate``. The training mode is restored afterwards. Under a ``torch.distributed``
    process group every rank calls it on its own batches (a rank may have none) and all end with
    the scales of the union; the count returned is this rank's.

    Raises DataError for a batch that is None, empty, not numeric, of another float dtype than the
    model's weights or holding NaN/Inf (naming the batch), or when no rank had batches;
    DivergedError if the ranges come out NaN/Inf. On any failure the quantizers keep their
    earlier parameters.
    """
    total = progress.batch_total(batches, max_batches)
    source = qbatches.source_of(batches)
    device = next((p.device for p in quant_model.parameters()), torch.device("cpu"))
    was_training = quant_model.training
    saved = copy.deepcopy(quant_model.state_dict())
    set_calibrate_state(quant_model, True)
    count = 0
    try:
        quant_model.eval()
        with torch.no_grad(), cached_weights(quant_model):
            for batch in batches:
                if max_batches is not None and count >= int(max_batches):
                    break
                x = _batches.model_input(batch, count + 1, source, quant_model, device)
                _batches.forward(quant_model, x, count + 1, source)
                count += 1
                progress.emit("calibrate", count, total)
    except BaseException:
        quant_model.load_state_dict(saved)     # a failed calibration leaves the earlier parameters
        raise
    finally:
        set_calibrate_state(quant_model, False)
        quant_model.train(was_training)
    try:
        if _distributed.total(count) == 0:      # under a process group: a rank may have no share
            raise qbatches.no_batches(source)
        _state.check_finite(quant_model.state_dict(), f"calibration over {source}", DivergedError, model=quant_model,
                            hint="the model's values overflowed on these batches; the earlier parameters are kept")
    except BaseException:
        quant_model.load_state_dict(saved)
        raise
    return count


def quant_params(quant_model):
    """Per-layer quantization parameters of a quant model as plain values (no ONNX names).

    One dict per quantizable layer, in module order, shaped like the parameter file's layers
    but naming PyTorch things instead of ONNX ones: ``name``, ``op_type``, ``quant_strategy``,
    ``node`` (the module path) and, for quantized layers, ``weight`` (``tensor``: the parameter
    name; per-channel scales of the PyTorch weight along ``axis``, before any BatchNorm
    folding) and ``activation`` (``tensor``: the quantizer's module path; ``scale``,
    ``zero_point``, the ``min``/``max`` they cover, and ``calibrated``).
    """
    _config.check_model(quant_model, "quant_model")
    out = []
    for name, (path, module) in _layers.find_layers(quant_model).items():
        entry = {"name": name, "op_type": _layers.op_type(_layers.float_class(module)),
                 "quant_strategy": qconfig.FLOAT, "node": path}
        if _layers.is_quant_layer(module):
            entry["quant_strategy"] = qconfig.INT8
            entry["weight"] = paramfile.weight_entry(_export.key(path, "weight"), module.weight_quant.ch_axis,
                                                     module.weight_scales().cpu().numpy())
            act = module.activation_quant.qparams()
            entry["activation"] = paramfile.activation_entry(_export.key(path, "activation_quant"), act["scale"],
                                                             act["zero_point"], act["min"], act["max"], bits=act["bits"])
            entry["activation"]["calibrated"] = act["calibrated"]
        out.append(entry)
    return out


def export_onnx(model, config, quant_state_or_pth, output_dir, name="model", overwrite=False, trust_pickle=False,
                checked=False):
    """Export the float ONNX model (weights on their int8 grid, BatchNorm folded); no parameter file.

    ``model`` is a freshly built float model; ``config`` a path or dict; ``quant_state_or_pth``
    a quant state dict or a ``.pth`` path. Writes ``<output_dir>/<name>.onnx`` (opset 13,
    dynamic batch axis) atomically and returns ``{"onnx": path, "layers": [...],
    "outputs": [...], "input_shape": ...}`` where ``layers`` are parameter-file layer entries.
    Raises ConfigError, ModelError, PathError or CheckpointError before writing anything. A ``.pth``
    is read with a restricted unpickler (tensors and plain containers only) unless ``trust_pickle``.
    ``checked``: ``config`` is a dict that already passed the structural rules (Java ran them).
    """
    return _export.export(model, config, quant_state_or_pth, output_dir, name, overwrite, with_params=False,
                          trust_pickle=trust_pickle, checked=checked)


def generate_final_model(model, config_file, pth_file="quant.pth", output_dir="./", name="model", overwrite=False,
                         trust_pickle=False):
    """Write ``<name>.onnx`` and ``<name>_quant_param.json`` from a trained/calibrated quant state.

    ``model`` must be a freshly built float model (it is not changed); ``pth_file`` holds
    ``quant_model.state_dict()``. The ONNX model is float, in eval mode, with BatchNorm
    folded into the preceding conv and every quantized weight on its int8 grid; the
    parameter file (``quantbridge.common.paramfile`` schema) names each layer's ONNX node,
    weight initializer (scales already multiplied by the folded BatchNorm factors) and
    input tensor. Everything is checked first; existing files are refused (PathError)
    unless ``overwrite=True``. Returns ``{"onnx": path, "params": path, "param_dict": dict}``.

    ``pth_file`` is read with a restricted unpickler: a file whose pickle would call anything but
    torch's tensor and storage rebuilders and plain containers is refused (CheckpointError) before
    any of it runs; pass ``trust_pickle=True`` only for files you made. A state holding NaN or Inf
    is refused too.
    """
    result = _export.export(model, config_file, pth_file, output_dir, name, overwrite, with_params=True,
                            trust_pickle=trust_pickle)
    return {"onnx": result["onnx"], "params": result["params"], "param_dict": result["param_dict"]}


def load_state(pth_file, trust_pickle=False):
    """The state dict saved in ``pth_file`` by ``torch.save``, read safely.

    A restricted unpickler loads only tensors, storages and plain containers: a file whose pickle
    would call anything else (code) is refused with CheckpointError before any of it runs. Pass
    ``trust_pickle=True`` only for files you made. A state holding NaN or Inf is refused too.
    """
    return _export.read_state(pth_file, trust_pickle)[0]


def check_quant_model(quant_model, after="training"):
    """Check a quant model after your code changed it (a training loop), before saving it.

    Raises ModelError if a layer the config quantizes was removed or replaced by a float layer,
    DivergedError if a weight or quantization scale is NaN or Inf. ``after`` names the step in
    the message.
    """
    _state.check_quant_model(quant_model, after)
    return quant_model


def fake_quant_predict(quant_model, x_numpy):
    """Outputs of ``quant_model`` for the numpy batch ``x_numpy`` (eval mode, no grad), as numpy;
    a list or tuple of arrays is a model with several inputs (``quant_model(*x_numpy)``).

    A model with several outputs gives a list of arrays.
    """
    was_training = quant_model.training
    device = next((p.device for p in quant_model.parameters()), torch.device("cpu"))
    try:
        quant_model.eval()
        with torch.no_grad(), cached_weights(quant_model):
            xs = x_numpy if isinstance(x_numpy, (list, tuple)) else [x_numpy]
            out = quant_model(*[torch.as_tensor(np.asarray(x, dtype=np.float32), device=device) for x in xs])
    finally:
        quant_model.train(was_training)
    if isinstance(out, (tuple, list)):
        return [t.detach().cpu().numpy() for t in out]
    return out.detach().cpu().numpy()

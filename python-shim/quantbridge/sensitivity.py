"""Automatic mixed precision: measure each quantized layer's effect, keep the fewest layers in float.

Two numbers describe a configuration (a set of layers kept in float, the rest of the candidate
layers quantized), both over the same batches:

* ``sqnr_db``: the output SQNR against the float model, ``10 log10(sum(ref^2) / sum((ref - out)^2))``
  over every output element of every batch (``inf`` when identical);
* ``eval``: the user's evaluation metric (accuracy in percent, say), when an evaluation function
  is given; ``None`` otherwise.

:func:`torch_sensitivity` / :func:`tf_sensitivity` measure, for every quantized layer, the model
with ONLY that layer quantized (``only_this``) and with every layer quantized EXCEPT that one
(``all_but_this``), plus the ``float`` and ``quantized`` baselines. :func:`select_float_layers`
(framework-free) then searches greedily: start from all quantized; while the target is missed,
put back to float the layer whose float-ing gains the most, measured on the real model; finally
drop from the chosen set every layer the target does not need. A target is
``{"max_drop": points}`` (the eval metric may fall at most that far below float) or
``{"min_sqnr_db": dB}``.

PyTorch switches layers off in place through the quantizers' enable flags (and restores them);
TensorFlow's rewrite has no per-layer switch, so each configuration is a config variant built in
a fresh graph (optimize, restore the float checkpoint, calibrate, measure).

Evaluation functions follow the command line's contract (``docs/cli.md``): PyTorch
``evaluate(model)``; TensorFlow ``evaluate(sess, info, quant_flag=1 or 0, is_train_flag=False)``,
with the graph as default, where ``info`` is what the graph builder returned plus
``info["quant_flag"]`` and ``info["is_train_flag"]``, the names of the vendor's two placeholders
(``quant_flag=0`` runs the float path of the same graph). Both return a number, or a dict with an
``accuracy`` entry, and may be callables or ``package.module:function`` targets (these receive
``progress=`` when they accept it). Data functions are ``package.module:function`` targets called
with ``data_kwargs`` (or, in the Python API, the batches themselves).
"""

import copy
import math

import numpy as np

from quantbridge import progress
from quantbridge.common import config as qconfig
from quantbridge.common import qparams, rules
from quantbridge.errors import ConfigError, ModelError, QuantBridgeError

__all__ = ["parse_target", "meets_target", "select_float_layers", "torch_sensitivity", "evaluate_with_float",
           "torch_select", "torch_analyze", "tf_sensitivity", "tf_evaluate_with_float", "tf_select", "tf_analyze",
           "config_with_float"]

PHASE = "sensitivity"
_TARGET_KEYS = ("max_drop", "min_sqnr_db")
_TOL = 1e-9


# -- targets and the greedy search (framework-free) ------------------------------------------------
def parse_target(target):
    """``{"max_drop": points}`` or ``{"min_sqnr_db": dB}`` checked and normalised (floats).

    Raises ConfigError for anything else (both keys, neither, a negative drop, not a number).
    """
    if not isinstance(target, dict):
        msg = f"target must be a dict {{'max_drop': points}} or {{'min_sqnr_db': dB}}, got {type(target).__name__}"
        raise ConfigError(msg)
    given = {k: v for k, v in target.items() if v is not None}
    unknown = [k for k in given if k not in _TARGET_KEYS]
    if unknown or len(given) != 1:
        msg = (f"target {target!r}: expected exactly one of {list(_TARGET_KEYS)} "
               f"(e.g. {{'max_drop': 0.5}} accuracy points, or {{'min_sqnr_db': 30}})")
        raise ConfigError(msg)
    key, value = next(iter(given.items()))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        msg = f"target {key} must be a finite number, got {value!r}"
        raise ConfigError(msg)
    if key == "max_drop" and value < 0:
        msg = f"target max_drop must be >= 0 (points below the float metric), got {value!r}"
        raise ConfigError(msg)
    return {key: float(value)}


def meets_target(metrics, target, float_metrics):
    """True if ``metrics`` (``{"sqnr_db", "eval"}``) meets ``target`` given the float baseline."""
    target = parse_target(target)
    if "max_drop" in target:
        if metrics.get("eval") is None or float_metrics.get("eval") is None:
            msg = "a max_drop target needs the evaluation metric: pass an evaluation function"
            raise ConfigError(msg)
        return float_metrics["eval"] - metrics["eval"] <= target["max_drop"] + _TOL
    return metrics["sqnr_db"] >= target["min_sqnr_db"] - _TOL


def _score(metrics, target):
    """Higher is better: the eval metric for a drop target (SQNR breaks ties), else the SQNR."""
    sqnr = metrics["sqnr_db"]
    if "max_drop" in target:
        return (metrics["eval"], sqnr)
    return (sqnr, 0.0)


def select_float_layers(results, target, measure=None, search="auto"):
    """The fewest layers found that must stay in float for ``target``; greedy, on measured numbers.

    ``results`` is what :func:`torch_sensitivity` / :func:`tf_sensitivity` return; ``measure`` a
    callable ``measure(float_layers) -> {"sqnr_db", "eval"}`` that runs the real model with the
    given layers in float and the other candidates quantized. Every number the search compares
    is measured (``results`` already holds the all-quantized, all-float and each "all but one
    quantized" configuration); a configuration not measured yet needs ``measure`` (ConfigError
    without it).

    ``search``: ``"greedy"`` re-measures every remaining layer at each step and floats the best;
    ``"ranked"`` floats layers in the order of their single-layer gain (``all_but_this``),
    re-measuring once per step; ``"auto"`` is greedy up to 12 candidate layers. After the target
    is met, each chosen layer (last chosen first) is tried back in quantized form and left there
    when the target still holds.

    Returns ``{"float_layers": [...] (model order), "met": bool, "metrics": {...}, "target": {...},
    "steps": [{"float_layers", "sqnr_db", "eval"}, ...], "measured": n, "note": str}``. ``met`` is
    False (and ``float_layers`` all of them) when even the all-float configuration misses it.
    """
    target = parse_target(target)
    names = [entry["name"] for entry in results["layers"]]
    float_metrics = results["float"]
    if "max_drop" in target and float_metrics.get("eval") is None:
        msg = "a max_drop target needs the evaluation metric, but the results have none: pass an evaluation function"
        raise ConfigError(msg)
    known = {frozenset(): results["quantized"], frozenset(names): float_metrics}
    for entry in results["layers"]:
        known.setdefault(frozenset([entry["name"]]), entry["all_but_this"])
    counter = {"measured": 0}

    def ordered(layers):
        return [n for n in names if n in layers]

    def get(layers):
        key = frozenset(layers)
        if key not in known:
            if measure is None:
                msg = (f"select_float_layers needs measure() to evaluate {ordered(key)} in float; pass the "
                       f"framework's evaluate function")
                raise ConfigError(msg)
            known[key] = dict(measure(ordered(key)))
            counter["measured"] += 1
        return known[key]

    def ok(layers):
        return meets_target(get(layers), target, float_metrics)

    if search == "auto":
        search = "greedy" if len(names) <= 12 else "ranked"
    if search not in ("greedy", "ranked"):
        msg = f"search must be 'greedy', 'ranked' or 'auto', got {search!r}"
        raise ConfigError(msg)
    single_rank = sorted(names, key=lambda n: _score(known[frozenset([n])], target), reverse=True)

    chosen = []
    steps = [_step(chosen, get(chosen))]
    while not ok(chosen) and len(chosen) < len(names):
        remaining = [n for n in names if n not in chosen]
        candidates = remaining if search == "greedy" else [next(n for n in single_rank if n in remaining)]
        best = max(candidates, key=lambda n: _score(get(chosen + [n]), target))  # first of equals: model order
        chosen.append(best)
        steps.append(_step(ordered(chosen), get(chosen)))
    met = ok(chosen)
    if met:
        for name in reversed(list(chosen)):
            trial = [n for n in chosen if n != name]
            if ok(trial):
                chosen = trial
                steps.append(_step(ordered(chosen), get(chosen)))
    final = get(chosen)
    if met:
        note = (f"target met with {len(chosen)} of {len(names)} layers in float" if chosen
                else "target met with every candidate layer quantized")
    else:
        note = f"even with all {len(names)} candidate layers in float the target is missed"
    return {"float_layers": ordered(chosen), "met": met, "metrics": dict(final), "target": target,
            "steps": steps, "measured": counter["measured"], "note": note}


def _step(layers, metrics):
    return {"float_layers": list(layers), "sqnr_db": metrics["sqnr_db"], "eval": metrics.get("eval")}


def config_with_float(config, float_layers):
    """A deep copy of ``config`` (dict or path) with ``float_layers`` set to ``"float"``."""
    cfg = copy.deepcopy(qconfig.load(config))
    entries = cfg["layer_strategy"]
    missing = [name for name in float_layers if name not in entries]
    if missing:
        msg = f"layers {missing} are not in the config's layer_strategy (it has {len(entries)} entries)"
        raise ConfigError(msg)
    for name in float_layers:
        entries[name]["quant_strategy"] = qconfig.FLOAT
    return cfg


# -- shared helpers ----------------------------------------------------------------------------------
class _Eval:
    """The user's evaluation function (a callable or a ``package.module:function`` target).

    Calling it returns its metric as a float: a number, or a dict's ``accuracy`` entry, as the
    project commands accept it.
    """

    def __init__(self, fn, what):
        if isinstance(fn, str) and ":" in fn:
            from quantbridge._java_support import call_user

            self.name = fn
            self.fn = lambda *args, **kwargs: call_user(fn, list(args), kwargs, "evaluate")
        elif callable(fn):
            self.name = getattr(fn, "__qualname__", None) or repr(fn)
            self.fn = fn
        else:
            msg = f"{what} must be a callable or 'package.module:function', got {fn!r}"
            raise ConfigError(msg)

    def __call__(self, *args, **kwargs):
        return _number(self.fn(*args, **kwargs), f"evaluation function {self.name}")


def _callable(fn, what):
    """An :class:`_Eval` of ``fn``, or None."""
    return None if fn is None else _Eval(fn, what)


def _number(value, what):
    """``value`` as a float: a number, or a dict's ``accuracy`` entry (QuantBridgeError otherwise)."""
    raw = value.get("accuracy") if isinstance(value, dict) else value
    out = None
    if not isinstance(raw, (bool, str, bytes)):
        try:
            out = float(raw)
        except (TypeError, ValueError):
            out = None
    if out is None or math.isnan(out):
        msg = (f"{what} returned {type(value).__name__} {value!r}; expected a number (the accuracy) "
               f"or a dict with an 'accuracy' entry")
        raise QuantBridgeError(msg)
    return out


def _take(batches, max_batches):
    out = []
    for batch in batches:
        if max_batches is not None and len(out) >= int(max_batches):
            break
        if isinstance(batch, (tuple, list)):
            if not batch:
                msg = "a batch is an empty tuple/list; expected a tensor/array or (inputs, targets)"
                raise QuantBridgeError(msg)
            batch = batch[0]
        out.append(batch)
    if not out:
        msg = "sensitivity got no batches; pass at least one input batch"
        raise QuantBridgeError(msg)
    return out


def _flat(outputs):
    """Every output element as one float64 vector (a tensor/array, or a tuple/list/dict of them)."""
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if not isinstance(outputs, (tuple, list)):
        outputs = [outputs]
    parts = []
    for out in outputs:
        if hasattr(out, "detach"):
            out = out.detach().cpu().numpy()
        parts.append(np.asarray(out, dtype=np.float64).reshape(-1))
    return np.concatenate(parts) if parts else np.zeros(0)


def _sweep(names, measure, float_metrics, quant_metrics):
    """``only_this`` and ``all_but_this`` of every layer, with progress events."""
    total = 2 * len(names)
    layers, step = [], 0
    for name in names:
        others = [n for n in names if n != name]
        only = quant_metrics if not others else measure(others)
        step += 1
        progress.emit(PHASE, step, total)
        all_but = float_metrics if not others else measure([name])
        step += 1
        progress.emit(PHASE, step, total)
        layers.append({"name": name, "only_this": only, "all_but_this": all_but})
    return layers


# -- PyTorch ---------------------------------------------------------------------------------------
class _TorchProbe:
    """Runs a calibrated quant model with chosen layers in float; restores the flags on close."""

    def __init__(self, quant_model, batches, eval_fn, max_batches):
        import torch

        from quantbridge.torch import _config, _layers

        _config.check_model(quant_model, "quant_model")
        self.torch = torch
        self.model = quant_model
        found = _layers.find_layers(quant_model)
        self.layers = {name: module for name, (_, module) in found.items() if _layers.is_quant_layer(module)}
        self.op_types = {name: _layers.op_type(_layers.float_class(m)) for name, m in self.layers.items()}
        if not self.layers:
            msg = "quant_model has no quantized layer: pass the model returned by optimize_model"
            raise ModelError(msg)
        raw = [name for name, m in self.layers.items() if not bool(m.activation_quant.calibrated[0])]
        if raw:
            msg = (f"layers {raw} are not calibrated; calibrate the quant model (quantbridge.torch.calibrate) "
                   f"before measuring sensitivity")
            raise ModelError(msg)
        device = next((p.device for p in quant_model.parameters()), torch.device("cpu"))
        # a model with several inputs takes a tuple of them per batch: ((x, mask), targets)
        self.inputs = [tuple(self._tensor(i, device) for i in b) if isinstance(b, (tuple, list)) else
                       (self._tensor(b, device),) for b in _take(batches, max_batches)]
        self.eval_fn = _callable(eval_fn, "eval_fn")
        self.training = quant_model.training
        self.saved = {name: (m.activation_quant.fake_quant_enabled.clone(), m.activation_quant.observer_enabled.clone(),
                             m.weight_quant.fake_quant_enabled.clone()) for name, m in self.layers.items()}
        self.reference = None

    def _tensor(self, x, device):
        return (self.torch.as_tensor(np.asarray(x, dtype=np.float32)) if isinstance(x, np.ndarray) else x).to(device)

    def names(self):
        return list(self.layers)

    def restore(self):
        for name, (act_fq, act_obs, w_fq) in self.saved.items():
            module = self.layers[name]
            module.activation_quant.fake_quant_enabled.copy_(act_fq)
            module.activation_quant.observer_enabled.copy_(act_obs)
            module.weight_quant.enable_fake_quant(bool(w_fq[0]))
        self.model.train(self.training)

    def _set(self, float_layers):
        unknown = [n for n in float_layers if n not in self.layers]
        if unknown:
            msg = f"layers {unknown} are not quantized layers of quant_model; expected some of {self.names()}"
            raise ConfigError(msg)
        for name, module in self.layers.items():
            quantized = name not in float_layers
            module.activation_quant.disable_observer().enable_fake_quant(quantized)
            module.weight_quant.enable_fake_quant(quantized)

    def _outputs(self):
        from quantbridge.torch._modules import cached_weights

        self.model.eval()
        with self.torch.no_grad(), cached_weights(self.model):
            return np.concatenate([_flat(self.model(*xs)) for xs in self.inputs])

    def measure(self, float_layers):
        if self.reference is None:
            self._set(self.names())
            self.reference = self._outputs()
        self._set(float_layers)
        sqnr = qparams.sqnr_db(self.reference, self._outputs())
        value = None
        if self.eval_fn is not None:
            from quantbridge.torch._modules import cached_weights

            self.model.eval()
            with cached_weights(self.model):    # the user's evaluation changes no weight
                value = self.eval_fn(self.model)
        return {"sqnr_db": float(sqnr), "eval": value}


def _torch_results(probe):
    names = probe.names()
    float_metrics = probe.measure(names)
    quant_metrics = probe.measure([])
    layers = _sweep(names, probe.measure, float_metrics, quant_metrics)
    for entry in layers:
        entry["op_type"] = probe.op_types[entry["name"]]
    return {"framework": "torch", "layers": layers, "float": float_metrics, "quantized": quant_metrics,
            "batches": len(probe.inputs), "has_eval": probe.eval_fn is not None}


def torch_sensitivity(quant_model, batches, eval_fn=None, max_batches=None):
    """Per-layer sensitivity of a CALIBRATED quant model (from ``optimize_model`` + calibration).

    ``batches``: tensors, numpy arrays or ``(inputs, targets)`` pairs (at most ``max_batches``;
    ``inputs`` a tuple of them for a model with several inputs);
    ``eval_fn(model)`` returning a number or ``{"accuracy": number, ...}`` (or its target string)
    is optional. Returns ``{"framework",
    "layers": [{"name", "op_type", "only_this": m, "all_but_this": m}], "float": m,
    "quantized": m, "batches": n, "has_eval": bool}`` with ``m = {"sqnr_db", "eval"}``.
    Every quantizer flag and the training mode are restored afterwards, also on error.
    Raises ModelError for a model without quantized or with uncalibrated layers.
    """
    probe = _TorchProbe(quant_model, batches, eval_fn, max_batches)
    try:
        return _torch_results(probe)
    finally:
        probe.restore()


def evaluate_with_float(quant_model, float_layers, batches, eval_fn=None, max_batches=None):
    """``{"sqnr_db", "eval"}`` of the quant model with ``float_layers`` in float (state restored)."""
    probe = _TorchProbe(quant_model, batches, eval_fn, max_batches)
    try:
        return probe.measure(list(float_layers))
    finally:
        probe.restore()


def torch_select(quant_model, batches, target, eval_fn=None, max_batches=None, search="auto"):
    """Sensitivity, then :func:`select_float_layers` re-measuring on the real model.

    Returns ``{"sensitivity": ..., "selection": ..., "config": the model's config with the chosen
    layers at "float"}``; the model's flags are restored afterwards.
    """
    target = parse_target(target)
    probe = _TorchProbe(quant_model, batches, eval_fn, max_batches)
    if "max_drop" in target and probe.eval_fn is None:
        msg = "a max_drop target needs eval_fn (e.g. 'my_project.eval:accuracy'); or use min_sqnr_db"
        raise ConfigError(msg)
    try:
        results = _torch_results(probe)
        selection = select_float_layers(results, target, probe.measure, search)
    finally:
        probe.restore()
    from quantbridge.torch._config import CONFIG_ATTR

    base = getattr(quant_model, CONFIG_ATTR, None)
    cfg = config_with_float(base, selection["float_layers"]) if base is not None else None
    return {"sensitivity": results, "selection": selection, "config": cfg}


def _data(data_function, data_kwargs, max_batches):
    """The batches of the user's data function, checked and limited as the project commands do."""
    from quantbridge._cli_support import limited_batches

    return limited_batches(data_function, data_kwargs, max_batches or 0)


def torch_analyze(quant_model, data_function, target, eval_function=None, max_batches=None, search="auto",
                  data_kwargs=None):
    """Java's entry point: :func:`torch_select` over the batches ``data_function(**data_kwargs)`` returns."""
    batches = _data(data_function, data_kwargs, max_batches)
    return torch_select(quant_model, batches, target, eval_function, max_batches, search)


# -- TensorFlow --------------------------------------------------------------------------------------
class _TfProbe:
    """Builds config variants in fresh graphs (optimize, restore float, calibrate) and measures them."""

    def __init__(self, builder, config, float_ckpt, batches, input_name, output_names, eval_fn=None,
                 max_batches=None, builder_kwargs=None, calib_batches=None):
        self.builder = builder
        self.builder_kwargs = dict(builder_kwargs or {})
        self.config = copy.deepcopy(qconfig.load(config))
        entries = self.config["layer_strategy"]
        self.op_types = {name: entry.get("op_type") for name, entry in entries.items()
                         if not rules.is_comment(name) and entry["quant_strategy"] != qconfig.FLOAT}
        if not self.op_types:
            msg = "the config quantizes no layer: set the candidate layers to 'Quant_INT8-8'"
            raise ConfigError(msg)
        self.float_ckpt = str(float_ckpt)
        self.input_name = input_name
        self.output_names = [output_names] if isinstance(output_names, str) else list(output_names)
        self.inputs = [np.asarray(b, dtype=np.float32) for b in _take(batches, max_batches)]
        self.calib = self.inputs[:int(calib_batches)] if calib_batches else self.inputs
        self.eval_fn = _callable(eval_fn, "eval_fn")
        self.reference = None
        self.float_metrics = None
        self.cache = {}
        self.variants = 0

    def names(self):
        return list(self.op_types)

    def _outputs(self, gs, quantized):
        fetches = [gs._tensor(n) for n in self.output_names]  # noqa: SLF001 - GraphSession's name lookup
        x = gs._tensor(self.input_name)  # noqa: SLF001
        parts = [_flat(gs.sess.run(fetches, feed_dict={**gs.feed(quantized), x: batch})) for batch in self.inputs]
        return np.concatenate(parts)

    def _eval(self, gs, quantized):
        """The project commands' contract: ``evaluate(sess, info, quant_flag=1 or 0, is_train_flag=False)``."""
        if self.eval_fn is None:
            return None
        with gs.graph.as_default():
            return self.eval_fn(gs.sess, gs.info, quant_flag=1 if quantized else 0, is_train_flag=False)

    def measure(self, float_layers):
        unknown = [n for n in float_layers if n not in self.op_types]
        if unknown:
            msg = f"layers {unknown} are not quantized in the config; expected some of {self.names()}"
            raise ConfigError(msg)
        key = frozenset(float_layers)
        if key in self.cache:
            return dict(self.cache[key])
        if self.float_metrics is None and key:
            self.measure([])  # the all-quantized variant also gives the float reference
        if len(key) == len(self.op_types):
            return dict(self.float_metrics)
        from quantbridge._tf_support import GraphSession

        gs = GraphSession(self.builder, self.builder_kwargs)
        try:
            gs.check_names(self.input_name, self.output_names)
            with progress.sink(None):   # one calibration per variant: not worth a progress bar each
                gs.optimize(config_with_float(self.config, sorted(key)))
                gs.restore_float(self.float_ckpt)
                gs.calibrate(self.calib, self.input_name, self.output_names)
                if self.reference is None:
                    self.reference = self._outputs(gs, quantized=False)
                    self.float_metrics = {"sqnr_db": math.inf, "eval": self._eval(gs, quantized=False)}
                out = self._outputs(gs, quantized=True)
                value = self._eval(gs, quantized=True)
        finally:
            gs.close()
        self.variants += 1
        result = {"sqnr_db": float(qparams.sqnr_db(self.reference, out)), "eval": value}
        self.cache[key] = result
        return dict(result)


def _tf_results(probe):
    quant_metrics = probe.measure([])
    names = probe.names()
    float_metrics = dict(probe.float_metrics)
    layers = _sweep(names, probe.measure, float_metrics, quant_metrics)
    for entry in layers:
        entry["op_type"] = probe.op_types[entry["name"]]
    return {"framework": "tensorflow", "layers": layers, "float": float_metrics, "quantized": quant_metrics,
            "batches": len(probe.inputs), "has_eval": probe.eval_fn is not None}


def tf_sensitivity(builder, config, float_ckpt, batches, input_name, output_names, eval_fn=None, max_batches=None,
                   builder_kwargs=None, calib_batches=None):
    """Per-layer sensitivity of a TF1-style graph; the config's quantized layers are the candidates.

    ``builder`` (``package.module:function``) builds the float graph in the default graph;
    ``float_ckpt`` holds its trained weights. Every configuration is a fresh graph: the config
    variant is applied by ``optimize_model``, the float checkpoint restored, the activation ranges
    calibrated on the first ``calib_batches`` batches (all by default) and the outputs
    ``output_names`` compared with the float outputs for input ``input_name``. ``eval_fn`` is
    called as ``eval_fn(sess, info, quant_flag=1 or 0, is_train_flag=False)`` with the graph as
    default (``quant_flag=0`` gives the float metric). Returns the same layout as
    :func:`torch_sensitivity` (2 x layers + 1 graphs are built).
    """
    probe = _TfProbe(builder, config, float_ckpt, batches, input_name, output_names, eval_fn, max_batches,
                     builder_kwargs, calib_batches)
    return _tf_results(probe)


def tf_evaluate_with_float(builder, config, float_ckpt, float_layers, batches, input_name, output_names, eval_fn=None,
                           max_batches=None, builder_kwargs=None, calib_batches=None):
    """``{"sqnr_db", "eval"}`` of the config variant with ``float_layers`` in float (fresh graphs)."""
    probe = _TfProbe(builder, config, float_ckpt, batches, input_name, output_names, eval_fn, max_batches,
                     builder_kwargs, calib_batches)
    return probe.measure(list(float_layers))


def tf_select(builder, config, float_ckpt, batches, input_name, output_names, target, eval_fn=None, max_batches=None,
              builder_kwargs=None, calib_batches=None, search="auto"):
    """:func:`tf_sensitivity`, then :func:`select_float_layers` (every configuration measured once).

    Returns ``{"sensitivity", "selection", "config"}`` (``config``: the input config with the chosen
    layers at ``"float"``).
    """
    target = parse_target(target)
    probe = _TfProbe(builder, config, float_ckpt, batches, input_name, output_names, eval_fn, max_batches,
                     builder_kwargs, calib_batches)
    if "max_drop" in target and probe.eval_fn is None:
        msg = "a max_drop target needs eval_fn (e.g. 'my_project.eval:accuracy'); or use min_sqnr_db"
        raise ConfigError(msg)
    results = _tf_results(probe)
    selection = select_float_layers(results, target, probe.measure, search)
    selection["graphs_built"] = probe.variants
    return {"sensitivity": results, "selection": selection,
            "config": config_with_float(probe.config, selection["float_layers"])}


def tf_analyze(builder, builder_kwargs, config, float_ckpt, data_function, input_name, output_names, target,
               eval_function=None, max_batches=None, calib_batches=None, search="auto", data_kwargs=None):
    """Java's entry point: :func:`tf_select` over the batches ``data_function(**data_kwargs)`` returns."""
    batches = _data(data_function, data_kwargs, max_batches)
    return tf_select(builder, config, float_ckpt, batches, input_name, output_names, target, eval_function,
                     max_batches, builder_kwargs, calib_batches, search)

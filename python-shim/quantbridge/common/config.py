"""The vendor's config file: template building, loading and validation (framework-free).

Layout (seed)::

    {
      "quant_strategy_for op '<op type>'": ["Quant_INT8-8"],      # hints: lists of strategy names
      "input_shape": "x:1,3,224,224",                             # PyTorch (checked wherever present)
      "layer_strategy": {"<layer>": {"op_type": "<op type>", "quant_strategy": "float"}},
      "quantbridge": {"calibration": {"method": "minmax"},       # optional extra section
                      "integer_kernels": true,                   # derived points for ORT integer kernels
                      "reduce_range": false,                     # 7-bit activations (u8*s8 saturation)
                      "onnx_weight_type": "uint8"}               # INT8 ONNX weights: "uint8" or "int8" (Java export)
    }

Keys starting with ``//`` are comments and are ignored wherever they appear. The structural
rules (keys, types, allowed values, their messages) are data, ``config_rules.json``, applied by
:mod:`quantbridge.common.rules` here and by the Java library alike; what depends on the model
(layer names, op types) is checked by :func:`validate` only.
"""

import json
import os

from quantbridge.common import rules
from quantbridge.common.paths import atomic_write_text, check_file_path
from quantbridge.errors import ConfigError, PathError

__all__ = ["FLOAT", "INT8", "EXTRA_KEY", "DEFAULT_EXTRA", "hint_key", "build_template", "write_template",
           "load", "validate", "parse_input_shape", "format_input_shape"]

FLOAT = "float"
INT8 = "Quant_INT8-8"
EXTRA_KEY = "quantbridge"
DEFAULT_EXTRA = {"calibration": rules.defaults("validate", EXTRA_KEY, "calibration"), "integer_kernels": True,
                 "reduce_range": False}


def hint_key(op_type):
    hint = rules.RULES["hint"]
    return f"{hint['prefix']}{op_type}{hint['suffix']}"


def build_template(layers, supported, input_shape=None):
    """A config dict listing every layer at ``float``.

    ``layers``: ordered (name, op_type) pairs; ``supported``: op_type -> list of strategies.
    """
    cfg = {}
    for op_type in dict.fromkeys(op for _, op in layers):
        cfg[hint_key(op_type)] = list(supported[op_type])
    if input_shape is not None:
        cfg["input_shape"] = input_shape
    cfg["layer_strategy"] = {name: {"op_type": op, "quant_strategy": FLOAT} for name, op in layers}
    return cfg


def dumps(cfg):
    return json.dumps(cfg, indent=2, ensure_ascii=False) + "\n"


def write_template(cfg, dst_path):
    """Write ``cfg`` atomically to ``dst_path`` (checked against the path rule)."""
    target = check_file_path(dst_path, "dst_path")
    atomic_write_text(target, dumps(cfg))
    return target


def load(config):
    """Read a config from a path or accept a dict; check its structure (the ``read`` rules)."""
    if isinstance(config, dict):
        cfg = config
        where = "config"
    else:
        where = str(config)
        if not os.path.isfile(where):
            msg = f"config file {where!r} does not exist"
            raise PathError(msg)
        try:
            with open(where, encoding="utf-8") as fh:
                cfg = json.load(fh)
        except json.JSONDecodeError as exc:
            msg = f"config file {where!r} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
            raise ConfigError(msg) from None
    rules.check(cfg, "read", where)
    return cfg


def extra_settings(cfg):
    """The optional ``quantbridge`` section of a validated config merged over the defaults."""
    extra = cfg.get(EXTRA_KEY) or {}
    calib = dict(DEFAULT_EXTRA["calibration"])
    calib.update({k: v for k, v in (extra.get("calibration") or {}).items() if not rules.is_comment(k)})
    flags = {flag: extra.get(flag, DEFAULT_EXTRA[flag]) for flag in ("integer_kernels", "reduce_range")}
    return {"calibration": calib, **flags}


def validate(cfg, known_layers, supported, checked=False):
    """Check the config against the model; return ``{layer: strategy}`` in model order.

    ``known_layers``: ordered mapping layer name -> op_type (what the model has);
    ``supported``: op_type -> strategies (besides ``float``). The ``validate`` rules run first
    unless ``checked`` says the caller (Java) already ran them on this config.
    """
    if not checked:
        rules.check(cfg, "validate")
    entries = {k: v for k, v in cfg["layer_strategy"].items() if not rules.is_comment(k)}
    unknown = [name for name in entries if name not in known_layers]
    if unknown:
        sample = list(known_layers)[:8]
        msg = (f"layer {unknown[0]!r} in the config is not a quantizable layer of this model (layers cannot be "
               f"added); the model has {len(known_layers)} such layers, e.g. {sample}")
        raise ConfigError(msg)
    strategies = {}
    for name, op_type in known_layers.items():
        entry = entries.get(name)
        if entry is None:
            strategies[name] = FLOAT
            continue
        given_op = entry.get("op_type", op_type)
        if given_op != op_type:
            msg = f"layer {name!r}: op_type is {given_op!r} in the config but {op_type!r} in the model"
            raise ConfigError(msg)
        strategy = entry["quant_strategy"]
        allowed = [FLOAT] + list(supported.get(op_type, []))
        if strategy not in allowed:
            raise rules.unsupported(name, op_type, strategy, allowed)
        strategies[name] = strategy
    return strategies


def parse_input_shape(text):
    """``"x:1,3,224,224;y:1,10"`` -> ``[("x", [1, 3, 224, 224]), ("y", [1, 10])]``."""
    return rules.parse_input_shape(text)


def format_input_shape(shapes):
    return ";".join(f"{name}:{','.join(str(d) for d in dims)}" for name, dims in shapes)

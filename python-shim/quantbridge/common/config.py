"""The vendor's config file: template building, loading and validation (framework-free).

Layout (seed)::

    {
      "quant_strategy_for op '<op type>'": ["Quant_INT8-8"],      # hints, not parsed
      "input_shape": "x:1,3,224,224",                             # PyTorch only
      "layer_strategy": {"<layer>": {"op_type": "<op type>", "quant_strategy": "float"}},
      "quantbridge": {"calibration": {"method": "minmax"},       # optional extra section
                      "integer_kernels": true,                   # derived points for ORT integer kernels
                      "reduce_range": false}                     # 7-bit activations (u8*s8 saturation)
    }

Keys starting with ``//`` are comments and are ignored wherever they appear.
"""

import json
import os
import re

from quantbridge.common.paths import atomic_write_text, check_file_path
from quantbridge.errors import ConfigError, PathError

__all__ = ["FLOAT", "INT8", "EXTRA_KEY", "DEFAULT_EXTRA", "hint_key", "build_template", "write_template",
           "load", "validate", "parse_input_shape", "format_input_shape"]

FLOAT = "float"
INT8 = "Quant_INT8-8"
EXTRA_KEY = "quantbridge"
CALIBRATION_METHODS = ("minmax", "percentile", "mse")
DEFAULT_EXTRA = {"calibration": {"method": "minmax", "percentile": 99.99, "bins": 2048}, "integer_kernels": True,
                 "reduce_range": False}
_SHAPE_PART = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*(\d+(?:\s*,\s*\d+)*)\s*$")


def hint_key(op_type):
    return f"quant_strategy_for op '{op_type}'"


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
    """Read a config from a path or accept a dict; check its structure."""
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
    if not isinstance(cfg, dict):
        msg = f"{where}: expected a JSON object at the top level, got {type(cfg).__name__}"
        raise ConfigError(msg)
    layers = cfg.get("layer_strategy")
    if not isinstance(layers, dict):
        msg = f"{where}: missing or malformed 'layer_strategy' (expected an object of layer name -> entry)"
        raise ConfigError(msg)
    for name, entry in layers.items():
        if name.startswith("//"):
            continue
        if not isinstance(entry, dict):
            msg = f"{where}: layer_strategy[{name!r}] must be an object with 'op_type' and 'quant_strategy'"
            raise ConfigError(msg)
        if "quant_strategy" not in entry:
            msg = f"{where}: layer_strategy[{name!r}] has no 'quant_strategy' (expected 'float' or a strategy)"
            raise ConfigError(msg)
    return cfg


def extra_settings(cfg):
    """The optional ``quantbridge`` section merged over the defaults, validated."""
    extra = cfg.get(EXTRA_KEY, {}) or {}
    if not isinstance(extra, dict):
        msg = f"'{EXTRA_KEY}' must be an object, got {type(extra).__name__}"
        raise ConfigError(msg)
    unknown = [k for k in extra if not k.startswith("//") and k not in DEFAULT_EXTRA]
    if unknown:
        msg = f"unknown key(s) {unknown} in '{EXTRA_KEY}'; expected one of {sorted(DEFAULT_EXTRA)}"
        raise ConfigError(msg)
    calib = dict(DEFAULT_EXTRA["calibration"])
    given = extra.get("calibration", {}) or {}
    if not isinstance(given, dict):
        msg = f"'{EXTRA_KEY}.calibration' must be an object"
        raise ConfigError(msg)
    for key, value in given.items():
        if key.startswith("//"):
            continue
        if key not in calib:
            msg = f"unknown key {key!r} in '{EXTRA_KEY}.calibration'; expected one of {sorted(calib)}"
            raise ConfigError(msg)
        calib[key] = value
    if calib["method"] not in CALIBRATION_METHODS:
        msg = (f"'{EXTRA_KEY}.calibration.method' is {calib['method']!r}; expected one of "
               f"{list(CALIBRATION_METHODS)}")
        raise ConfigError(msg)
    if not isinstance(calib["percentile"], (int, float)) or not 50.0 < float(calib["percentile"]) <= 100.0:
        msg = f"'{EXTRA_KEY}.calibration.percentile' is {calib['percentile']!r}; expected a number in (50, 100]"
        raise ConfigError(msg)
    if not isinstance(calib["bins"], int) or calib["bins"] < 16:
        msg = f"'{EXTRA_KEY}.calibration.bins' is {calib['bins']!r}; expected an integer >= 16"
        raise ConfigError(msg)
    flags = {}
    for flag in ("integer_kernels", "reduce_range"):
        flags[flag] = extra.get(flag, DEFAULT_EXTRA[flag])
        if not isinstance(flags[flag], bool):
            msg = f"'{EXTRA_KEY}.{flag}' is {flags[flag]!r}; expected true or false"
            raise ConfigError(msg)
    return {"calibration": calib, **flags}


def validate(cfg, known_layers, supported):
    """Check the config against the model; return ``{layer: strategy}`` in model order.

    ``known_layers``: ordered mapping layer name -> op_type (what the model has);
    ``supported``: op_type -> strategies (besides ``float``).
    """
    entries = {k: v for k, v in cfg["layer_strategy"].items() if not k.startswith("//")}
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
            msg = (f"layer {name!r} ({op_type}): quant_strategy {strategy!r} is not supported for this op type; "
                   f"expected one of {allowed}")
            raise ConfigError(msg)
        strategies[name] = strategy
    extra_settings(cfg)
    return strategies


def parse_input_shape(text):
    """``"x:1,3,224,224;y:1,10"`` -> ``[("x", [1, 3, 224, 224]), ("y", [1, 10])]``."""
    if not isinstance(text, str) or not text.strip():
        msg = f"input_shape {text!r} is malformed; expected 'name:d1,d2,...' with inputs separated by ';'"
        raise ConfigError(msg)
    out = []
    for part in text.strip().strip(";").split(";"):
        m = _SHAPE_PART.match(part)
        if not m:
            msg = (f"input_shape part {part!r} of {text!r} is malformed; expected 'name:d1,d2,...' "
                   f"(positive integers, e.g. 'x:1,3,224,224')")
            raise ConfigError(msg)
        dims = [int(d) for d in m.group(2).split(",")]
        if any(d <= 0 for d in dims):
            msg = f"input_shape part {part!r}: every dimension must be a positive integer"
            raise ConfigError(msg)
        out.append((m.group(1), dims))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        msg = f"input_shape {text!r} names an input twice"
        raise ConfigError(msg)
    return out


def format_input_shape(shapes):
    return ";".join(f"{name}:{','.join(str(d) for d in dims)}" for name, dims in shapes)

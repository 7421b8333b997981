"""The config's structural rules (``config_rules.json``) and the small checker that applies them.

The same file ships in the Java jar and ``io.quantbridge.config.ConfigRules`` applies it the same
way, so a rule, its order and its message are written once for both languages. Framework-free.
"""

import json
import os
import re

from quantbridge.errors import ConfigError

__all__ = ["RULES", "check", "check_member", "quantized", "supported", "unsupported", "is_hint_key", "message",
           "node_at", "defaults", "is_comment"]

with open(os.path.join(os.path.dirname(__file__), "config_rules.json"), encoding="utf-8") as _fh:
    RULES = json.load(_fh)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LONG_MAX = 2 ** 63 - 1


def message(template, **fields):
    """``template`` with each ``{name}`` replaced by ``fields[name]`` (unknown names stay as written)."""
    return _PLACEHOLDER.sub(lambda m: str(fields[m.group(1)]) if m.group(1) in fields else m.group(0), template)


def quantized(op_type):
    """The strategies besides ``float`` for ``op_type`` (empty when it cannot be quantized)."""
    return list(RULES["quantized"].get(op_type, [])) if isinstance(op_type, str) else []


def supported(op_type):
    return [RULES["float"]] + quantized(op_type)


def unsupported(name, op_type, strategy, allowed=None):
    """The ConfigError for a strategy ``op_type`` does not support."""
    allowed = supported(op_type) if allowed is None else allowed
    return ConfigError(message(RULES["unsupported"], name=repr(name), op=op_type, strategy=repr(strategy),
                               expected=repr(allowed)))


def is_hint_key(key):
    hint = RULES["hint"]
    return (isinstance(key, str) and key.startswith(hint["prefix"]) and key.endswith(hint["suffix"])
            and len(key) > len(hint["prefix"]))


def node_at(phase, *keys):
    """The rule node of the nested ``keys`` (``node_at("validate", "quantbridge", "calibration")``)."""
    node = RULES[phase]
    for key in keys:
        node = next(m["node"] for m in node["members"] if m.get("key") == key)
    return node


def defaults(phase, *keys):
    """``{key: default}`` of the members of the node at ``keys`` that declare one."""
    return {m["key"]: m["node"]["default"] for m in node_at(phase, *keys)["members"]
            if "key" in m and "default" in m["node"]}


def check(cfg, phase, where="config"):
    """Apply the ``phase`` rules (``read`` or ``validate``) to ``cfg``; raise the first ConfigError."""
    _node(RULES[phase], cfg, {"where": where})


def check_member(cfg, phase, key):
    """Apply only the ``phase`` rules of the top-level ``key`` (e.g. ``quantbridge``)."""
    for member in RULES[phase]["members"]:
        if member.get("key") == key:
            _member(member, cfg, {"where": "config"})


def is_comment(key):
    return isinstance(key, str) and key.startswith("//")


def _fail(template, fields, value):
    return ConfigError(message(template, value=repr(value), type=type(value).__name__, **fields))


def _type_ok(kind, value):
    if kind is None:
        return True
    if kind == "object":
        return isinstance(value, dict)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "string_list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    raise ValueError(f"config_rules.json: unknown type {kind!r}")


def _node(node, value, fields):
    text = node.get("message", "")
    if not _type_ok(node.get("type"), value):
        raise _fail(text, fields, value)
    if "enum" in node and not (isinstance(value, str) and value in node["enum"]):
        raise _fail(text, dict(fields, expected=repr(node["enum"])), value)
    if ("above" in node and not value > node["above"]) or ("at_least" in node and not value >= node["at_least"]) \
            or ("at_most" in node and not value <= node["at_most"]):
        raise _fail(text, fields, value)
    if node.get("format") == "input_shape":
        parse_input_shape(value)
    if "supported" in node:
        rule = node["supported"]
        op, strategy = value.get(rule["op"]), value.get(rule["strategy"])
        if op is not None and strategy not in supported(op):
            raise unsupported(fields["_name"], op, strategy)
    for member in node.get("members", []):
        _member(member, value, fields)


def _member(member, obj, fields):
    if "key" in member:
        node = member["node"]
        present = member["key"] in obj
        value = obj.get(member["key"])
        if present and node.get("falsy_is_absent") and not value:
            present = False
        if not present:
            if node.get("required"):
                raise _fail(node.get("missing", node.get("message", "")), fields, value)
            return
        _node(node, value, fields)
    elif "each" in member:
        for key, value in obj.items():
            if is_comment(key) or (member.get("hint") and not is_hint_key(key)):
                continue
            _node(member["node"], value, dict(fields, **{member["each"]: repr(key), "_name": key}))
    elif "only" in member:
        unknown = [k for k in obj if not is_comment(k) and k not in member["only"]]
        if unknown:
            raise ConfigError(message(member["message"], unknown=repr(unknown), key=repr(unknown[0]),
                                      expected=repr(sorted(member["only"])), **fields))
    else:
        raise ValueError(f"config_rules.json: a member needs 'key', 'each' or 'only', got {sorted(member)}")


def parse_input_shape(text):
    """``"x:1,3,224,224;y:1,10"`` -> ``[("x", [1, 3, 224, 224]), ("y", [1, 10])]``."""
    rules = RULES["input_shape"]
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(message(rules["blank"], value=repr(text)))
    out = []
    for part in text.strip().strip(";").split(";"):
        m = re.match(rules["part"], part)
        if not m:
            raise ConfigError(message(rules["part_malformed"], part=repr(part), value=repr(text)))
        dims = []
        for d in m.group(2).split(","):
            if int(d) > _LONG_MAX:
                raise ConfigError(message(rules["too_large"], part=repr(part), dim=repr(d.strip())))
            dims.append(int(d))
        if any(d <= 0 for d in dims):
            raise ConfigError(message(rules["not_positive"], part=repr(part)))
        out.append((m.group(1), dims))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ConfigError(message(rules["twice"], value=repr(text)))
    return out

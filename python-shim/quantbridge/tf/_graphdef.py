"""Small GraphDef surgery helpers for the export: freezing, dead-branch removal, node builders.

TF 2.8 has no graph_editor / graph_matcher any more; these few functions replace the parts the
export needs. They work on ``GraphDef`` protos only, never on a live graph.
"""

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import graph_pb2, node_def_pb2

__all__ = ["parse_input", "node_name", "const_node", "op_node", "is_flag", "freeze", "resolve_switches", "consumers",
           "topological_order",
           "const_value", "copy_graph_def"]

_BOOL = tf.bool.as_datatype_enum


def parse_input(text):
    """``'^a'`` -> ('a', -1); ``'a:2'`` -> ('a', 2); ``'a'`` -> ('a', 0)."""
    if text.startswith("^"):
        return text[1:], -1
    name, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return name, int(port)
    return text, 0


def node_name(text):
    return parse_input(text)[0]


def _tensor(name, port):
    return f"^{name}" if port < 0 else (name if port == 0 else f"{name}:{port}")


def const_node(name, value, dtype=None):
    value = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
    node = node_def_pb2.NodeDef(name=name, op="Const")
    node.attr["dtype"].type = tf.as_dtype(value.dtype).as_datatype_enum
    node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
    return node


def op_node(name, op, inputs, dtype=tf.float32, **attrs):
    node = node_def_pb2.NodeDef(name=name, op=op, input=list(inputs))
    node.attr["T"].type = dtype.as_datatype_enum
    for key, value in attrs.items():
        if isinstance(value, bytes):
            node.attr[key].s = value
        else:
            raise TypeError(f"unsupported attr value for {key}: {value!r}")
    return node


def copy_graph_def(gd, nodes):
    out = graph_pb2.GraphDef()
    out.versions.CopyFrom(gd.versions)
    out.library.CopyFrom(gd.library)
    out.node.extend(nodes)
    return out


def consumers(gd):
    """{node name: [(consumer NodeDef, input index, port)]} (port -1 for control inputs)."""
    out = {}
    for node in gd.node:
        for index, text in enumerate(node.input):
            name, port = parse_input(text)
            out.setdefault(name, []).append((node, index, port))
    return out


def const_value(by_name, text, depth=0):
    """The numpy value behind a tensor that is a Const, possibly through Identity ops, else None."""
    name, port = parse_input(text)
    node = by_name.get(name)
    if node is None or port != 0 or depth > 64:
        return None
    if node.op == "Const":
        return tf.make_ndarray(node.attr["value"].tensor)
    if node.op in ("Identity", "Snapshot", "StopGradient"):
        return const_value(by_name, node.input[0], depth + 1)
    return None


def is_flag(node):
    """A bool ``Placeholder`` / ``PlaceholderWithDefault`` that is a mode flag (``is_training``,
    ``quant_flag``-like switches): scalar or of unknown shape. A bool placeholder of rank >= 1
    (a mask, say) is a model input instead."""
    if node.op not in ("Placeholder", "PlaceholderWithDefault") or node.attr["dtype"].type != _BOOL:
        return False
    shape = node.attr["shape"].shape
    return shape.unknown_rank or len(shape.dim) == 0


def freeze(gd, values, variable_ops=("VariableV2", "Variable")):
    """Replace variables (and their ReadVariableOp reads) with Consts from ``values`` and the mode
    flags (:func:`is_flag`: scalar bool placeholders, with or without a default) with the
    constant False, i.e. inference: a ``placeholder_with_default(True, [])`` training flag is
    exported as False too, never at its default. Bool placeholders of rank >= 1 are model inputs
    and stay. Returns (GraphDef, [names of the flags folded])."""
    handles = {node.name for node in gd.node if node.op == "VarHandleOp"}
    flags, nodes = [], []
    for node in gd.node:
        controls = [text for text in node.input if text.startswith("^")]
        if node.op in variable_ops:
            new = const_node(node.name, values[node.name])
        elif node.op == "VarHandleOp":
            continue
        elif node.op == "ReadVariableOp" and node_name(node.input[0]) in handles:
            new = const_node(node.name, values[node_name(node.input[0])])
            new.input.extend(text for text in controls if node_name(text) not in handles)
        elif is_flag(node):
            new = const_node(node.name, np.bool_(False))
            new.input.extend(controls)
            flags.append(node.name)
        else:
            new = node_def_pb2.NodeDef()
            new.CopyFrom(node)
        new.device = ""
        if "_class" in new.attr:
            del new.attr["_class"]
        nodes.append(new)
    return copy_graph_def(gd, nodes), flags


def _const_bool(by_name, text, depth=0):
    name, port = parse_input(text)
    node = by_name.get(name)
    if node is None or port != 0 or depth > 64:
        return None
    if node.op == "Const" and node.attr["dtype"].type == _BOOL:
        value = tf.make_ndarray(node.attr["value"].tensor)
        return bool(value.reshape(-1)[0]) if value.size == 1 else None
    if node.op in ("Identity", "Snapshot", "StopGradient"):
        return _const_bool(by_name, node.input[0], depth + 1)
    if node.op == "LogicalNot":
        value = _const_bool(by_name, node.input[0], depth + 1)
        return None if value is None else not value
    return None


def topological_order(gd):
    """The nodes of ``gd`` inputs first (GraphDef order is not topological: v1 cond creates a
    branch op before the Switch nodes that feed it). Nodes on cycles (while loops) come last,
    in GraphDef order."""
    names = {node.name for node in gd.node}
    pending = {node.name: len({node_name(t) for t in node.input if node_name(t) in names}) for node in gd.node}
    users = {}
    for node in gd.node:
        for source in {node_name(t) for t in node.input if node_name(t) in names}:
            users.setdefault(source, []).append(node.name)
    by_name = {node.name: node for node in gd.node}
    ready = [node.name for node in gd.node if pending[node.name] == 0]
    order, done = [], set()
    while ready:
        name = ready.pop()
        order.append(by_name[name])
        done.add(name)
        for user in users.get(name, []):
            pending[user] -= 1
            if pending[user] == 0:
                ready.append(user)
    order.extend(node for node in gd.node if node.name not in done)
    return order


def resolve_switches(gd, keep=()):
    """Remove v1 ``tf.cond`` branches whose predicate is a constant (dead-branch elimination).

    A Switch with a constant predicate forwards its data input on the live port and kills the
    other; deadness spreads through data and control inputs; a Merge with one live input becomes
    that input. Nodes named in ``keep`` that are resolved away are replaced by an Identity.
    """
    by_name = {node.name: node for node in gd.node}
    alias, dead, dead_ports, resolved = {}, set(), set(), {}
    extra = []

    def is_dead(text):
        name, port = parse_input(text)
        return name in dead or (port >= 0 and (name, port) in dead_ports)

    for node in topological_order(gd):
        data = [text for text in node.input if not text.startswith("^")]
        controls = [text for text in node.input if text.startswith("^")]
        if node.op in ("Merge", "RefMerge"):
            live = [text for text in data if not is_dead(text)]
            if not live:
                dead.add(node.name)
            elif len(live) == 1 and len(data) > 1:
                alias[(node.name, 0)] = live[0]
                index_node = const_node(f"{node.name}/value_index", np.int32(data.index(live[0])))
                alias[(node.name, 1)] = index_node.name
                extra.append(index_node)
                resolved[node.name] = live[0]
            continue
        if any(is_dead(text) for text in data) or any(is_dead(text) for text in controls):
            dead.add(node.name)
            continue
        if node.op in ("Switch", "RefSwitch"):
            pred = _const_bool(by_name, node.input[1])
            if pred is not None:
                live_port = 1 if pred else 0
                dead_ports.add((node.name, 1 - live_port))
                alias[(node.name, live_port)] = node.input[0]
                resolved[node.name] = node.input[0]

    def follow(text):
        name, port = parse_input(text)
        for _ in range(1024):
            if port < 0:
                if name not in resolved:
                    break
                name = node_name(resolved[name])
                continue
            target = alias.get((name, port))
            if target is None:
                break
            name, port = parse_input(target)
        return _tensor(name, port)

    nodes = []
    for node in gd.node:
        if node.name in dead:
            continue
        if node.name in resolved:
            if node.name in keep:
                nodes.append(op_node(node.name, "Identity", [follow(resolved[node.name])],
                                     dtype=tf.as_dtype(node.attr["T"].type).base_dtype))
            continue
        new = node_def_pb2.NodeDef()
        new.CopyFrom(node)
        del new.input[:]
        seen = set()
        for text in node.input:
            mapped = follow(text)
            if mapped not in seen:
                seen.add(mapped)
                new.input.append(mapped)
        nodes.append(new)
    return copy_graph_def(gd, nodes + extra), sorted(dead)

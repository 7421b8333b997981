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


_RESOURCE = tf.resource.as_datatype_enum
_READS = ("ReadVariableOp", "ResourceGather")
# Ops that pass a tensor (a variable's resource handle included) through unchanged.
_PASS_THROUGH = ("Identity", "Switch", "RefSwitch", "Enter", "RefEnter", "Exit", "RefExit", "Merge", "RefMerge",
                 "NextIteration", "RefNextIteration")


def _handle_sources(gd, handles):
    """{node name: variable name} of every node that carries a variable's resource handle: the
    ``VarHandleOp`` itself and the pass-through ops (``Switch`` of a v1 ``tf.cond``, as Keras
    BatchNormalization reads its variables inside the learning-phase cond, ``Identity``,
    ``Enter``) whose data input is such a handle."""
    carried = {name: name for name in handles}
    for node in topological_order(gd):
        if node.op in _PASS_THROUGH and node.input and node.attr["T"].type == _RESOURCE:
            source = carried.get(node_name(node.input[0]))
            if source is not None:
                carried[node.name] = source
    return carried


def _frozen_read(node, dtype):
    """A read of a handle that became a Const: ``ReadVariableOp`` -> ``Identity``,
    ``ResourceGather`` -> ``GatherV2`` (axis 0, as the resource op gathers); plus the new Consts."""
    if node.op == "ReadVariableOp":
        new = node_def_pb2.NodeDef(name=node.name, op="Identity", input=list(node.input))
        new.attr["T"].type = dtype
        return new, []
    if node.op == "ResourceGather":
        axis = const_node(f"{node.name}/quantbridge_axis", np.int32(0))
        data = [text for text in node.input if not text.startswith("^")]
        controls = [text for text in node.input if text.startswith("^")]
        new = node_def_pb2.NodeDef(name=node.name, op="GatherV2", input=data[:2] + [axis.name] + controls)
        new.attr["Tparams"].type = dtype
        new.attr["Tindices"].CopyFrom(node.attr["Tindices"])
        new.attr["Taxis"].type = tf.int32.as_datatype_enum
        new.attr["batch_dims"].i = node.attr["batch_dims"].i
        return new, [axis]
    msg = f"not a read of a resource variable: {node.op}"
    raise ValueError(msg)


def freeze(gd, values, variable_ops=("VariableV2", "Variable")):
    """Replace variables with Consts from ``values`` and the mode flags (:func:`is_flag`: scalar
    bool placeholders, with or without a default) with the constant False, i.e. inference: a
    ``placeholder_with_default(True, [])`` training flag (Keras' ``keras_learning_phase``
    included) is exported as False too, never at its default. Bool placeholders of rank >= 1
    are model inputs and stay.

    Resource variables (``VarHandleOp``, what Keras layers create even under
    ``disable_v2_behavior``) become a Const of their value; the ops that carry the handle to its
    reads (``Switch`` / ``Identity`` / ``Enter``) are retyped to the value's dtype, and the reads
    become plain ops (``ReadVariableOp`` -> ``Identity``, ``ResourceGather`` -> ``GatherV2``),
    so the control flow around them (a Keras BatchNormalization's learning-phase ``cond``) is
    kept for :func:`resolve_switches`. Returns (GraphDef, [names of the flags folded])."""
    handles = {node.name for node in gd.node if node.op == "VarHandleOp"}
    carried = _handle_sources(gd, handles)
    flags, nodes = [], []
    for node in gd.node:
        source = carried.get(node_name(node.input[0])) if node.input else None
        if node.op in variable_ops or node.op == "VarHandleOp":
            new = const_node(node.name, values[node.name])
        elif node.name in carried:
            new = node_def_pb2.NodeDef()
            new.CopyFrom(node)
            new.attr["T"].type = tf.as_dtype(np.asarray(values[carried[node.name]]).dtype).as_datatype_enum
        elif source is not None and node.op in _READS:
            dtype = tf.as_dtype(np.asarray(values[source]).dtype).as_datatype_enum
            new, extra = _frozen_read(node, dtype)
            nodes.extend(extra)
        elif is_flag(node):
            new = const_node(node.name, np.bool_(False))
            new.input.extend(text for text in node.input if text.startswith("^"))
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

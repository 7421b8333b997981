"""Derived quantization points: the tensors integer kernels need quantized, besides layer inputs.

ONNX Runtime runs a quantized conv or matmul in integer (``QLinearConv``, ``QGemm``,
``QLinearMatMul``) only when its output is quantized too, and a residual ``Add`` in integer
(``QLinearAdd``) only when both inputs and its output are. The vendor config quantizes layer
inputs only; the points here are derived from the model's data flow, never asked of the user:

* the output of every ``Quant_INT8-8`` conv/linear *group*: the layer, then a BatchNorm that
  reads only it (folded at export), then ReLU / ReLU6 (``nn`` modules or ``F.relu``,
  ``torch.relu``, ``F.relu6``, or a clip from 0 to 6 or to no bound: ``nn.Hardtanh(0, 6)``,
  ``F.hardtanh``, ``torch.clamp``, ``Tensor.clamp``), which the range absorbs (a range from 0 has its zero point at
  the bottom, so ONNX Runtime drops the ReLU). A functional ReLU whose output no module returns
  cannot be hooked: the point then sits before it and the ReLU runs on dequantized values;
* both inputs and the (ReLU-absorbed) output of a tensor ``+`` whose two inputs are points;
* through value-transparent ops that commute with quantization (MaxPool, Flatten, reshape/view,
  Identity, Dropout), a point moves to the end of a single-consumer chain; the upstream tensors
  get the same parameters in the ONNX graph only (``mirror`` points), which is exact because
  ``fq(maxpool(x)) == maxpool(fq(x))``;
* the output of a global average pooling (``nn.AdaptiveAvgPool2d(1)``,
  ``F.adaptive_avg_pool2d(x, 1)``; exported as GlobalAveragePool) of a point's tensor whose result
  reaches, through value-transparent ops only, one quantized layer alone (a classifier's
  ``avgpool -> flatten -> fc``): the pooled tensor takes that layer's input quantizer (its
  owner), so ONNX Runtime runs ``QLinearGlobalAveragePool`` straight into the layer's int8 input
  (quantization commutes with the Flatten after it). In eval mode the reader gets ONNX Runtime's
  integer pooling of the point's quantized tensor (:mod:`quantbridge.torch._pools`,
  ``_integer.global_pool``), not the float mean rounded: the two differ by one step where the
  mean is near a rounding tie. The point's tensor must be the one its hook quantizes (the pooled
  tensor returned by a module call); otherwise the pooling stays float.

A point is left out when it would quantize a model output; the last quantized Linear, whose
output is the model's, runs as ``QGemm`` with a float output (int32 bias, see
``_integer``): a :class:`Group` without a point, made when the model has points at all (the
Java builder gives that Gemm an int32 bias under the same condition). Not covered (the tensor
stays float and the neighbouring ops run in float on dequantized values, still exact):
``torch.cat``, average pooling other than global (``nn.AvgPool2d``, ``x.mean((2, 3))``, which
exports as ReduceMean), elementwise ops other than ``+``, a ``+`` with a float (non-point) input.

Each point has one quantizer, an :class:`ActivationFakeQuantize` like the layer-input
quantizers: when a quantized layer reads the point's tensor, that layer's own input quantizer
(the *owner*; a tensor read by several quantized layers takes the first one's); otherwise a new
one, a child of the root module ``quantbridge_points`` named after the traced node, so it is in
the quant model's ``state_dict``, calibrated and learned with the others. The quantizer is
applied to the tensor itself by a forward hook on a module call that returns it, so every
consumer sees the quantized tensor in PyTorch as in the ONNX graph; a point whose tensor only
its owner layer reads needs no hook (the layer quantizes it). Points are found with
``torch.fx`` symbolic tracing of the float model; an untraceable model gets none (its layers
keep input-only quantization, with a warning).

A point is made only where a quantized layer downstream needs the int8 value, and it is active
only while the layers it derives from (``sources``) are quantized and one of those downstream
(``consumers``) is: switching a layer to float in place (sensitivity analysis) drops its points as
a config keeping it ``float`` would. Each quantized conv/linear whose output is a point is a
:class:`Group`: in eval mode it computes the deployed integer arithmetic
(:mod:`quantbridge.torch._integer`), the BatchNorm folded into it passing its result through.
"""

import collections
import operator
import warnings

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from quantbridge.torch import _layers, _pools
from quantbridge.torch._modules import ActivationFakeQuantize

__all__ = ["CONTAINER", "Point", "Group", "derive", "plan", "attach", "add_markers", "strip_markers", "points_of",
           "int32_bias_layers", "merged_points", "attr"]

CONTAINER = "quantbridge_points"
MARK_DOMAIN = "quantbridge"
MARK_OP = "Point"
POINTS_ATTR = "_quantbridge_point_specs"

_BN = (nn.BatchNorm1d, nn.BatchNorm2d)
_ACT_MODULES = (nn.ReLU, nn.ReLU6)
_ACT_FUNCS = {F.relu, torch.relu, F.relu6}
_TRANSPARENT_MODULES = (nn.MaxPool1d, nn.MaxPool2d, nn.Flatten, nn.Identity, nn.Dropout)
_TRANSPARENT_FUNCS = {torch.flatten, F.max_pool2d, F.max_pool1d, torch.reshape, F.dropout}
_TRANSPARENT_METHODS = {"view", "reshape", "flatten"}
_ADDS = {operator.add, operator.iadd, torch.add}
_GLOBAL_SIZES = (1, (1, 1), [1, 1])
_DROPPED_AT_EXPORT = (nn.Dropout, nn.Identity)


def _is_global_pool(node, modules):
    """Whether ``node`` averages each channel over the whole image (exported as GlobalAveragePool)."""
    if node.op == "call_module":
        m = modules.get(node.target)
        return type(m) is nn.AdaptiveAvgPool2d and m.output_size in _GLOBAL_SIZES
    if node.op == "call_function" and node.target is F.adaptive_avg_pool2d:
        size = node.args[1] if len(node.args) > 1 else node.kwargs.get("output_size")
        return size in _GLOBAL_SIZES and len(node.args) + len(node.kwargs) == 2
    return False


class Point:
    """One derived quantization point.

    ``name``: the traced node's name (and the derived quantizer's key); ``owner``: the config
    name of the layer whose input quantizer serves it, or None for its own quantizer; ``call``:
    ``(module path, call index)`` whose output is the tensor (None: no module returns it);
    ``hook``: whether PyTorch applies it (False for mirror points and points read only by their
    owner); ``mirror_of``: the name of the canonical point a mirror copies; ``pool_of``: for the
    output of a global average pooling, the name of the point it pools (the pooling's input).
    """

    __slots__ = ("name", "owner", "call", "hook", "mirror_of", "sources", "consumers", "merged_into", "pool_of")

    def __init__(self, name, owner, call, hook, mirror_of=None, sources=(), consumers=(), merged_into=None,
                 pool_of=None):
        self.name, self.owner, self.call, self.hook, self.mirror_of = name, owner, call, hook, mirror_of
        self.sources, self.consumers, self.merged_into = tuple(sources), tuple(consumers), merged_into
        self.pool_of = pool_of

    def __repr__(self):
        return (f"Point({self.name!r}, owner={self.owner!r}, call={self.call!r}, hook={self.hook}, "
                f"mirror_of={self.mirror_of!r}, sources={self.sources!r}, consumers={self.consumers!r}, "
                f"pool_of={self.pool_of!r})")


class Group:
    """A quantized conv/linear layer whose output is a point: ``layer`` (module path), ``bn`` (the
    BatchNorm folded into it at export, or None), ``act`` (``"relu"``, ``"relu6"`` or None) and
    ``point`` (the name of the canonical point whose quantizer requantizes the group's output;
    None for the last Linear, whose output is the model's: a float-output ``QGemm``).
    In eval mode the layer computes the group the way the deployed integer kernel does
    (:mod:`quantbridge.torch._integer`). ``direct``: for a point placed before a functional ReLU
    whose output only a quantized layer reads (nothing but Dropout/Identity between them), that
    layer's path: with its zero point at 0 the ReLU is redundant, the tensor is quantized once with
    that layer's input parameters, and the group requantizes straight to them (:func:`merges`; the
    export leaves the point out, :func:`merged_points`)."""

    __slots__ = ("layer", "bn", "act", "point", "direct")

    def __init__(self, layer, bn, act, point, direct=None):
        self.layer, self.bn, self.act, self.point, self.direct = layer, bn, act, point, direct

    def __repr__(self):
        return (f"Group({self.layer!r}, bn={self.bn!r}, act={self.act!r}, point={self.point!r}, "
                f"direct={self.direct!r})")


class _Tracer(torch.fx.Tracer):
    """fx tracer that records, for each traced value, the module calls that returned it."""

    def __init__(self, leaves):
        super().__init__()
        self._leaves = leaves
        self.returned = collections.defaultdict(list)
        self.calls = collections.Counter()

    def is_leaf_module(self, m, qualname):
        return id(m) in self._leaves or super().is_leaf_module(m, qualname)

    def call_module(self, m, forward, args, kwargs):
        path = self.path_of_module(m)
        index = self.calls[path]
        self.calls[path] += 1
        out = super().call_module(m, forward, args, kwargs)
        if isinstance(out, torch.fx.Proxy):
            self.returned[out.node].append((path, index))
        return out


def _clip_bounds(node, modules):
    """``(low, high)`` of a clipping op (``nn.Hardtanh`` and its subclass ``nn.ReLU6``,
    ``F.hardtanh``, ``torch.clamp`` / ``Tensor.clamp``; ``high`` None when unbounded), else None."""
    if node.op == "call_module":
        m = modules.get(node.target)
        return (float(m.min_val), float(m.max_val)) if isinstance(m, nn.Hardtanh) else None
    if (node.op == "call_function" and node.target is F.hardtanh) or \
            ((node.op, node.target) in (("call_function", torch.clamp), ("call_method", "clamp"))):
        keys = ("min_val", "max_val") if node.target is F.hardtanh else ("min", "max")
        defaults = (-1.0, 1.0) if node.target is F.hardtanh else (None, None)
        bounds = [node.args[i + 1] if len(node.args) > i + 1 else node.kwargs.get(k, d)
                  for i, (k, d) in enumerate(zip(keys, defaults))]
        if any(b is not None and not isinstance(b, (int, float)) for b in bounds):
            return None
        return tuple(None if b is None else float(b) for b in bounds)
    return None


def _is_act(node, modules):
    """ReLU or ReLU6 in any spelling: modules, functions, or a clip from 0 to 6 or to no bound
    (``nn.Hardtanh(0, 6)``, ``F.hardtanh(x, 0, 6)``, ``torch.clamp(x, 0, 6)``, ``x.clamp(min=0)``)."""
    if node.op == "call_module" and isinstance(modules.get(node.target), _ACT_MODULES):
        return True
    if node.op == "call_function" and node.target in _ACT_FUNCS:
        return True
    return _clip_bounds(node, modules) in ((0.0, 6.0), (0.0, None))


def _is_transparent(node, modules):
    if node.op == "call_module":
        return isinstance(modules.get(node.target), _TRANSPARENT_MODULES)
    if node.op == "call_function":
        return node.target in _TRANSPARENT_FUNCS
    return node.op == "call_method" and node.target in _TRANSPARENT_METHODS


def _tensor_args(node):
    return [a for a in node.args if isinstance(a, torch.fx.Node)]


def _single_user(node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _absorb(node, modules, first_bn):
    """The end of ``node``'s group: an optional BatchNorm (if ``first_bn``), then an optional activation."""
    end = node
    user = _single_user(end)
    if first_bn and user is not None and user.op == "call_module" and isinstance(modules.get(user.target), _BN):
        end, user = user, _single_user(user)
    if user is not None and _is_act(user, modules) and _tensor_args(user)[:1] == [end]:
        end = user
    return end


def _chain(node, modules):
    """``[node, ...]`` down single-consumer value-transparent ops; the last is the canonical tensor."""
    chain = [node]
    while True:
        user = _single_user(chain[-1])
        if user is None or not _is_transparent(user, modules) or _tensor_args(user)[:1] != [chain[-1]]:
            return chain
        chain.append(user)


def _past_dropped(node, modules):
    """``node``, or the last of the single-consumer modules after it that the ONNX export drops
    (Dropout, Identity)."""
    while True:
        user = _single_user(node)
        if (user is None or user.op != "call_module" or not isinstance(modules.get(user.target), _DROPPED_AT_EXPORT)
                or _tensor_args(user)[:1] != [node]):
            return node
        node = user


def trace(model):
    """``(fx graph, tracer)`` of ``model`` with its quantizable layers as leaves; None if it cannot be traced."""
    leaves = {id(m) for _, (_, m) in _layers.find_layers(model).items()}
    tracer = _Tracer(leaves)
    try:
        graph = tracer.trace(model)
    except Exception as exc:   # user models may have data-dependent control flow
        warnings.warn(f"integer-kernel quantization points skipped: torch.fx cannot trace the model "
                      f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); quantized layers keep "
                      f"input-only quantization and run in float in ONNX Runtime", stacklevel=4)
        return None
    return graph, tracer


def derive(model, quantized):
    """The derived points of ``model`` (the float model) for the quantized layers ``quantized``
    (``{module path: layer name}``), in graph order; [] for an untraceable model."""
    return plan(model, quantized)[0]


def _act_kind(node, modules):
    if node.op == "call_function" and node.target is F.relu6:
        return "relu6"
    return "relu6" if (_clip_bounds(node, modules) or (None, None))[1] == 6.0 else "relu"


def _foldable(layer_node, bn_node, modules, calls, read):
    """Whether the export folds ``bn_node`` into ``layer_node`` (the rule of ``_export.fold_batchnorm``)."""
    conv, bn = modules.get(layer_node.target), modules.get(bn_node.target)
    conv_cls = _layers.float_class(conv)
    return (conv_cls in (nn.Conv1d, nn.Conv2d) and type(bn) in _BN and len(bn_node.args) == 1 and not bn_node.kwargs
            and calls[bn_node.target] == 1 and calls[layer_node.target] == 1 and len(layer_node.users) == 1
            and bn.running_mean is not None and bn.num_features == conv.out_channels
            and id(conv.weight) not in read and (conv.bias is None or id(conv.bias) not in read))


def plan(model, quantized):
    """``(points, groups)`` of ``model`` (the float model) for ``quantized`` (``{module path: layer
    name}``): the derived points in graph order and the :class:`Group` of each quantized conv/linear
    layer whose (BatchNorm-folded, ReLU-absorbed) output is a point the deployed graph requantizes
    with an integer kernel; ``([], [])`` for an untraceable model."""
    traced = trace(model)
    if traced is None:
        return [], []
    graph, tracer = traced
    modules = dict(model.named_modules())
    nodes = list(graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    marked = {}            # node whose value is a point (canonical or mirror) -> its source layers
    calls = collections.Counter(n.target for n in nodes if n.op == "call_module")
    read = {id(t) for t in (attr(model, n.target) for n in nodes if n.op == "get_attr") if torch.is_tensor(t)}

    def mark(node, sources):
        """Mark ``node``'s value (and its transparent chain); return the node marked, or None."""
        if _is_act(node, modules) and not tracer.returned.get(node) and _single_user(node) is not None:
            # a functional ReLU that no module returns: the point goes before it (ReLU stays float)
            source = _tensor_args(node)[:1]
            if source and tracer.returned.get(source[0]) and len(source[0].users) == 1:
                node = source[0]
        if any(u.op == "output" for u in node.users):
            return None
        chain = _chain(node, modules)
        if any(u.op == "output" for u in chain[-1].users):
            return None
        for n in chain:
            marked[n] = marked.get(n, frozenset()) | sources
        return node

    candidates = []        # (layer node, bn node or None, act node or None, marked end, direct reader)
    merged = {}            # a point before a functional ReLU -> the quantized layer that alone reads the ReLU
    for node in nodes:
        if node.op == "call_module" and node.target in quantized:
            end = _absorb(node, modules, first_bn=True)
            got = mark(end, frozenset([node.target]))
            if got is not None:
                inner = [n for n in _walk_back(got, node)]
                bn = next((n for n in inner if n.op == "call_module" and isinstance(modules.get(n.target), _BN)), None)
                act = next((n for n in inner if _is_act(n, modules)), None)
                direct = None
                if got is not end and _is_act(end, modules):      # the point moved before a functional ReLU
                    # merged only where ONNX Runtime merges: the ReLU read by the layer's quantizer
                    # alone, with nothing left between them in the ONNX graph (Dropout, Identity);
                    # a MaxPool or Flatten in between keeps both quantizations in the deployed graph
                    after = list(_past_dropped(end, modules).users)
                    if len(after) == 1 and after[0].op == "call_module" and after[0].target in quantized:
                        direct = after[0].target
                        merged[got] = direct
                candidates.append((node, bn, act, got, direct))
        elif node.op == "call_function" and node.target in _ADDS and len(node.args) == 2 and not node.kwargs:
            args = _tensor_args(node)
            if len(args) == 2 and all(a in marked for a in args):
                mark(_absorb(node, modules, first_bn=False), marked[args[0]] | marked[args[1]])

    pools = []             # (pool node, its input node, the quantized layer reading its output)
    for node in nodes:
        args = _tensor_args(node)
        if not _is_global_pool(node, modules) or len(args) != 1 or args[0] not in marked:
            continue
        end = _chain(node, modules)[-1]
        users = list(end.users)
        if (len(users) == 1 and users[0].op == "call_module" and users[0].target in quantized
                and calls[users[0].target] == 1 and _tensor_args(users[0])[:1] == [end]):
            pools.append((node, args[0], users[0]))

    def consumers(node):
        """The quantized layers the value of ``node`` reaches before any quantizable layer."""
        found, seen, todo = set(), set(), list(node.users)
        while todo:
            user = todo.pop()
            if user in seen:
                continue
            seen.add(user)
            if user.op == "call_module" and _layers.float_class(modules.get(user.target)) is not None:
                if user.target in quantized:
                    found.add(user.target)
                continue
            todo.extend(user.users)
        return sorted(found)

    points = []
    placed = {}            # canonical node -> the name of the point that serves it
    for node in nodes:
        if node not in marked:
            continue
        chain = _chain(node, modules)
        if len(chain) > 1 and node is not chain[-1]:
            continue            # a mirror: emitted with its canonical tensor below
        canonical = chain[-1]
        readers = sorted((u for u in canonical.users if u.op == "call_module" and u.target in quantized),
                         key=order.get)
        owner = quantized[readers[0].target] if readers else None
        needs_hook = any(not (u.op == "call_module" and u.target == (readers[0].target if readers else None))
                         for u in canonical.users)
        reached = consumers(canonical)
        if not reached:
            continue            # no quantized layer downstream needs an int8 input: the tensor stays float
        # every tensor up the transparent chain that ends here
        up = [canonical]
        while True:
            prev = _tensor_args(up[-1])[:1]
            if not prev or prev[0] not in marked or _chain(prev[0], modules)[-1] is not canonical:
                break
            up.append(prev[0])
        # the point sits on the last tensor of the chain that a module returns (a function such as
        # torch.flatten at the end passes the on-grid values unchanged to the owner, which quantizes
        # them again with the same parameters)
        at = next((i for i, n in enumerate(up) if _choose_call(tracer, n) is not None), None)
        if at is None:
            continue            # no module returns any of these tensors: they stay float
        point_node = up[at]
        hook = needs_hook or (at > 0 and owner is None)
        for mirror in reversed(up[at + 1:]):
            mcall = _choose_call(tracer, mirror)
            if mcall is not None:
                points.append(Point(mirror.name, owner, mcall, False, mirror_of=point_node.name,
                                    sources=sorted(marked[mirror]), consumers=reached))
        points.append(Point(point_node.name, owner, _choose_call(tracer, point_node), hook,
                            sources=sorted(marked[point_node]), consumers=reached,
                            merged_into=merged.get(canonical)))
        placed[canonical] = point_node.name
    hooked = {p.name: p for p in points if p.hook and p.mirror_of is None}
    for pool, source, reader in pools:
        # the pooled tensor must be exactly the hooked point's tensor: in eval mode that hook hands
        # the quantized tensor to the integer pooling (_pools.feed)
        if placed.get(source) != source.name or source.name not in hooked:
            continue
        points.append(Point(pool.name, quantized[reader.target], None, False, sources=sorted(marked[source]),
                            consumers=[reader.target], pool_of=source.name))
    groups = []
    for layer, bn, act, end, direct in candidates:
        canonical = _chain(end, modules)[-1]
        module = modules.get(layer.target)
        cls = _layers.float_class(module)
        if canonical not in placed or calls[layer.target] != 1 or cls not in (nn.Conv1d, nn.Conv2d, nn.Linear):
            continue
        if cls is not nn.Linear and module.padding_mode != "zeros":
            continue
        if bn is not None and (cls is nn.Linear or not _foldable(layer, bn, modules, calls, read)):
            continue            # the export keeps this BatchNorm: the layer's output stays float there
        groups.append(Group(layer.target, bn.target if bn is not None else None,
                            _act_kind(act, modules) if act is not None else None, placed[canonical], direct))
    if points:
        for node in nodes:
            if (node.op == "call_module" and node.target in quantized and calls[node.target] == 1
                    and _layers.float_class(modules.get(node.target)) is nn.Linear and _is_model_output(node, modules)):
                groups.append(Group(node.target, None, None, None))
    return points, groups


def _is_model_output(node, modules):
    """Whether ``node``'s value is a model output (directly, or through modules the export drops)."""
    while True:
        if any(u.op == "output" for u in node.users):
            return True
        user = _single_user(node)
        if user is None or user.op != "call_module" or not isinstance(modules.get(user.target), _DROPPED_AT_EXPORT):
            return False
        node = user


def _walk_back(end, start):
    """The nodes from ``end`` back to (and excluding) ``start`` along first tensor arguments."""
    out, node = [], end
    while node is not start:
        out.append(node)
        args = _tensor_args(node)[:1]
        if not args:
            return []
        node = args[0]
    return out


def attr(model, target):
    """The attribute at the dotted path ``target`` of ``model`` (an fx ``get_attr`` target), or None."""
    obj = model
    for part in target.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _choose_call(tracer, node):
    """``(module path, call index)`` of a module call returning ``node``'s value, preferring a module
    called once per forward pass (index None: every call); None if no module returns it."""
    calls = tracer.returned.get(node, [])
    for path, _ in calls:
        if tracer.calls[path] == 1:
            return path, None
    return calls[0] if calls else None


def points_of(model):
    """The points attached to ``model`` (a quant model), [] if none."""
    return list(getattr(model, POINTS_ATTR, []) or [])


def quantizer_for(root, point, layers_by_name):
    """The :class:`ActivationFakeQuantize` serving ``point`` in the quant model ``root``."""
    if point.owner is not None:
        return layers_by_name[point.owner].activation_quant
    return getattr(root, CONTAINER)[point.name]


def attach(root, points, calibration, steps, groups=()):
    """Create the derived quantizers under ``root.quantbridge_points``, the forward hooks that apply
    them, and the eval-mode integer arithmetic of the ``groups`` (:mod:`quantbridge.torch._integer`)."""
    setattr(root, POINTS_ATTR, list(points))
    own = [p for p in points if p.owner is None and p.mirror_of is None]
    if not own and not any(p.hook for p in points) and not groups:
        return
    container = nn.ModuleDict()
    for p in own:
        q = ActivationFakeQuantize(calibration["method"], calibration["percentile"], calibration["bins"],
                                   range_max=calibration.get("range_max"))
        q._steps = steps
        container[p.name] = q
    if own:
        root.add_module(CONTAINER, container.to(_device(root)))
    layers_by_name = {name: m for name, (_, m) in _layers.find_layers(root).items()}
    modules = dict(root.named_modules())
    for p in points:
        if not p.hook:
            continue
        path, index = p.call
        module = modules[path]
        table = module.__dict__.setdefault("_quantbridge_apply", {})
        merged_into = modules.get(p.merged_into) if p.merged_into is not None else None
        table[index] = (quantizer_for(root, p, layers_by_name), _activity(p, modules),
                        merged_into.activation_quant if merged_into is not None else None)
        module.__dict__["_quantbridge_apply_steps"] = steps
        if not any(h is apply_point for h in module._forward_hooks.values()):
            module.register_forward_hook(apply_point)
    canonical = {p.name: p for p in points if p.mirror_of is None}
    _pools.attach(root, points, modules, layers_by_name)
    for g in groups:
        layer = modules.get(g.layer)
        if layer is None or not _layers.is_quant_layer(layer):
            continue
        if g.point is None:         # the last Linear, whose output is the model's: float-output kernel
            layer.__dict__[GROUP_ATTR] = (None, None, None, None, ([layer], []))
            continue
        if g.point not in canonical:
            continue
        bn = modules.get(g.bn) if g.bn is not None else None
        direct = modules.get(g.direct) if g.direct is not None else None
        layer.__dict__[GROUP_ATTR] = (bn, g.act, quantizer_for(root, canonical[g.point], layers_by_name),
                                      direct.activation_quant if direct is not None and _layers.is_quant_layer(direct)
                                      else None, _activity(canonical[g.point], modules))
        if bn is not None and not any(h is pass_folded for h in bn._forward_hooks.values()):
            bn.register_forward_hook(pass_folded)


def int32_bias_layers(root):
    """Module paths of ``root``'s quantized layers that the fake-quant model computes, in eval mode,
    with the bias rounded to int32 (scale ``s_x * s_w[c]``): every active group, whether it
    requantizes to its point, straight to the input of the layer that alone reads the functional
    ReLU after it (a merged point, see :func:`merged_points`), or writes float (the last Linear, a
    ``QGemm`` with a float output). The parameter file marks them ``int32_bias``, and the QDQ
    builder gives exactly those an int32 bias."""
    return {path for path, module in root.named_modules()
            if _layers.is_quant_layer(module) and module.__dict__.get(GROUP_ATTR) is not None
            and is_active(module.__dict__[GROUP_ATTR][4])}


def merged_points(root):
    """Names of the points the fake-quant model does not apply because they merge into the input
    quantizer of the one quantized layer reading the functional ReLU after them (:func:`merges`):
    the tensor is quantized once, with that layer's parameters. The export leaves them (and their
    mirrors) out, so the deployed graph quantizes once too: ONNX Runtime would otherwise merge the
    two quantize/dequantize pairs onto a grid of its own (``DoubleQDQPairsRemover``: the
    intersection of both ranges over 0..255, which is neither pair's scale)."""
    modules = dict(root.named_modules())
    names = set()
    for p in points_of(root):
        layer = modules.get(p.merged_into) if p.merged_into is not None else None
        if layer is not None and _layers.is_quant_layer(layer) and merges(layer.activation_quant):
            names.add(p.name)
    return names


GROUP_ATTR = "_quantbridge_group"
FOLDED_ATTR = "_quantbridge_folded_into"
REQUANTIZED_ATTR = "_quantbridge_requantized"


def pass_folded(module, inputs, output):
    """Forward hook of a BatchNorm folded into the layer before it: when that layer computed the
    folded group (eval mode, :mod:`quantbridge.torch._integer`), its output passes unchanged."""
    x = inputs[0] if inputs else None
    if torch.is_tensor(x) and getattr(x, FOLDED_ATTR, None) == id(module):
        return x
    return None


def _activity(point, modules):
    """``(source layers, consumer layers)`` of ``point`` as modules, for :func:`is_active`."""
    return ([modules[s] for s in point.sources if s in modules], [modules[c] for c in point.consumers if c in modules])


def _quantized(layer):
    return int(layer.weight_quant.fake_quant_enabled[0]) == 1


def is_active(activity):
    """A point is active while every layer it derives from is quantized (weight quantization on) and
    at least one quantized layer downstream needs its int8 value: a layer switched to float
    (sensitivity analysis) takes the points it makes or needs with it, as a config keeping it
    ``float`` does."""
    sources, consumers = activity
    return all(_quantized(s) for s in sources) and (not consumers or any(_quantized(c) for c in consumers))


def _device(root):
    return next((t.device for t in root.parameters()), torch.device("cpu"))


def apply_point(module, inputs, output):
    """Forward hook: quantize the output of this call of ``module`` if a point sits there.

    A module-level function, so the hook pickles and deep-copies with the model; the calls of a
    module are counted per forward pass of the quant model's root.
    """
    table = module.__dict__.get("_quantbridge_apply")
    if not table or not torch.is_tensor(output) or getattr(output, REQUANTIZED_ATTR, False):
        return None     # (a group's deployed output is already requantized where the kernel puts it)
    key = None
    entry = table.get(None)
    if entry is None:
        steps = module.__dict__.get("_quantbridge_apply_steps")
        step = None if steps is None else steps.value
        seen = module.__dict__.get("_quantbridge_apply_seen")
        count = seen[1] + 1 if seen is not None and seen[0] == step else 0
        module.__dict__["_quantbridge_apply_seen"] = (step, count)
        key, entry = count, table.get(count)
    if entry is None:
        return None
    quantizer, activity, merged_into = entry
    if (merged_into is not None and merges(merged_into)) or not is_active(activity):
        _pools.feed(module, key, None)
        return _kept_in_graph(output, quantizer)
    out = quantizer(output)
    _pools.feed(module, key, out)
    return out


def _kept_in_graph(output, quantizer):
    """``output`` unchanged, for a point whose quantizer this pass skips. In training mode with
    gradients on, its learnable parameters still enter the graph with a zero contribution
    (``x + 0 * sum`` is ``x`` exactly for finite scales), so every parameter takes part in every
    backward pass: ``DistributedDataParallel`` (without ``find_unused_parameters``) requires that
    of each rank. Eval mode (and so the ONNX export) never gets the extra op."""
    if not (quantizer.training and torch.is_grad_enabled()):
        return None
    learned = [p for p in quantizer.parameters(recurse=False) if p.requires_grad]
    if not learned:
        return None
    return output + sum(p.sum() for p in learned) * 0.0


def merges(quantizer):
    """Whether a point before a functional ReLU merges into ``quantizer`` (the input quantizer of the
    layer that alone reads the ReLU): with the zero point at the bottom of the range the ReLU is
    redundant (ONNX Runtime drops it), so the tensor is quantized once, with ``quantizer``'s
    parameters, and the layer before the ReLU requantizes straight to them. The fake-quant model
    skips the point, and the export leaves it out (:func:`merged_points`)."""
    return (int(quantizer.fake_quant_enabled[0]) == 1 and int(quantizer.observer_enabled[0]) == 0
            and int(round(float(quantizer.zero_point))) == quantizer.quant_min)


# ---- export: marking the points' tensors in the ONNX graph --------------------------------------

class _Mark(torch.autograd.Function):
    """Identity whose ONNX export is a ``quantbridge::Point`` node carrying the point's index."""

    @staticmethod
    def forward(ctx, x, index):
        return x.clone()

    @staticmethod
    def symbolic(g, x, index):
        out = g.op(f"{MARK_DOMAIN}::{MARK_OP}", x, index_i=index)
        out.setType(x.type())
        return out


def add_markers(float_model, points):
    """Forward hooks on ``float_model`` marking each point's tensor for the ONNX export; returns the handles."""
    modules = dict(float_model.named_modules())
    by_module = collections.defaultdict(dict)
    for i, p in enumerate(points):
        path, index = p.call if p.call is not None else (None, None)   # a pooling's output: see pool_tensors
        by_module[path][index] = i
    counters = {path: [0] for path in by_module}

    def reset(module, inputs):
        for counter in counters.values():
            counter[0] = 0

    handles = [float_model.register_forward_pre_hook(reset)]
    for path, table in by_module.items():
        if path is None:
            continue
        def hook(module, inputs, output, table=table, counter=counters[path]):
            index = table.get(None, table.get(counter[0]))
            counter[0] += 1
            if index is None or not torch.is_tensor(output):
                return None
            return _Mark.apply(output, index)

        handles.append(modules[path].register_forward_hook(hook))
    return handles


def strip_markers(model_proto):
    """Remove the ``quantbridge::Point`` nodes (their consumers read the marked tensor directly);
    return ``{point index: tensor name}``."""
    found = {}
    rename = {}
    keep = []
    for node in model_proto.graph.node:
        if node.domain == MARK_DOMAIN and node.op_type == MARK_OP:
            index = next(a.i for a in node.attribute if a.name == "index")
            source = rename.get(node.input[0], node.input[0])
            found[index] = source
            rename[node.output[0]] = source
        else:
            keep.append(node)
    for node in keep:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    for out in model_proto.graph.output:
        if out.name in rename:
            msg = f"internal: a quantization point marks the model output {out.name!r}"
            raise RuntimeError(msg)
    del model_proto.graph.node[:]
    model_proto.graph.node.extend(keep)
    imports = [o for o in model_proto.opset_import if o.domain != MARK_DOMAIN]
    del model_proto.opset_import[:]
    model_proto.opset_import.extend(imports)
    infos = [v for v in model_proto.graph.value_info if v.name not in rename]
    del model_proto.graph.value_info[:]
    model_proto.graph.value_info.extend(infos)
    return found


def detach(root):
    """Remove the points from ``root`` (hooks, tables, derived quantizers): a plain model again."""
    for module in root.modules():
        for handle_id, hook in list(module._forward_hooks.items()):
            if hook is apply_point or hook is pass_folded:
                del module._forward_hooks[handle_id]
        for attr in ("_quantbridge_apply", "_quantbridge_apply_steps", "_quantbridge_apply_seen", GROUP_ATTR):
            module.__dict__.pop(attr, None)
    _pools.detach(root)
    if CONTAINER in root._modules:
        del root._modules[CONTAINER]

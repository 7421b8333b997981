"""Derived quantization points (integer kernels): where they are, how they are kept and exported."""

import json
import warnings

import onnx
import pytest
import torch
from torch import nn

from quantbridge.torch import build_config, calibrate, generate_final_model, optimize_model
from quantbridge.torch import _points


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += x
        return self.relu(out)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.block = Block(4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = self.block(self.pool(self.stem(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 1)

    def forward(self, x):
        if x.sum() > 0:        # data-dependent control flow
            return self.conv(x)
        return self.conv(-x)


def _quant(model, reduce_range=False, integer_kernels=True):
    cfg = build_config(model, "x:1,2,8,8")
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    cfg["quantbridge"] = {"integer_kernels": integer_kernels, "reduce_range": reduce_range}
    return cfg, optimize_model(model, cfg)


def test_points_are_opt_in():
    torch.manual_seed(0)
    _, q = _quant(Net().eval(), integer_kernels=False)
    assert _points.points_of(q) == []
    assert not hasattr(q, _points.CONTAINER) or len(list(getattr(q, _points.CONTAINER).children())) == 0


def test_points_of_a_residual_net():
    torch.manual_seed(0)
    _, q = _quant(Net().eval())
    points = {p.name: p for p in _points.points_of(q)}
    # stem output moved through MaxPool: the mirror before it, the point after it owned by block.conv1
    assert points["stem_2"].mirror_of == "pool" and not points["stem_2"].hook
    assert points["pool"].owner == "block/conv1/Conv2D" and points["pool"].hook   # the add reads it too
    assert points["block_relu"].owner == "block/conv2/Conv2D" and not points["block_relu"].hook
    assert points["block_bn2"].owner is None and points["block_bn2"].hook          # an add input
    assert points["block_relu_1"].call == ("block", None)                          # the add's output
    assert "fc" not in points                                                      # the model output
    # the global pooling of the add's output runs in integer into fc's input grid
    pooled = points["adaptive_avg_pool2d"]
    assert pooled.pool_of == "block_relu_1" and pooled.owner == "fc/MatMul" and pooled.call is None
    assert not pooled.hook and pooled.consumers == ("fc",)
    keys = [k for k in q.state_dict() if k.startswith(_points.CONTAINER + ".")]
    assert {k.split(".")[1] for k in keys} == {"block_bn2", "block_relu_1"}


def test_points_are_calibrated_exported_and_named_in_the_onnx_graph(workdir):
    torch.manual_seed(0)
    model = Net().eval()
    cfg, q = _quant(Net().eval())
    q.load_state_dict(model.state_dict(), strict=False)
    g = torch.Generator().manual_seed(1)
    calibrate(q, [torch.randn(4, 2, 8, 8, generator=g) for _ in range(3)])
    own = q.quantbridge_points["block_bn2"]
    assert int(own.calibrated[0]) == 1 and float(own.min_val) < 0 < float(own.max_val)
    torch.save(q.state_dict(), "q.pth")
    result = generate_final_model(model, cfg, "q.pth", "./", "net")
    with open("net_quant_param.json", encoding="utf-8") as fh:
        params = json.load(fh)
    assert params["version"] == 2
    graph = onnx.load("net.onnx").graph
    assert not [n for n in graph.node if n.domain == _points.MARK_DOMAIN]
    produced = {o for n in graph.node for o in n.output}
    by_name = {p["name"]: p for p in params["points"]}
    assert set(by_name) == {"stem_2", "pool", "block_relu", "block_bn2", "block_relu_1", "adaptive_avg_pool2d"}
    for p in params["points"]:
        assert p["tensor"] in produced
    pooling = next(n for n in graph.node if n.op_type == "GlobalAveragePool")
    assert by_name["adaptive_avg_pool2d"]["tensor"] == pooling.output[0]
    assert list(pooling.input) == [by_name["block_relu_1"]["tensor"]]
    fc = next(l for l in params["layers"] if l["name"] == "fc/MatMul")
    assert by_name["adaptive_avg_pool2d"]["scale"] == fc["activation"]["scale"]
    conv1 = next(l for l in params["layers"] if l["name"] == "block/conv1/Conv2D")
    assert by_name["pool"]["scale"] == conv1["activation"]["scale"]
    assert by_name["pool"]["tensor"] == conv1["activation"]["tensor"]
    assert result["param_dict"]["points"] == params["points"]


def test_an_untraceable_model_keeps_input_only_quantization():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, q = _quant(Untraceable())
    assert _points.points_of(q) == []
    assert any("torch.fx cannot trace" in str(w.message) for w in caught)


def test_reduce_range_uses_127_levels_and_still_saturates_at_255():
    torch.manual_seed(0)
    _, q = _quant(Net().eval(), reduce_range=True)
    calibrate(q, [torch.randn(4, 2, 8, 8)])
    aq = q.stem[0].activation_quant
    qp = aq.qparams()
    assert qp["bits"] == 7 and aq.quant_max == 255
    lo, hi = float(aq.min_val), float(aq.max_val)
    assert qp["scale"] == pytest.approx((hi - lo) / 127, rel=1e-6)
    x = torch.full((1,), hi * 3)
    assert float(aq(x)) == pytest.approx((255 - qp["zero_point"]) * qp["scale"], rel=1e-6)


def test_reduce_range_must_be_a_boolean():
    from quantbridge.errors import ConfigError
    cfg = build_config(Net(), "x:1,2,8,8")
    cfg["quantbridge"] = {"reduce_range": "yes"}
    with pytest.raises(ConfigError, match="reduce_range' is 'yes'; expected true or false"):
        optimize_model(Net(), cfg)


def test_quant_loss_includes_the_points_and_qat_learns_their_scales():
    from quantbridge.torch import get_quant_loss
    torch.manual_seed(0)
    _, q = _quant(Net())
    calibrate(q, [torch.randn(4, 2, 8, 8)])
    q.train()
    before = float(q.quantbridge_points["block_bn2"].scale)
    opt = torch.optim.SGD(q.parameters(), lr=0.5)
    out = q(torch.randn(4, 2, 8, 8))
    with_points = get_quant_loss(q)
    assert q.quantbridge_points["block_bn2"].quant_error() is not None
    (out.pow(2).mean() + with_points).backward()
    opt.step()
    assert float(q.quantbridge_points["block_bn2"].scale) != before


def _calibrated(model_cls=Net, **kw):
    torch.manual_seed(0)
    model = model_cls().eval()
    with torch.no_grad():                       # BatchNorm statistics that are not the identity
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    float_state = {k: v.clone() for k, v in model.state_dict().items()}
    cfg, q = _quant(model, **kw)
    g = torch.Generator().manual_seed(1)
    calibrate(q, [torch.randn(8, 2, 8, 8, generator=g) for _ in range(3)])
    return cfg, q, float_state


def test_points_are_the_default():
    cfg = build_config(Net().eval(), "x:1,2,8,8")
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    q = optimize_model(Net().eval(), cfg)
    assert len(_points.points_of(q)) == 6
    groups = {path: m.__dict__[_points.GROUP_ATTR] for path, m in q.named_modules()
              if _points.GROUP_ATTR in m.__dict__}
    assert set(groups) == {"stem.0", "block.conv1", "block.conv2", "fc"}
    assert groups["stem.0"][0] is q.stem[1] and groups["stem.0"][1] == "relu"
    assert groups["fc"][2] is None          # fc's output is the model's: a float-output kernel


def test_eval_mode_computes_the_folded_integer_arithmetic():
    _, q, _ = _calibrated()
    x = torch.randn(16, 2, 8, 8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        deployed = q.pool(q.stem(x))     # conv -> folded BN -> ReLU, requantized by the point's quantizer
        for m in q.modules():
            m.__dict__.pop(_points.GROUP_ATTR, None)
        float_path = q.pool(q.stem(x))   # conv -> BN in float, then the point's quantizer (after the pool)
    point = q.block.conv1.activation_quant       # the stem's point moved through the pool, owned by block.conv1
    scale, zp = point.qparams()["scale"], point.qparams()["zero_point"]
    codes = deployed / scale + zp
    assert torch.allclose(codes, codes.round(), atol=1e-3) and float(codes.min()) >= 0   # on the output grid
    diff = (deployed - float_path).abs()
    assert float(diff.max()) <= scale * 1.0001          # at most one step apart where a rounding flips
    assert float((diff > 1e-6).float().mean()) < 0.05


def test_a_layer_switched_to_float_takes_its_points_with_it():
    _, q, float_state = _calibrated()
    x = torch.randn(16, 2, 8, 8, generator=torch.Generator().manual_seed(5))
    for m in q.modules():
        if hasattr(m, "weight_quant"):
            m.weight_quant.disable_fake_quant()
            m.activation_quant.disable_fake_quant()
    model = Net().eval()
    model.load_state_dict(float_state)
    with torch.no_grad():
        assert torch.equal(q(x), model(x))           # no derived point stays active


def test_training_mode_runs_batchnorm_in_float_with_batch_statistics():
    _, q, _ = _calibrated()
    q.train()
    x = torch.randn(16, 2, 8, 8, generator=torch.Generator().manual_seed(5))
    out = q(x)
    out.pow(2).mean().backward()
    assert q.stem[0].weight.grad is not None and float(q.stem[0].weight.grad.abs().sum()) > 0
    assert q.stem[1].num_batches_tracked.item() == 1      # BatchNorm ran on the batch


class FunctionalRelu(nn.Module):
    """conv -> BN -> torch.relu -> conv: the point before the functional ReLU merges into conv2's input."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        x = self.conv2(torch.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(x, 1))


def test_every_parameter_takes_part_in_a_training_step_for_ddp():
    """DistributedDataParallel without find_unused_parameters fails when a parameter gets no
    gradient; a point merged into its reader (or inactive) must still be in the graph in training."""
    _, q, _ = _calibrated(FunctionalRelu)
    merged = [p for p in _points.points_of(q) if p.merged_into is not None]
    assert merged, "the fixture has a point merged into its reader"
    q.train()
    q(torch.randn(8, 2, 8, 8)).sum().backward()
    unused = [n for n, p in q.named_parameters() if p.requires_grad and p.grad is None]
    assert unused == []
    q.eval()
    with torch.no_grad():
        a = q(torch.ones(2, 2, 8, 8))
    q.train()
    q.eval()
    with torch.no_grad():       # (with autograd on, eval mode takes the float path, see _integer)
        assert torch.equal(a, q(torch.ones(2, 2, 8, 8)))


def test_export_with_points_writes_no_exporter_notice_to_stderr(workdir, capfd):
    cfg, q, float_state = _calibrated(FunctionalRelu)
    torch.save(q.state_dict(), "q.pth")
    model = FunctionalRelu().eval()
    model.load_state_dict(float_state)
    generate_final_model(model, cfg, "q.pth", "./", "net")
    err = capfd.readouterr().err
    assert "shape inference" not in err, err


def _ort_global_pool(codes, s_x, zp_x, s_y, zp_y, tmp_path):
    """ONNX Runtime's result (uint8 codes) for DequantizeLinear -> GlobalAveragePool -> QuantizeLinear
    of ``codes``, with the optimized graph's op types (the fused kernel)."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    values = {"sx": np.array(s_x, np.float32), "zx": np.array(zp_x, np.uint8),
              "sy": np.array(s_y, np.float32), "zy": np.array(zp_y, np.uint8)}
    inits = [numpy_helper.from_array(v, name) for name, v in values.items()]
    nodes = [helper.make_node("DequantizeLinear", ["x", "sx", "zx"], ["xd"]),
             helper.make_node("GlobalAveragePool", ["xd"], ["p"]),
             helper.make_node("QuantizeLinear", ["p", "sy", "zy"], ["y"])]
    shape = ["n"] + list(codes.shape[1:])
    graph = helper.make_graph(nodes, "pool", [helper.make_tensor_value_info("x", TensorProto.UINT8, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.optimized_model_filepath = str(tmp_path / "pool_optimized.onnx")
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    ops = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    return session.run(None, {"x": codes})[0], ops


def test_eval_mode_global_pooling_is_onnx_runtimes_integer_kernel(tmp_path):
    """The pooled point feeding fc is ONNX Runtime's QLinearGlobalAveragePool, code for code:
    int32 sum, float32 multiplier s_x / (s_y * H * W), round half to even, saturate."""
    import numpy as np
    from quantbridge.torch import _integer
    _, q, _ = _calibrated()
    in_q, out_q = q.quantbridge_points["block_relu_1"], q.fc.activation_quant
    seen = {}
    q.block.register_forward_hook(lambda m, i, o: seen.setdefault("pooled", o))
    q.fc.register_forward_pre_hook(lambda m, i: seen.setdefault("fc_input", i[0]))
    with torch.no_grad():
        q(torch.randn(64, 2, 8, 8, generator=torch.Generator().manual_seed(7)))
    # the forward pass hands fc the integer pooling of the (quantized) block output
    assert torch.equal(seen["fc_input"], _integer.global_pool(seen["pooled"], in_q, out_q).flatten(1))
    rng = np.random.default_rng(0)
    s_x, zp_x = in_q.effective_scale(), int(in_q.zero_point)
    s_y, zp_y = out_q.effective_scale(), int(out_q.zero_point)
    cases = [(s_x, zp_x, s_y, zp_y, (64, 4, 4, 4))]                 # the model's own parameters
    for ratio, size in ((1.0, 7), (0.37, 7), (3.1, 16), (1.0, 2), (0.5, 3)):   # and near-tie prone ones
        cases.append((0.02, 3, 0.02 / ratio, 128, (32, 24, size, size)))
    flips = 0
    for s_in, z_in, s_out, z_out, shape in cases:
        with torch.no_grad():
            in_q.scale.fill_(s_in), in_q.zero_point.fill_(z_in)
            out_q.scale.fill_(s_out), out_q.zero_point.fill_(z_out)
            codes = rng.integers(0, 256, shape).astype(np.uint8)
            x = (torch.from_numpy(codes.astype(np.float32)) - z_in).mul_(in_q.effective_scale())   # on in_q's grid
            ours = _integer.global_pool(x, in_q, out_q)
        ours = (ours / out_q.effective_scale()).round() + z_out
        expected, ops = _ort_global_pool(codes, in_q.effective_scale(), z_in, out_q.effective_scale(), z_out, tmp_path)
        assert "QLinearGlobalAveragePool" in ops, ops
        assert np.array_equal(ours.numpy().astype(np.uint8).reshape(expected.shape), expected), (s_in, s_out, shape)
        naive = torch.clamp(torch.round(x.mean((2, 3), keepdim=True) / out_q.effective_scale()) + z_out, 0, 255)
        flips += int((naive.numpy().astype(np.uint8).reshape(expected.shape) != expected).sum())
    assert flips > 0        # the float mean rounds differently somewhere: the test tells the two apart


class PoolAfterFunction(nn.Module):
    """conv -> ReLU -> F.max_pool2d -> global pooling -> fc: the pooled tensor is not the tensor the
    point's hook quantizes (the point sits on the ReLU's output), so the pooling stays float."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = nn.functional.max_pool2d(self.relu(self.conv(x)), 2)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, (1, 1)), 1))


class PooledTwice(nn.Module):
    """The pooled features feed fc and are also returned: not one quantized reader alone."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        features = torch.flatten(self.pool(self.relu(self.conv(x))), 1)
        return self.fc(features), features


class ModulePool(nn.Module):
    """resnet's tail: nn.AdaptiveAvgPool2d((1, 1)) -> torch.flatten -> Dropout -> fc."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(self.drop(torch.flatten(self.pool(self.relu(self.conv(x))), 1)))


@pytest.mark.parametrize("model_cls, pooled", [(PoolAfterFunction, False), (PooledTwice, False), (ModulePool, True)])
def test_which_global_poolings_run_in_integer(model_cls, pooled):
    _, q, _ = _calibrated(model_cls)
    points = [p for p in _points.points_of(q) if p.pool_of is not None]
    assert bool(points) == pooled, _points.points_of(q)
    x = torch.randn(8, 2, 8, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        first = q(x)
        again = q(x)            # the pooled value is handed over once per forward pass
    first, again = (first[0], again[0]) if isinstance(first, tuple) else (first, again)
    assert torch.equal(first, again)
    if pooled:
        from quantbridge.torch import _integer
        seen = {}
        q.relu.register_forward_hook(lambda m, i, o: seen.setdefault("point", o))
        q.fc.register_forward_pre_hook(lambda m, i: seen.setdefault("fc_input", i[0]))
        with torch.no_grad():
            q(x)
        in_q = q.quantbridge_points[points[0].pool_of]
        deployed = _integer.global_pool(seen["point"], in_q, q.fc.activation_quant)
        assert torch.equal(seen["fc_input"], deployed.flatten(1))


class Clipped(nn.Module):
    """conv + BN, then a ReLU6 or ReLU spelled as a clip, into a second conv."""

    def __init__(self, clip):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.clip = clip if isinstance(clip, nn.Module) else nn.Identity()
        self.fn = None if isinstance(clip, nn.Module) else clip
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        h = self.bn1(self.conv1(x))
        h = self.clip(h) if self.fn is None else self.fn(h)
        return self.fc(torch.flatten(torch.relu(self.conv2(h)), 1))


@pytest.mark.parametrize("clip, act, merged", [
    (nn.Hardtanh(0.0, 6.0), "relu6", False),
    (nn.Hardtanh(0, 6), "relu6", False),
    (lambda h: torch.relu(h), None, True),
    (lambda h: nn.functional.hardtanh(h, min_val=0.0, max_val=6.0), None, True),
    (lambda h: torch.clamp(h, 0.0, 6.0), None, True),
    (lambda h: h.clamp(min=0), None, True),
    (nn.Hardtanh(-1.0, 1.0), None, False),
    (lambda h: torch.clamp(h, -1.0, 6.0), None, False),
])
def test_a_clip_from_zero_is_a_relu(clip, act, merged):
    # a clip from 0 not taken for a ReLU left the point before it unmerged: ONNX Runtime then drops
    # the Clip and merges the two quantize/dequantize pairs onto one grid while the fake-quant model
    # rounds twice (1.5 % relative output error, 98 % agreement on the digits). A module's output is
    # hooked (the group absorbs it); a function's merges into the next layer's input quantizer.
    torch.manual_seed(0)
    _, q = _quant(Clipped(clip).eval())
    group = q.conv1.__dict__.get(_points.GROUP_ATTR)
    assert group is not None and group[1] == act, group
    assert (group[3] is q.conv2.activation_quant) == merged, group


class Tokens(nn.Module):
    """conv + BN + ReLU, then a Linear on 3-D input (exported as MatMul + Add), then the last Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.proj = nn.Linear(4, 6)
        self.fc = nn.Linear(6 * 64, 3)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x))).flatten(2).transpose(1, 2)
        return self.fc(torch.relu(self.proj(h)).flatten(1))


def test_a_linear_on_3d_input_is_not_marked_int32_bias(workdir):
    # the fake-quant model computes it in float (no integer kernel takes its bias), and the QDQ
    # builder keeps its float Add: the parameter file said "int32_bias": true all the same
    cfg, q, float_state = _calibrated(Tokens)
    torch.save(q.state_dict(), "q.pth")
    model = Tokens().eval()
    model.load_state_dict(float_state)
    generate_final_model(model, cfg, "q.pth", "./", "tokens")
    with open("tokens_quant_param.json", encoding="utf-8") as fh:
        marks = {layer["name"]: layer.get("int32_bias", False) for layer in json.load(fh)["layers"]}
    assert marks == {"conv/Conv2D": True, "proj/MatMul": False, "fc/MatMul": True}, marks

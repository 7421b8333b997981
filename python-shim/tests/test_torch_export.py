"""The exported ONNX model and parameter file: structure, weight grid, ONNX Runtime round trips."""

import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import helper, numpy_helper  # noqa: E402
from torch import nn  # noqa: E402

from quantbridge.torch import ActivationFakeQuantize  # noqa: E402
from quantbridge.common import paramfile  # noqa: E402
from quantbridge.examples import digits_torch  # noqa: E402
from quantbridge.torch import (build_config, calibrate, export_onnx, fake_quant_predict,  # noqa: E402
                               generate_final_model, optimize_model, quant_params, set_calibrate_state)

from conftest import all_int8  # noqa: E402


class Zoo(nn.Module):
    """Every supported layer kind: Conv1d, Linear on 3-D input (MatMul), Conv2d + BN, grouped conv + BN,
    ConvTranspose2d + BN, Linear without bias (MatMul) and with bias (Gemm); two inputs, two outputs."""

    def __init__(self):
        super().__init__()
        self.seq = nn.Sequential(nn.Conv1d(3, 4, 3), nn.ReLU())
        self.proj = nn.Linear(6, 5)
        self.conv = nn.Conv2d(2, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.group = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.bn3 = nn.BatchNorm2d(4)
        self.head = nn.Linear(4 * 16 * 16, 6, bias=False)
        self.out = nn.Linear(6, 3)

    def forward(self, x, y):
        a = self.proj(self.seq(x))
        b = torch.relu(self.bn(self.conv(y)))
        b = torch.relu(self.bn2(self.group(b)))
        b = self.bn3(self.up(b))
        return self.out(torch.relu(self.head(b.flatten(1)))), a


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        if float(x.sum()) > -1e30:
            x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.flatten(1))


def _randomise_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) * 1.5 + 0.25)
                m.weight[0] = -m.weight[0]          # a negative factor: the grid must survive it
                m.bias.copy_(torch.randn(n, generator=g) * 0.2)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
    return model


def _inputs(shape_text, batch, seed=1):
    g = torch.Generator().manual_seed(seed)
    from quantbridge.common.config import parse_input_shape
    return {name: torch.randn([batch] + dims[1:], generator=g).numpy() for name, dims in parse_input_shape(shape_text)}


def _save(quant):
    torch.save(quant.state_dict(), "quant.pth")
    return "quant.pth"


def _outputs(quant, feeds, act_quant=True):
    for m in quant.modules():
        if isinstance(m, ActivationFakeQuantize):       # layer inputs and derived points
            m.enable_fake_quant(act_quant)
    quant.eval()
    with torch.no_grad():
        out = quant(*[torch.from_numpy(v) for v in feeds.values()])
    for m in quant.modules():
        if isinstance(m, ActivationFakeQuantize):
            m.enable_fake_quant(True)
    return [t.numpy() for t in (out if isinstance(out, tuple) else (out,))]


def _check_structure(path, params, shape_text):
    model = onnx.load(path)
    onnx.checker.check_model(model)
    assert [(o.domain, o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")] == [("", 13)]
    ops = {n.op_type for n in model.graph.node}
    assert not ops & {"BatchNormalization", "QuantizeLinear", "DequantizeLinear", "FakeQuantize"}
    for value in list(model.graph.input) + list(model.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param      # dynamic batch axis
    assert [i.name for i in model.graph.input] == [p.split(":")[0] for p in shape_text.split(";")]
    # the parameter file
    assert params["format"] == paramfile.FORMAT and params["framework"] == "torch"
    assert params["model"]["file"] == os.path.basename(path) and params["model"]["sha256"] == paramfile.sha256_file(path)
    assert params["model"]["input_shape"] == shape_text
    assert params["model"]["outputs"] == [o.name for o in model.graph.output]
    nodes = {n.name: n for n in model.graph.node}
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for layer in params["layers"]:
        node = nodes[layer["node"]]
        w, a = layer["weight"], layer["activation"]
        assert node.input[1] == w["tensor"] and node.input[0] == a["tensor"]
        expected_axis = {"Conv": 0, "ConvTranspose": 1, "MatMul": 1}.get(node.op_type)
        if node.op_type == "Gemm":
            trans_b = next(x for x in node.attribute if x.name == "transB")
            expected_axis = 0 if helper.get_attribute_value(trans_b) else 1
        assert w["axis"] == expected_axis
        # every quantized weight lies exactly on its int8 grid
        weight = inits[w["tensor"]].astype(np.float64)
        shape = [1] * weight.ndim
        shape[w["axis"]] = -1
        q = weight / np.asarray(w["scale"]).reshape(shape)
        assert np.abs(q - np.round(q)).max() < 1e-3 and np.abs(np.round(q)).max() <= 127
        assert w["zero_point"] == [0] * weight.shape[w["axis"]] and len(w["scale"]) == weight.shape[w["axis"]]
        assert 0 <= a["zero_point"] <= 255 and a["scale"] > 0 and a["min"] <= 0 <= a["max"]
    return model


def _qdq(model, params):
    """The INT8 QDQ model the Java side builds from the parameter file (a Python rendering of the
    same rules): at every node of a quantized layer (``nodes``, or ``node``), Q/DQ of the layer's
    activation parameters on the node's data input and of the weight entry (or of its copy for
    the initializer the node reads) on its weight input; Q/DQ of every derived point on its tensor
    (all readers); an int32 bias (scale ``s_x * s_w[c]`` in float32) for a quantized Conv/Gemm of a
    layer marked ``int32_bias`` or whose output, directly or through a Relu/Clip, is a point. Weights
    are uint8 codes with zero point 128, the default ``onnx_weight_type`` (ONNX Runtime's u8*u8
    kernels, which cannot saturate on a CPU without VNNI)."""
    extra_inits, before = [], {}
    points = {p["tensor"]: p for p in params.get("points", [])}
    inits = {t.name: t for t in model.graph.initializer}
    by_output = {}
    for node in model.graph.node:
        for reader in node.input:
            by_output.setdefault(reader, []).append(node)
    for layer in params["layers"]:
        if "weight" not in layer:
            continue
        w, a = layer["weight"], layer["activation"]
        weights = {w["tensor"]: w, **{c["tensor"]: c for c in w.get("copies", [])}}
        for p in layer.get("nodes", [layer["node"]]):
            node = next(n for n in model.graph.node if n.name == p)
            out = node.output[0]
            quantized_out = out in points or any(
                n.op_type in ("Relu", "Clip") and n.output[0] in points for n in by_output.get(out, []))
            if node.op_type not in ("Conv", "Gemm") or len(node.input) < 3 or not (quantized_out or layer.get("int32_bias")):
                continue
            bias = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32)
            ws = np.asarray(weights.get(node.input[1], w)["scale"], np.float32)
            scale = (np.float32(a["scale"]) * ws).astype(np.float32)
            q = np.clip(np.rint(bias.astype(np.float64) / scale.astype(np.float64)), -2 ** 31, 2 ** 31 - 1)
            extra_inits += [numpy_helper.from_array(q.astype(np.int32), p + "_bq"),
                            numpy_helper.from_array(scale, p + "_bs"),
                            numpy_helper.from_array(np.zeros(len(scale), np.int32), p + "_bz")]
            before.setdefault(p + "_bias", []).append(
                helper.make_node("DequantizeLinear", [p + "_bq", p + "_bs", p + "_bz"], [p + "_bd"], axis=0))
            node.input[2] = p + "_bd"
    for layer in params["layers"]:
        if "weight" not in layer:
            continue
        w, a = layer["weight"], layer["activation"]
        weights = {w["tensor"]: w, **{c["tensor"]: c for c in w.get("copies", [])}}
        for p in layer.get("nodes", [layer["node"]]):
            node = next(n for n in model.graph.node if n.name == p)
            wp = weights.get(node.input[1], w)
            extra_inits += [numpy_helper.from_array(np.array(a["scale"], np.float32), p + "_as"),
                            numpy_helper.from_array(np.array(a["zero_point"], np.uint8), p + "_az"),
                            numpy_helper.from_array(np.array(wp["scale"], np.float32), p + "_ws"),
                            numpy_helper.from_array(np.full(len(wp["scale"]), 128, np.uint8), p + "_wz")]
            axis = wp["axis"]
            before[p] = [helper.make_node("QuantizeLinear", [node.input[0], p + "_as", p + "_az"], [p + "_aq"]),
                         helper.make_node("DequantizeLinear", [p + "_aq", p + "_as", p + "_az"], [p + "_ad"]),
                         helper.make_node("QuantizeLinear", [node.input[1], p + "_ws", p + "_wz"], [p + "_wq"],
                                          axis=axis),
                         helper.make_node("DequantizeLinear", [p + "_wq", p + "_ws", p + "_wz"], [p + "_wd"],
                                          axis=axis)]
    nodes = []
    for node in model.graph.node:
        nodes += before.get(node.name + "_bias", [])
        if node.name in before:
            nodes += before[node.name]
            node.input[0], node.input[1] = node.name + "_ad", node.name + "_wd"
        nodes.append(node)
    for tensor, point in points.items():       # each point's tensor: one Q/DQ pair that every reader reads
        name = "pt_" + point["name"]
        extra_inits += [numpy_helper.from_array(np.array(point["scale"], np.float32), name + "_s"),
                        numpy_helper.from_array(np.array(point["zero_point"], np.uint8), name + "_z")]
        for node in nodes:
            for i, reader in enumerate(node.input):
                if reader == tensor:
                    node.input[i] = name + "_d"
        for out in model.graph.output:
            assert out.name != tensor
        at = next((i for i, n in enumerate(nodes) if tensor in n.output), -1) + 1
        nodes[at:at] = [helper.make_node("QuantizeLinear", [tensor, name + "_s", name + "_z"], [name + "_q"]),
                        helper.make_node("DequantizeLinear", [name + "_q", name + "_s", name + "_z"], [name + "_d"])]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    model.graph.initializer.extend(extra_inits)
    return model.SerializeToString()


def _run_deployed(model_bytes, feeds):
    """Run the INT8 model as deployed: ONNX Runtime's default graph optimizations (integer kernels,
    ReLU and double quantize/dequantize removal), which the fake-quant model follows."""
    session = ort.InferenceSession(model_bytes, ort.SessionOptions(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _run(model_bytes, feeds):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL   # ONNX semantics, no fusions
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def test_digits_export_matches_fake_quant_model(workdir, digits_model):
    cfg = all_int8(build_config(digits_model, digits_torch.INPUT_SHAPE))
    quant = optimize_model(digits_model, cfg)
    calibrate(quant, digits_torch.calibration_batches())
    out = generate_final_model(digits_torch.build_model(), cfg, _save(quant), "./")
    model = _check_structure(out["onnx"], out["param_dict"], digits_torch.INPUT_SHAPE)
    assert len(out["param_dict"]["layers"]) == 4
    feeds = {"x": digits_torch.test_inputs()}                     # batch 360 against input_shape batch 1
    float_onnx = _run(out["onnx"], feeds)[0]
    np.testing.assert_allclose(float_onnx, _outputs(quant, feeds, act_quant=False)[0], rtol=1e-4, atol=1e-4)
    qdq = _run_deployed(_qdq(model, out["param_dict"]), feeds)[0]
    fq = fake_quant_predict(quant, feeds["x"])
    assert (qdq.argmax(1) == fq.argmax(1)).mean() >= 0.99
    assert np.abs(qdq - fq).max() < 0.01 * np.abs(fq).max()
    # the Java-facing scales: before folding for quant_params, folded in the file; the Linear has no BN
    assert quant_params(quant)[3]["weight"]["scale"] == pytest.approx(out["param_dict"]["layers"][3]["weight"]["scale"])


def test_every_layer_kind_exports(workdir):
    shape = "x:1,3,8;y:1,2,8,8"
    g = torch.Generator().manual_seed(3)
    batches = [(torch.randn(8, 3, 8, generator=g), torch.randn(8, 2, 8, 8, generator=g)) for _ in range(3)]
    torch.manual_seed(0)
    model = _randomise_bn(Zoo())
    cfg = all_int8(build_config(model, shape))
    assert list(cfg["layer_strategy"]) == ["seq/0/Conv1D", "proj/MatMul", "conv/Conv2D", "group/Conv2D",
                                           "up/Conv2DTranspose", "head/MatMul", "out/MatMul"]
    quant = optimize_model(model, cfg)
    quant.eval()
    set_calibrate_state(quant, True)      # two inputs: the vendor's manual calibration
    with torch.no_grad():
        for x, y in batches:
            quant(x, y)
    set_calibrate_state(quant, False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # no fallback warning: every BN is folded by us
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        out = export_onnx(Zoo(), cfg, quant.state_dict(), "./", name="zoo")
    assert set(out) >= {"onnx", "layers", "outputs", "input_shape"} and out["outputs"] == ["output_0", "output_1"]
    params = paramfile.build("torch", out["onnx"], out["layers"], shape, out["outputs"])
    model_proto = _check_structure(out["onnx"], params, shape)
    kinds = {layer["name"]: (layer["weight"]["axis"]) for layer in out["layers"]}
    assert kinds == {"seq/0/Conv1D": 0, "proj/MatMul": 1, "conv/Conv2D": 0, "group/Conv2D": 0,
                     "up/Conv2DTranspose": 1, "head/MatMul": 1, "out/MatMul": 0}   # MatMul: W^T; Gemm: transB
    feeds = _inputs(shape, 5)
    for got, want in zip(_run(out["onnx"], feeds), _outputs(quant, feeds, act_quant=False)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    for got, want in zip(_run_deployed(_qdq(model_proto, params), feeds), _outputs(quant, feeds)):
        assert np.abs(got - want).max() < 0.01 * max(np.abs(want).max(), 1e-3)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_untraceable_model_falls_back_with_a_warning(workdir):
    torch.manual_seed(0)
    model = _randomise_bn(Untraceable())
    cfg = all_int8(build_config(model, "x:1,1,6,6"))
    quant = optimize_model(model, cfg)
    calibrate(quant, [torch.randn(16, 1, 6, 6)])
    with pytest.warns(UserWarning, match="BatchNorm folding skipped"):
        out = generate_final_model(Untraceable(), cfg, _save(quant), "./")
    # torch's exporter folded the BN itself; the layer is still found (by value) and its weights are on the grid
    _check_structure(out["onnx"], out["param_dict"], "x:1,1,6,6")
    assert [layer["name"] for layer in out["param_dict"]["layers"]] == ["conv/Conv2D", "fc/MatMul"]
    feeds = _inputs("x:1,1,6,6", 4)
    np.testing.assert_allclose(_run(out["onnx"], feeds)[0], _outputs(quant, feeds, act_quant=False)[0],
                               rtol=1e-4, atol=1e-4)


def test_float_layers_keep_their_node_without_parameters(workdir, digits_model):
    cfg = build_config(digits_model, digits_torch.INPUT_SHAPE)
    cfg["layer_strategy"]["fc/MatMul"]["quant_strategy"] = "Quant_INT8-8"
    quant = optimize_model(digits_model, cfg)
    calibrate(quant, digits_torch.calibration_batches(num_batches=2))
    out = generate_final_model(digits_torch.build_model(), cfg, _save(quant), "./")
    layers = out["param_dict"]["layers"]
    assert [layer["quant_strategy"] for layer in layers] == ["float", "float", "float", "Quant_INT8-8"]
    assert all("weight" not in layer and layer["node"].startswith("Conv") for layer in layers[:3])
    assert layers[3]["node"].startswith("Gemm")


def test_unused_quantized_layer_is_left_out_with_a_warning(workdir):
    class WithSpare(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.spare = nn.Linear(4, 2)      # never called

        def forward(self, x):
            return self.fc(x)

    torch.manual_seed(0)
    cfg = all_int8(build_config(WithSpare(), "x:1,4"))
    quant = optimize_model(WithSpare(), cfg)
    calibrate(quant, [torch.randn(8, 4)])
    quant.spare.activation_quant.set_qparams(0.1, 0)      # calibrated by hand: the check passes
    with pytest.warns(UserWarning, match="'spare/MatMul' has no node"):
        out = export_onnx(WithSpare(), cfg, quant.state_dict(), "./")
    assert [layer["name"] for layer in out["layers"]] == ["fc/MatMul"]


# -- layers called more than once, tied weights, weights read outside their module -----------------
class SharedHead(nn.Module):
    """One conv applied twice (a shared head): the second call reads another tensor, same quantizer."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        y = self.c(torch.relu(self.c(x)) - 1.0)
        return self.fc(y.mean((2, 3)))


class SharedPerLevelBN(nn.Module):
    """A shared conv with its own BatchNorm after each call (EfficientDet-style heads): torch's
    exporter folds each BatchNorm into its own copy of the weight."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x):
        a = torch.relu(self.bn1(self.c(x)))
        return self.bn2(self.c(a))


class TiedReversed(nn.Module):
    """Two Linear layers sharing one weight, on 3-D inputs (MatMul with unnamed transposed copies),
    called in the reverse of their module order with very different input ranges."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6)
        self.b.weight = self.a.weight

    def forward(self, x):
        y = self.b(x)
        return self.a(10.0 * torch.relu(y))


class FunctionalReuse(nn.Module):
    """The conv's weight is also read by a functional conv (a weight-shared dilated branch)."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        a = self.bn(self.c(x))
        b = torch.nn.functional.conv2d(x, self.c.weight, self.c.bias, padding=2, dilation=2)
        return self.head(a + b)


def _pipeline(cls, shape, batches, quantized=None, steps=0):
    """Quantize ``cls()`` (all layers, or ``quantized``), calibrate, optionally train, export."""
    torch.manual_seed(0)
    model = _randomise_bn(cls())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = build_config(model, shape)
    for name, entry in cfg["layer_strategy"].items():
        if quantized is None or name in quantized:
            entry["quant_strategy"] = "Quant_INT8-8"
    quant = optimize_model(model, cfg)
    calibrate(quant, batches)
    if steps:
        opt = torch.optim.SGD(quant.parameters(), lr=1e-2)
        quant.train()
        for batch in batches[:steps]:
            opt.zero_grad()
            quant(batch).pow(2).mean().backward()
            opt.step()
        quant.eval()
    fresh = cls()
    fresh.load_state_dict(state)
    out = generate_final_model(fresh, cfg, _save(quant), "./")
    return quant, out


def _batches(shape, n, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g) for _ in range(n)]


def test_shared_module_is_quantized_at_every_call(workdir):
    quant, out = _pipeline(SharedHead, "x:1,4,6,6", _batches((8, 4, 6, 6), 4), steps=2)
    model = onnx.load(out["onnx"])
    conv, fc = out["param_dict"]["layers"]
    convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
    assert conv["nodes"] == convs and len(convs) == 2 and conv["node"] == convs[0]
    assert fc["nodes"] == [fc["node"]]
    assert all(n.input[1] == conv["weight"]["tensor"] for n in model.graph.node if n.op_type == "Conv")
    assert "copies" not in conv["weight"]
    act = quant.c.activation_quant.qparams()
    assert (conv["activation"]["scale"], conv["activation"]["zero_point"]) == (act["scale"], act["zero_point"])
    x = _batches((16, 4, 6, 6), 1, seed=7)[0].numpy()
    qdq = _run_deployed(_qdq(model, out["param_dict"]), {"x": x})[0]
    np.testing.assert_allclose(qdq, fake_quant_predict(quant, x), rtol=0, atol=1e-5)


def test_shared_module_with_a_batchnorm_per_call_lists_the_weight_copies(workdir):
    quant, out = _pipeline(SharedPerLevelBN, "x:1,4,6,6", _batches((8, 4, 6, 6), 4))
    model = onnx.load(out["onnx"])
    (conv,) = out["param_dict"]["layers"]
    nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    assert conv["nodes"] == [n.name for n in nodes]
    (copy_,) = conv["weight"]["copies"]                  # each call reads its own folded weight
    assert [conv["weight"]["tensor"], copy_["tensor"]] == [n.input[1] for n in nodes]
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    for entry in (conv["weight"], copy_):                # both copies on their int8 grid
        q = inits[entry["tensor"]] / np.asarray(entry["scale"]).reshape(-1, 1, 1, 1)
        assert np.abs(q - np.round(q)).max() < 1e-3 and np.abs(np.round(q)).max() <= 127
    x = _batches((16, 4, 6, 6), 1, seed=7)[0].numpy()
    qdq = _run_deployed(_qdq(model, out["param_dict"]), {"x": x})[0]
    fq = fake_quant_predict(quant, x)
    # A layer called more than once runs conv -> BatchNorm in float in the fake-quant model (the
    # folded integer arithmetic is followed for layers called once); ONNX Runtime runs each call as a
    # QLinearConv with the exporter's folded weights and an int32 bias: a few values round to the
    # neighbouring step of the output point.
    assert np.mean(np.abs(qdq - fq) <= 1e-5) >= 0.97
    assert np.linalg.norm(qdq - fq) / np.linalg.norm(fq) < 0.01


def test_tied_layers_map_to_their_own_calls_in_execution_order(workdir):
    quant, out = _pipeline(TiedReversed, "x:1,4,6", _batches((8, 4, 6), 4, seed=3))
    model = onnx.load(out["onnx"])
    matmuls = [n.name for n in model.graph.node if n.op_type == "MatMul"]     # b's call first
    layers = {layer["name"]: layer for layer in out["param_dict"]["layers"]}
    assert layers["b/MatMul"]["nodes"] == matmuls[:1] and layers["a/MatMul"]["nodes"] == matmuls[1:]
    for name, module in (("a/MatMul", quant.a), ("b/MatMul", quant.b)):
        assert layers[name]["activation"]["scale"] == module.activation_quant.qparams()["scale"]
    assert layers["a/MatMul"]["activation"]["scale"] > 2 * layers["b/MatMul"]["activation"]["scale"]
    x = _batches((32, 4, 6), 1, seed=9)[0].numpy()
    want = fake_quant_predict(quant, x)
    qdq = _run_deployed(_qdq(model, out["param_dict"]), {"x": x})[0]
    np.testing.assert_allclose(qdq, want, rtol=0, atol=1e-5 * np.abs(want).max())


def test_a_layer_whose_nodes_cannot_be_told_apart_is_refused(workdir):
    class Ambiguous(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):    # the same conv twice: once as the module, once functionally
            return self.c(x) + torch.nn.functional.conv2d(2.0 * x, self.c.weight, self.c.bias, padding=1)

    from quantbridge.errors import ModelError
    with pytest.raises(ModelError, match=r"cannot tell which ONNX nodes belong to layer\(s\) \['c/Conv2D'\]"):
        _pipeline(Ambiguous, "x:1,4,6,6", _batches((8, 4, 6, 6), 2))
    _, out = _pipeline(Ambiguous, "x:1,4,6,6", _batches((8, 4, 6, 6), 2), quantized=[])   # float: no harm
    assert [layer["nodes"] for layer in out["param_dict"]["layers"]] == [["Conv_0"]]


def test_batchnorm_is_not_folded_into_a_conv_whose_weight_is_read_elsewhere(workdir):
    from quantbridge.torch._export import fold_batchnorm

    assert fold_batchnorm(_randomise_bn(FunctionalReuse()).eval()) == {}
    quant, out = _pipeline(FunctionalReuse, "x:1,4,6,6", _batches((8, 4, 6, 6), 4), quantized=["head/Conv2D"])
    feeds = {"x": _batches((16, 4, 6, 6), 1, seed=7)[0].numpy()}
    np.testing.assert_allclose(_run(out["onnx"], feeds)[0], _outputs(quant, feeds, act_quant=False)[0],
                               rtol=1e-4, atol=1e-4)
    qdq = _run_deployed(_qdq(onnx.load(out["onnx"]), out["param_dict"]), feeds)[0]
    np.testing.assert_allclose(qdq, fake_quant_predict(quant, feeds["x"]), rtol=0, atol=1e-5)

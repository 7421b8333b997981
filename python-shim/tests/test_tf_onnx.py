"""The float ONNX of a TensorFlow export (``generate_final_model(..., onnx=True)``, tf2onnx): the
.pb's graph without activation fake quant, runnable in ONNX Runtime, named as the parameter file
names things, deterministic; a graph tf2onnx cannot convert is refused before anything is written."""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from quantbridge.errors import ModelError  # noqa: E402
from conftest import cwd, tf_var  # noqa: E402

INT8 = "Quant_INT8-8"
MULT = 2


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    tf.compat.v1.disable_v2_behavior()


def _build(lgamma=False):
    """x [None,6,6,2] -> conv 3x3 (3) + bias -> relu -> depthwise 3x3 (x2) -> relu -> dense (4) [-> lgamma]."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 2], name="x")
    h = tf.nn.conv2d(x, tf_var("k", [3, 3, 2, 3], 1), 1, "SAME", name="conv")
    h = tf.nn.relu(tf.nn.bias_add(h, tf_var("b", [3], 2)))
    h = tf.nn.relu(tf.nn.depthwise_conv2d(h, tf_var("dk", [3, 3, 3, MULT], 3), [1, 1, 1, 1], "SAME", name="dw"))
    h = tf.reshape(h, [-1, 6 * 6 * 3 * MULT])
    y = tf.matmul(h, tf_var("w", [6 * 6 * 3 * MULT, 4], 4), name="fc")
    if lgamma:
        y = tf.math.lgamma(tf.abs(y) + 1.0)
    return x, tf.identity(y, name="out")


def _export(qtf, cfg, ckpt, work, name, lgamma=False):
    graph = tf.Graph()
    with cwd(work), graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _build(lgamma)
        return qtf.generate_final_model(sess, cfg, ["out"], os.path.basename(ckpt), ".", name=name, onnx=True)


def _all_int8(qtf, sess, build):
    """``build()``'s graph in ``sess`` with every layer INT8, rewritten and initialized; returns
    ``x, out, quant_flag, is_train_flag, config``."""
    x, out = build()
    qf, it = tf.compat.v1.placeholder(tf.int32, []), tf.compat.v1.placeholder(tf.bool, [])
    cfg = qtf.build_config(sess)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = INT8
    qtf.optimize_model(sess, cfg, it, qf)
    sess.run(tf.compat.v1.global_variables_initializer())
    return x, out, qf, it, cfg


@pytest.fixture(scope="module")
def flow(qtf, tmp_path_factory):
    """A calibrated model (depthwise with multiplier 2), exported with its float ONNX."""
    work = tmp_path_factory.mktemp("tfonnx")
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, out, qf, it, cfg = _all_int8(qtf, sess, _build)
        qtf.set_calibrate_state(sess, True)
        for _ in range(3):
            sess.run(out, {x: rng.randn(16, 6, 6, 2).astype(np.float32), qf: 1, it: False})
        qtf.set_calibrate_state(sess, False)
        ckpt = tf.compat.v1.train.Saver().save(sess, str(work / "q.ckpt"))
    result = _export(qtf, cfg, ckpt, work, "m")
    # the .pb without integer kernels: every quantized layer a float op on fake-quantized inputs
    _export(qtf, {**cfg, "quantbridge": {"integer_kernels": False}}, ckpt, work, "plain")
    return {"work": work, "cfg": cfg, "ckpt": ckpt, "result": result, "data": rng.randn(32, 6, 6, 2).astype(np.float32)}


def _load(path):
    import onnx
    return onnx.load(str(path))


def _float_graph_output(flow):
    """The .pb exported without integer kernels, every activation fake quant bypassed, run in TensorFlow."""
    from quantbridge.tf import _onnx
    gd = tf.compat.v1.GraphDef()
    with open(os.path.join(flow["work"], "plain.pb"), "rb") as fh:
        gd.ParseFromString(fh.read())
    rewired = {e["name"]: e["activation"]["tensor"] for e in flow["result"]["param_dict"]["layers"]}
    rewired = {k: (v[:-2] if v.endswith(":0") else v) for k, v in rewired.items()}
    floats = _onnx.float_graph(gd, rewired, ["out"])
    assert not any("act_quant" in node.name for node in floats.node)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(floats, name="")
    with tf.compat.v1.Session(graph=graph) as sess:
        return sess.run("out:0", {"x:0": flow["data"]})


def test_float_onnx_runs_the_float_graph_in_onnx_runtime(flow):
    import onnxruntime as ort
    model = _load(os.path.join(flow["work"], "m.onnx"))
    assert [i.name for i in model.graph.input] == ["x"] and [o.name for o in model.graph.output] == ["out"]
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) == 13
    assert not any(n.op_type in ("QuantizeLinear", "DequantizeLinear", "Round") for n in model.graph.node)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": flow["data"]})[0]
    np.testing.assert_allclose(got, _float_graph_output(flow), rtol=1e-4, atol=1e-4)


def test_the_float_onnx_does_not_depend_on_integer_kernels(flow):
    """The .pb requantizes conv's output to dw's input (an integer kernel), the float ONNX stays the
    float graph: the same bytes as the export without integer kernels."""
    with open(os.path.join(flow["work"], "m.onnx"), "rb") as a, open(os.path.join(flow["work"], "plain.onnx"), "rb") as b:
        assert a.read() == b.read()
    assert [(p["name"], p["owner"]) for p in flow["result"]["param_dict"]["points"]] == [("conv", "dw"), ("dw", "fc")]
    with open(os.path.join(flow["work"], "m.pb"), "rb") as a, open(os.path.join(flow["work"], "plain.pb"), "rb") as b:
        assert a.read() != b.read()


def test_each_weight_keeps_its_const_name_and_its_int8_grid_on_axis_0_or_1(flow):
    """Conv (OIHW), depthwise ([in*mult, 1, h, w]: in-major, mult-minor like the file's scales) and
    MatMul ([in, out]): the file's scales divide the ONNX weight into integers along the output axis."""
    from onnx import numpy_helper
    model = _load(os.path.join(flow["work"], "m.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    readers = {n.input[1]: n.op_type for n in model.graph.node if n.op_type in ("Conv", "MatMul", "Gemm")}
    for layer in flow["result"]["param_dict"]["layers"]:
        name = layer["weight"]["tensor"] + ":0"
        assert name in inits and name in readers, (layer["name"], sorted(inits))
        w = inits[name]
        scale = np.asarray(layer["weight"]["scale"], np.float32)
        axis = 0 if readers[name] == "Conv" else 1
        shape = [1] * w.ndim
        shape[axis] = -1
        q = w / scale.reshape(shape)
        assert np.abs(q - np.rint(q)).max() < 1e-3 and np.abs(np.rint(q)).max() == 127, layer["name"]
    assert inits["dw/quantbridge/weight:0"].shape == (3 * MULT, 1, 3, 3)


def test_the_same_export_gives_the_same_bytes(qtf, flow):
    """tf2onnx's node counter is process-wide; the export restarts it, so a second export is identical."""
    _export(qtf, flow["cfg"], flow["ckpt"], flow["work"], "m2")
    with open(os.path.join(flow["work"], "m.onnx"), "rb") as a, open(os.path.join(flow["work"], "m2.onnx"), "rb") as b:
        assert a.read() == b.read()


def test_an_op_tf2onnx_cannot_convert_is_one_model_error_and_nothing_is_written(qtf, flow):
    before = sorted(os.listdir(flow["work"]))
    with pytest.raises(ModelError, match=r"tf2onnx cannot convert .*op 'Lgamma' \(node 'Lgamma'\)"):
        _export(qtf, flow["cfg"], flow["ckpt"], flow["work"], "bad", lgamma=True)
    assert sorted(os.listdir(flow["work"])) == before


def _dilated_bn():
    """x [None,8,8,1] -> dilated conv 3x3 (4) -> fused BatchNorm -> relu -> dense (3)."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name="x")
    h = tf.nn.conv2d(x, tf_var("k", [3, 3, 1, 4], 1), 1, "SAME", dilations=2, name="conv")
    h, _, _ = tf.compat.v1.nn.fused_batch_norm(h, tf_var("g", [4], 2) + 1.0, tf_var("be", [4], 3),
                                               mean=tf_var("m", [4], 4), variance=tf.abs(tf_var("v", [4], 5)) + 0.5,
                                               is_training=False, name="bn")
    h = tf.reshape(tf.nn.relu(h), [-1, 8 * 8 * 4])
    return x, tf.identity(tf.matmul(h, tf_var("w", [8 * 8 * 4, 3], 6), name="fc"), name="out")


def test_a_batchnorm_after_a_dilated_conv_stays_its_own_node_and_the_weight_keeps_its_name(qtf, tmp_path):
    """TensorFlow builds a dilated conv as SpaceToBatchND -> Conv2D -> BatchToSpaceND, so the
    export's fold leaves the BatchNorm after it in the .pb; tf2onnx used to fold that BatchNorm into
    the Conv weight under a new name, off the int8 grid, and the INT8 ONNX could not find the layer."""
    import onnxruntime as ort
    rng = np.random.RandomState(0)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, out, qf, it, cfg = _all_int8(qtf, sess, _dilated_bn)
        qtf.set_calibrate_state(sess, True)
        data = rng.randn(16, 8, 8, 1).astype(np.float32)
        sess.run(out, {x: data, qf: 1, it: False})
        qtf.set_calibrate_state(sess, False)
        expected = sess.run(out, {x: data, qf: 0, it: False})
        tf.compat.v1.train.Saver().save(sess, str(tmp_path / "q.ckpt"))
    graph = tf.Graph()
    with cwd(tmp_path), graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _dilated_bn()
        result = qtf.generate_final_model(sess, cfg, ["out"], "q.ckpt", ".", name="d", onnx=True)
    model = _load(tmp_path / "d.onnx")
    readers = {n.input[1]: n.op_type for n in model.graph.node if n.op_type in ("Conv", "MatMul", "Gemm")}
    for layer in result["param_dict"]["layers"]:
        assert layer["weight"]["tensor"] + ":0" in readers, (layer["name"], readers)
    assert any(n.op_type == "BatchNormalization" for n in model.graph.node)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": data})[0]
    assert got.shape == expected.shape and np.isfinite(got).all()

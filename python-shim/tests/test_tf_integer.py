"""Integer kernels in the TensorFlow back end (``quantbridge.tf._integer``): which layers requantize
their output, the session's integer arithmetic against ONNX Runtime's own integer kernels
(``QLinearConv``, ``QGemm``) built here from the same numbers, the frozen .pb against the session,
and the paths that must not change (float, training, calibration)."""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
ort = pytest.importorskip("onnxruntime")

from conftest import cwd, tf_var  # noqa: E402

INT8 = "Quant_INT8-8"


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    tf.compat.v1.disable_v2_behavior()


def _build(kind):
    """Small graphs whose first layer feeds a quantized layer through a chain the plan accepts."""
    if kind == "mlp":
        x = tf.compat.v1.placeholder(tf.float32, [None, 12], name="x")
        h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, tf_var("w0", [12, 16], 1), name="fc0"), tf_var("b0", [16], 2)))
        return x, tf.identity(tf.matmul(h, tf_var("w1", [16, 3], 3), name="fc1"), name="out")
    x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 3], name="x")
    if kind == "conv_relu6":          # bias, ReLU6, max-pool between the layers
        h = tf.nn.bias_add(tf.nn.conv2d(x, tf_var("k", [3, 3, 3, 4], 1), 1, "SAME", name="first"), tf_var("b", [4], 2))
        h = tf.nn.max_pool2d(tf.nn.relu6(h), 2, 2, "VALID")
        last = tf.nn.conv2d(h, tf_var("k2", [1, 1, 4, 2], 3), 1, "VALID", name="second")
    elif kind == "bn_chain":          # a folded BatchNorm's output read directly by the next conv, twice
        bn = dict(epsilon=1e-3, beta_initializer=tf.compat.v1.random_normal_initializer(0, 0.5, 7),
                  gamma_initializer=tf.compat.v1.random_uniform_initializer(0.5, 1.5, 8))
        h = tf.nn.conv2d(x, tf_var("k", [3, 3, 3, 4], 1), 1, "SAME", name="first")
        h = tf.compat.v1.layers.batch_normalization(h, training=False, name="bn1", **bn)
        h = tf.nn.conv2d(h, tf_var("k1", [3, 3, 4, 4], 2), 1, "SAME", name="middle")
        h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=False, name="bn2", **bn))
        last = tf.nn.conv2d(h, tf_var("k2", [1, 1, 4, 2], 3), 1, "VALID", name="second")
    elif kind == "depthwise":         # no bias, multiplier 2, straight into the next conv (zero point inside)
        h = tf.nn.depthwise_conv2d(x, tf_var("dk", [3, 3, 3, 2], 1), [1, 1, 1, 1], "SAME", name="first")
        last = tf.nn.conv2d(h, tf_var("k2", [1, 1, 6, 2], 3), 1, "VALID", name="second")
    else:
        raise ValueError(kind)
    return x, tf.identity(last, name="out")


def _int8(qtf, sess, integer_kernels=True):
    cfg = qtf.build_config(sess)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = INT8
    cfg["quantbridge"] = {"integer_kernels": integer_kernels}
    return cfg


class Session:
    """A rewritten, calibrated graph and its numbers."""

    def __init__(self, qtf, kind, integer_kernels=True, seed=0):
        self.graph = tf.Graph()
        self.sess = tf.compat.v1.Session(graph=self.graph)
        rng = np.random.RandomState(seed)
        with self.graph.as_default():
            self.x, self.out = _build(kind)
            self.qf = tf.compat.v1.placeholder(tf.int32, [])
            self.it = tf.compat.v1.placeholder(tf.bool, [])
            self.cfg = _int8(qtf, self.sess, integer_kernels)
            self.summary = qtf.optimize_model(self.sess, self.cfg, self.it, self.qf)
            self.sess.run(tf.compat.v1.global_variables_initializer())
            shape = [32] + self.x.shape.as_list()[1:]
            qtf.set_calibrate_state(self.sess, True)
            for _ in range(3):
                self.run(self.out, rng.randn(*shape).astype(np.float32) * 2)
            qtf.set_calibrate_state(self.sess, False)
            self.params = {e["name"]: e for e in qtf.quant_params(self.sess)}
            self.data = rng.randn(*([64] + shape[1:])).astype(np.float32) * 2.5

    def run(self, fetch, x, qf=1, it=False):
        return self.sess.run(fetch, {self.x: x, self.qf: qf, self.it: it})

    def tensor(self, name):
        return self.graph.get_tensor_by_name(name)

    def value(self, name):
        return self.sess.run(self.graph.get_tensor_by_name(name))


def _ort(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _kernel_model(op, x_shape, w, w_scale, bias, act_in, act_out, group=1, axis=0):
    """One ONNX Runtime integer kernel (``QLinearConv`` or ``QGemm``) on uint8 codes, built from the
    numbers directly: weight codes int8 per channel stored as uint8 with zero point 128 (the default
    ``onnx_weight_type``: u8*u8 kernels, which cannot saturate on a CPU without VNNI), bias int32
    ``round(b / f32(s_x * s_w))``."""
    from onnx import TensorProto, helper, numpy_helper
    s_x, zp_x = act_in
    s_y, zp_y = act_out
    s_w = np.asarray(w_scale, np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    codes = (np.clip(np.rint(w / s_w.reshape(shape)), -127, 127) + 128).astype(np.uint8)
    inits = [numpy_helper.from_array(np.float32(s_x), "sx"), numpy_helper.from_array(np.uint8(zp_x), "zx"),
             numpy_helper.from_array(codes, "w"), numpy_helper.from_array(s_w, "sw"),
             numpy_helper.from_array(np.full(s_w.size, 128, np.uint8), "zw"),
             numpy_helper.from_array(np.float32(s_y), "sy"), numpy_helper.from_array(np.uint8(zp_y), "zy")]
    inputs = ["x", "sx", "zx", "w", "sw", "zw", "sy", "zy"]
    if bias is not None:
        s_acc = (np.float32(s_x) * s_w).astype(np.float32)
        b = np.rint(np.asarray(bias, np.float32).astype(np.float64) / s_acc.astype(np.float64)).astype(np.int32)
        inits.append(numpy_helper.from_array(b, "b"))
    if op == "QLinearConv":
        inputs += ["b"] if bias is not None else []
        kh, kw = w.shape[2:]
        node = helper.make_node("QLinearConv", inputs, ["y"], group=group, pads=[kh // 2, kw // 2] * 2)
        out_shape = [x_shape[0], w.shape[0], x_shape[2], x_shape[3]]
    else:
        inputs = ["x", "sx", "zx", "w", "sw", "zw", "b" if bias is not None else "", "sy", "zy"]
        node = helper.make_node("QGemm", inputs, ["y"], domain="com.microsoft")
        out_shape = [x_shape[0], w.shape[1]]
    graph = helper.make_graph([node], "kernel", [helper.make_tensor_value_info("x", TensorProto.UINT8, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, out_shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])


def _act(entry):
    return entry["activation"]["scale"], entry["activation"]["zero_point"]


@pytest.mark.parametrize("kind", ["conv_relu6", "depthwise", "mlp"])
def test_the_session_computes_what_onnx_runtimes_integer_kernel_computes(qtf, kind):
    """The requantized output of the first layer (before ReLU6 / max-pool) equals, bit for bit, the
    output of ONNX Runtime's ``QLinearConv`` / ``QGemm`` fed the same codes, weights and bias."""
    s = Session(qtf, kind)
    first = "fc0" if kind == "mlp" else "first"
    consumer = "fc1" if kind == "mlp" else "second"
    assert s.summary["requantized"] == [first]
    op = s.graph.get_operation_by_name(first)
    x_in, w = s.run([op.inputs[0], s.graph.get_operation_by_name(first).inputs[1]], s.data)
    got = s.run(s.tensor(f"{first}/quantbridge/integer/output:0"), s.data)
    entry, out_entry = s.params[first], s.params[consumer]
    s_x, zp_x = _act(entry)
    s_y, zp_y = _act(out_entry)
    codes = np.clip(np.rint(s.data / np.float32(s_x)) + zp_x, 0, 255).astype(np.uint8)
    assert np.array_equal((codes.astype(np.float32) - zp_x) * np.float32(s_x), x_in)   # the layer's fake quant
    weight = s.value(f"{'w0' if kind == 'mlp' else ('dk' if kind == 'depthwise' else 'k')}:0")
    scales = entry["weight"]["scale"]
    bias = None if kind == "depthwise" else s.value(f"{'b0' if kind == 'mlp' else 'b'}:0")
    if kind == "mlp":
        model = _kernel_model("QGemm", list(codes.shape), weight, scales, bias, (s_x, zp_x), (s_y, zp_y), axis=1)
        y = _ort(model).run(None, {"x": codes})[0]
    else:
        if kind == "depthwise":        # [h, w, in, mult] -> [in*mult, 1, h, w], in-major like the scales
            onnx_w, group = weight.transpose(2, 3, 0, 1).reshape(-1, 1, *weight.shape[:2]), weight.shape[2]
        else:
            onnx_w, group = weight.transpose(3, 2, 0, 1), 1
        nchw = codes.transpose(0, 3, 1, 2)
        model = _kernel_model("QLinearConv", list(nchw.shape), onnx_w, scales, bias, (s_x, zp_x), (s_y, zp_y), group)
        y = _ort(model).run(None, {"x": nchw})[0].transpose(0, 2, 3, 1)
    expected = (y.astype(np.float32) - np.float32(zp_y)) * np.float32(s_y)
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("kind", ["conv_relu6", "depthwise", "mlp"])
def test_float_training_and_calibration_paths_do_not_change(qtf, kind):
    """quant_flag 0, training (is_train_flag) and calibration run exactly what they ran without
    integer kernels; quantized inference differs from the float conv by at most one output step."""
    on, off = Session(qtf, kind), Session(qtf, kind, integer_kernels=False)
    weights = {v.op.name: v for v in off.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
    with off.graph.as_default():
        for v in on.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
            weights[v.op.name].load(on.sess.run(v), off.sess)
    for qf, it in ((0, False), (0, True), (1, True)):
        assert np.array_equal(on.run(on.out, on.data, qf, it), off.run(off.out, on.data, qf, it)), (qf, it)
    consumer = "fc1" if kind == "mlp" else "second"
    fetch = lambda s: s.graph.get_operation_by_name(consumer).inputs[0]   # noqa: E731 - the consumer's input
    a, b = on.run(fetch(on), on.data), off.run(fetch(off), on.data)
    step = on.params[consumer]["activation"]["scale"]
    assert np.abs(a - b).max() <= step * 1.001
    qtf.set_calibrate_state(on.sess, True)
    qtf.set_calibrate_state(off.sess, True)
    assert np.array_equal(on.run(on.out, on.data), off.run(off.out, on.data))      # calibrating: float conv


@pytest.mark.parametrize("kind", ["conv_relu6", "bn_chain", "depthwise", "mlp"])
def test_the_frozen_pb_is_the_session_bit_for_bit(qtf, tmp_path, kind):
    s = Session(qtf, kind)
    expected = s.run(s.out, s.data)
    ckpt = tf.compat.v1.train.Saver(var_list=s.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)).save(
        s.sess, str(tmp_path / "q.ckpt"))
    graph = tf.Graph()
    with cwd(tmp_path), graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _build(kind)
        result = qtf.generate_final_model(sess, s.cfg, ["out"], os.path.basename(ckpt), ".", name="m")
    pairs = {"bn_chain": [("first", "middle"), ("middle", "second")], "mlp": [("fc0", "fc1")]}.get(kind, [("first", "second")])
    assert s.summary["requantized"] == [a for a, _ in pairs]
    assert [(p["name"], p["owner"], p["scale"], p["zero_point"]) for p in result["param_dict"]["points"]] == \
        [(a, b, s.params[b]["activation"]["scale"], s.params[b]["activation"]["zero_point"]) for a, b in pairs]
    pb = str(tmp_path / "m.pb")
    assert np.array_equal(qtf.run_frozen(pb, {"x": s.data}, ["out"])[0], expected)
    gd = tf.compat.v1.GraphDef()
    with open(pb, "rb") as fh:
        gd.ParseFromString(fh.read())
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:          # Grappler on, as deployed
        tf.compat.v1.import_graph_def(gd, name="")
        assert np.array_equal(sess.run("out:0", {"x:0": s.data}), expected)


def test_plan_takes_only_chains_that_one_quantized_reader_reads():
    """Two readers, a residual Add, a float reader, an op outside the chain, integer kernels off:
    the layer's output stays float (no group)."""
    from quantbridge.tf import _fold, _integer
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 3], name="x")
        a = tf.nn.relu(tf.nn.conv2d(x, tf_var("ka", [1, 1, 3, 3], 1), 1, "SAME", name="a"))
        b1 = tf.nn.conv2d(a, tf_var("kb1", [1, 1, 3, 3], 2), 1, "SAME", name="b1")   # a: two readers
        b2 = tf.nn.conv2d(a, tf_var("kb2", [1, 1, 3, 3], 3), 1, "SAME", name="b2")
        c = tf.nn.conv2d(b1 + b2, tf_var("kc", [1, 1, 3, 3], 4), 1, "SAME", name="c")   # b1, b2: an Add
        d = tf.nn.conv2d(tf.nn.relu(c), tf_var("kd", [1, 1, 3, 3], 5), 1, "SAME", name="d")   # c -> d: a group
        e = tf.nn.conv2d(tf.nn.sigmoid(d), tf_var("ke", [1, 1, 3, 3], 6), 1, "SAME", name="e")   # sigmoid
        f = tf.nn.conv2d(tf.nn.relu(e), tf_var("kf", [1, 1, 3, 3], 7), 1, "SAME", name="f")     # f: float
        tf.identity(f, name="out")
    gd = graph.as_graph_def()
    strategies = {name: INT8 for name in "a b1 b2 c d e".split()}
    strategies["f"] = "float"
    plan = _integer.plan(gd, strategies, _fold.plan(gd, list(strategies)))
    assert {name: g.consumer for name, g in plan.items()} == {"c": "d"}
    assert plan["c"].chain == ("Relu_1",) and plan["c"].bias is None and plan["c"].end == "c"
    assert _integer.plan(gd, strategies, {}, enabled=False) == {}

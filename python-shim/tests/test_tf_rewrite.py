"""The graph rewrite on small graphs: numerics against the numpy reference, range updates
(calibration, EMA), straight-through gradients, resource variables, config templates."""

import json
import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from quantbridge.common import qparams  # noqa: E402
from quantbridge.errors import ModelError  # noqa: E402

INT8 = "Quant_INT8-8"


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    tf.compat.v1.disable_v2_behavior()


def _build(use_resource=False, conv=True):
    """input [None,6,6,2] -> conv 3x3 (4) + bias -> relu -> flatten -> dense (3): ``out``."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 2], name="x")
    init = tf.compat.v1.random_normal_initializer(stddev=0.5, seed=1)
    with tf.compat.v1.variable_scope("net", use_resource=use_resource):
        h = x
        if conv:
            k = tf.compat.v1.get_variable("k", [3, 3, 2, 4], initializer=init)
            b = tf.compat.v1.get_variable("b", [4], initializer=init)
            h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(h, k, 1, "SAME", name="conv"), b))
        h = tf.reshape(h, [-1, 6 * 6 * (4 if conv else 2)])
        w = tf.compat.v1.get_variable("w", [h.shape[1], 3], initializer=init)
        out = tf.identity(tf.matmul(h, w, name="fc"), name="out")
    return x, out


def _config(qtf, sess, strategies=None, method=None):
    cfg = qtf.build_config(sess)
    for name, entry in cfg["layer_strategy"].items():
        entry["quant_strategy"] = (strategies or {}).get(name, INT8)
    if method:
        cfg["quantbridge"] = {"calibration": {"method": method}}
    return cfg


def _data(seed, n=8):
    return np.random.RandomState(seed).randn(n, 6, 6, 2).astype(np.float32) * (1.0 + seed)


class Rig:
    """A rewritten small graph with an initialised session."""

    def __init__(self, qtf, use_resource=False, method=None, strategies=None, conv=True):
        self.graph = tf.Graph()
        self.sess = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            self.x, self.out = _build(use_resource, conv)
            self.qf = tf.compat.v1.placeholder(tf.int32, name="quant_flag")
            self.it = tf.compat.v1.placeholder(tf.bool, name="is_train")
            self.cfg = _config(qtf, self.sess, strategies, method)
            qtf.optimize_model(self.sess, self.cfg, self.it, self.qf)
            self.sess.run(tf.compat.v1.global_variables_initializer())   # no float ckpt here
            self.float_vars = self.sess.run({v.op.name: v for v in tf.compat.v1.global_variables()
                                             if "quantbridge" not in v.op.name})

    def run(self, fetch, x, qf=1, it=False):
        return self.sess.run(fetch, {self.x: x, self.qf: qf, self.it: it})

    def layer(self, name):
        return self.graph.get_operation_by_name(name)

    def ranges(self, name):
        found = {v.op.name: v for v in self.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
        return self.sess.run([found[f"{name}/quantbridge/{v}"] for v in ("act_min", "act_max", "initialized")])


@pytest.fixture(params=[False, True], ids=["refvars", "resource"])
def rig(qtf, request):
    r = Rig(qtf, use_resource=request.param)
    yield r
    r.sess.close()


def test_float_path_is_bit_identical(qtf, tmp_path):
    data = _data(0)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, out = _build()
        sess.run(tf.compat.v1.global_variables_initializer())
        before = sess.run(out, {x: data})
        ckpt = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "float.ckpt"))
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, out = _build()
        qf, it = tf.compat.v1.placeholder(tf.int32), tf.compat.v1.placeholder(tf.bool)
        qtf.optimize_model(sess, _config(qtf, sess), it, qf)
        qtf.float_saver(sess).restore(sess, ckpt)
        for training in (False, True):
            assert np.array_equal(sess.run(out, {x: data, qf: 0, it: training}), before)
        assert not np.array_equal(sess.run(out, {x: data, qf: 1, it: False}), before)


def test_session_that_already_ran_is_refused(qtf):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _build()
        sess.run(tf.compat.v1.global_variables_initializer())   # the session now holds the old graph
        qf, it = tf.compat.v1.placeholder(tf.int32), tf.compat.v1.placeholder(tf.bool)
        with pytest.raises(ModelError, match="already ran the graph"):
            qtf.optimize_model(sess, _config(qtf, sess), it, qf)


def test_calibration_running_min_max_and_numpy_fake_quant(rig):
    batches = [_data(s) for s in range(3)]
    import quantbridge.tf as qtf
    qtf.set_calibrate_state(rig.sess, True)
    for b in batches:
        rig.run(rig.out, b, qf=1, it=True)          # calibration ignores is_train_flag
    ranges = qtf.set_calibrate_state(rig.sess, False)
    lo, hi, init = rig.ranges("net/conv")
    assert init and lo == min(b.min() for b in batches) and hi == max(b.max() for b in batches)
    assert ranges["net/conv"] == [float(lo), float(hi)]
    # The rewired inputs equal the numpy reference bit for bit.
    conv, fc = rig.layer("net/conv"), rig.layer("net/fc")
    data = _data(7)
    x_q, w_q, k_q = rig.run([conv.inputs[0], fc.inputs[1], conv.inputs[1]], data)
    scale, zp = qparams.activation_qparams(lo, hi)
    assert np.array_equal(x_q, qparams.fake_quant(data, scale, zp, 0, 255))
    w = rig.float_vars["net/w"]
    w_scale = qparams.weight_qparams(np.abs(w).max(axis=0))
    assert np.array_equal(w_q, qparams.fake_quant(w, w_scale, np.zeros(3), -127, 127, axis=1))
    k = rig.float_vars["net/k"]
    k_scale = qparams.weight_qparams(np.abs(k).max(axis=(0, 1, 2)))
    assert np.array_equal(k_q, qparams.fake_quant(k, k_scale, np.zeros(4), -127, 127, axis=3))
    # Ranges are fixed when is_train_flag is False, and with quant_flag 0.
    rig.run(rig.out, data * 10, qf=1, it=False)
    rig.run(rig.out, data * 10, qf=0, it=True)
    assert rig.ranges("net/conv")[:2] == [lo, hi]


def test_ema_during_training_and_first_batch_initialises(qtf):
    rig = Rig(qtf)
    a, b = _data(1), _data(2)
    rig.run(rig.out, a, qf=1, it=True)                 # not initialised: the first batch sets the range
    lo, hi, init = rig.ranges("net/conv")
    assert init and lo == a.min() and hi == a.max()
    rig.run(rig.out, b, qf=1, it=True)
    lo2, hi2, _ = rig.ranges("net/conv")
    d = np.float32(qtf.EMA_DECAY)
    assert np.isclose(lo2, lo * d + b.min() * (1 - d), rtol=1e-6)
    assert np.isclose(hi2, hi * d + b.max() * (1 - d), rtol=1e-6)
    rig.run(rig.out, b * 5, qf=1, it=False)
    rig.run(rig.out, b * 5, qf=0, it=True)
    assert rig.ranges("net/conv")[:2] == [lo2, hi2]
    rig.sess.close()


def test_uncalibrated_inference_takes_the_range_of_the_first_batch(qtf):
    """quant_flag=1 before any calibration or training (inference mode): like the PyTorch
    quantizers, a range never set is taken from the batch in that same step, not [0, 0]."""
    rig = Rig(qtf)
    conv = rig.layer("net/conv")
    a, b = _data(1), _data(2)
    rig.run(rig.out, a, qf=0, it=False)                 # the float path sets nothing
    assert rig.ranges("net/conv") == [0.0, 0.0, False]
    fc_in = rig.layer("net/fc").inputs[0]
    x_q, fc_q = rig.run([conv.inputs[0], fc_in], a, qf=1, it=False)
    lo, hi, init = rig.ranges("net/conv")
    assert init and lo == a.min() and hi == a.max()
    fc_range = rig.ranges("net/fc")
    assert fc_range[2]
    assert np.array_equal(x_q, qparams.fake_quant(a, *qparams.activation_qparams(lo, hi), 0, 255))
    # same ranges in the first step; conv's output is requantized to fc's input (an integer kernel)
    # once fc's range is set, so the first step, which sets it from this batch, ran conv in float:
    # fc's quantized input is the same up to one step of its grid
    again = rig.run(fc_in, a, qf=1, it=False)
    assert rig.ranges("net/fc") == fc_range
    step = qparams.activation_qparams(fc_range[0], fc_range[1])[0]
    assert np.abs(again - fc_q).max() <= step * 1.001 and np.mean(again == fc_q) > 0.99
    rig.run(rig.out, b * 5, qf=1, it=False)             # set: inference leaves it alone again
    assert rig.ranges("net/conv") == [lo, hi, True]
    entry = {e["name"]: e for e in qtf.quant_params(rig.sess)}["net/conv"]
    assert entry["activation"]["calibrated"] is True and "calibrated" not in entry
    qtf.set_calibrate_state(rig.sess, True)             # calibration still starts from scratch
    rig.run(rig.out, b, qf=1, it=False)
    qtf.set_calibrate_state(rig.sess, False)
    assert rig.ranges("net/conv") == [b.min(), b.max(), True]
    rig.sess.close()


@pytest.mark.parametrize("method", ["percentile", "mse"])
def test_histogram_methods_match_the_numpy_observer(qtf, method):
    rig = Rig(qtf, method=method)
    batches = [_data(s, n=16) for s in range(3)]
    qtf.set_calibrate_state(rig.sess, True)
    fc_inputs = [rig.run([rig.graph.get_operation_by_name("net/Reshape").outputs[0], rig.out], b)[0]
                 for b in batches]
    ranges = qtf.set_calibrate_state(rig.sess, False)
    for name, values in (("net/conv", batches), ("net/fc", fc_inputs)):
        observer = qparams.HistogramObserver(2048)
        for v in values:
            observer.update(v)
        expected = qparams.choose_range(method, min(v.min() for v in values), max(v.max() for v in values),
                                        observer, 99.99)
        assert np.allclose(ranges[name], expected, rtol=1e-6, atol=1e-7), name
        assert ranges[name][1] <= max(v.max() for v in values) + 1e-6
        lo, hi, _ = rig.ranges(name)
        assert np.allclose([lo, hi], expected, rtol=1e-6, atol=1e-7)
    rig.sess.close()


def test_straight_through_gradients(qtf):
    rig = Rig(qtf)
    conv = rig.layer("net/conv")
    with rig.graph.as_default():
        gx = tf.gradients(tf.reduce_sum(conv.inputs[0]), rig.x)[0]
        w = [v for v in tf.compat.v1.global_variables() if v.op.name == "net/k"][0]
        gw = tf.gradients(tf.reduce_sum(conv.inputs[1]), w)[0]
    qtf.set_calibrate_state(rig.sess, True)
    rig.run(rig.out, _data(0))
    qtf.set_calibrate_state(rig.sess, False)
    lo, hi, _ = rig.ranges("net/conv")
    data = _data(0) * 3                                 # some values outside the calibrated range
    grad_x, grad_w = rig.run([gx, gw], data)
    scale, zp = qparams.activation_qparams(lo, hi)
    inside = (data >= (0 - zp) * scale) & (data <= (255 - zp) * scale)
    assert 0 < inside.mean() < 1
    assert np.array_equal(grad_x, inside.astype(np.float32))
    assert np.array_equal(grad_w, np.ones_like(grad_w))
    assert np.array_equal(rig.run(gx, data, qf=0), np.ones_like(data))
    rig.sess.close()


def test_mixed_config_leaves_float_layers_alone(qtf):
    rig = Rig(qtf, strategies={"net/conv": "float"})
    conv, fc = rig.layer("net/conv"), rig.layer("net/fc")
    assert "quantbridge" not in conv.inputs[0].name and "quantbridge" not in conv.inputs[1].name
    assert fc.inputs[0].name.startswith("net/fc/quantbridge/")
    assert fc.inputs[0].shape.as_list() == [None, 144] and fc.inputs[1].shape.as_list() == [144, 3]
    assert rig.out.shape.as_list() == [None, 3]                   # static shapes survive the rewrite
    names = {v.op.name for v in rig.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)}
    assert "net/fc/quantbridge/act_min" in names and "net/conv/quantbridge/act_min" not in names
    rig.sess.close()


def test_resource_variables_export_round_trip(qtf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rig = Rig(qtf, use_resource=True)
    qtf.set_calibrate_state(rig.sess, True)
    for s in range(2):
        rig.run(rig.out, _data(s))
    qtf.set_calibrate_state(rig.sess, False)
    data = _data(5)
    expected = rig.run(rig.out, data)
    with rig.graph.as_default():
        ckpt = tf.compat.v1.train.Saver().save(rig.sess, str(tmp_path / "q.ckpt"))
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _build(use_resource=True)
        result = qtf.generate_final_model(sess, rig.cfg, ["net/out"], ckpt, ".", name="small")
    got = qtf.run_frozen(result["pb"], {"x": data}, ["net/out:0"])[0]
    assert np.array_equal(got, expected)            # no BatchNorm to fold: bit-exact
    gd = tf.compat.v1.GraphDef()
    gd.ParseFromString(open(result["pb"], "rb").read())
    assert not {"VarHandleOp", "ReadVariableOp", "AssignVariableOp"} & {n.op for n in gd.node}
    rig.sess.close()


def test_config_template_and_layer_listing(qtf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _, out = _build(conv=False)
        tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(out))  # gradient MatMuls
        cfg = qtf.generate_config_file(sess)
        assert qtf.list_layers(sess) == [["net/fc", "MatMul"]] == qtf.list_layers(graph)
    with open("config_gen.json", encoding="utf-8") as fh:
        assert json.load(fh) == cfg
    assert cfg == {"quant_strategy_for op 'MatMul'": [INT8],
                   "layer_strategy": {"net/fc": {"op_type": "MatMul", "quant_strategy": "float"}}}


def test_gradients_built_before_rewrite_warn(qtf):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _, out = _build(conv=False)
        tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(out))
        qf, it = tf.compat.v1.placeholder(tf.int32), tf.compat.v1.placeholder(tf.bool)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            qtf.optimize_model(sess, _config(qtf, sess), it, qf)
        assert any("gradients were built before optimize_model" in str(w.message) for w in caught)


def test_state_errors(qtf):
    rig = Rig(qtf)
    with pytest.raises(ModelError, match="already applied"):
        qtf.optimize_model(rig.sess, rig.cfg, rig.it, rig.qf)
    qtf.set_calibrate_state(rig.sess, True)
    rig.run(rig.out, _data(0), qf=0)                    # float passes collect nothing
    with pytest.raises(ModelError, match="calibration collected no range"):
        qtf.set_calibrate_state(rig.sess, False)
    rig.sess.close()
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _build()
        with pytest.raises(ModelError, match="not rewritten"):
            qtf.set_calibrate_state(sess, True)
        with pytest.raises(ModelError, match="not rewritten"):
            qtf.float_saver(sess)

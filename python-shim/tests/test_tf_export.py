"""The exported .pb and parameter file on small graphs: exact under a default Session, frozen in
inference mode whatever the training flag's default, depthwise channel axes, activation ranges."""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from quantbridge.common import paramfile, qparams  # noqa: E402
from conftest import cwd, tf_var  # noqa: E402

INT8 = "Quant_INT8-8"
MULT = 2


@pytest.fixture(scope="module", autouse=True)
def graph_mode():
    tf.compat.v1.disable_v2_behavior()


def _build_dw():
    """x [None,6,6,2] -> conv 3x3 (3) + bias -> relu -> depthwise 3x3 (x2) -> relu -> dense (4)."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 2], name="x")
    h = tf.nn.conv2d(x, tf_var("k", [3, 3, 2, 3], 1), 1, "SAME", name="conv")
    h = tf.nn.relu(tf.nn.bias_add(h, tf_var("b", [3], 2)))
    h = tf.nn.relu(tf.nn.depthwise_conv2d(h, tf_var("dk", [3, 3, 3, MULT], 3), [1, 1, 1, 1], "SAME", name="dw"))
    h = tf.reshape(h, [-1, 6 * 6 * 3 * MULT])
    return x, tf.identity(tf.matmul(h, tf_var("w", [6 * 6 * 3 * MULT, 4], 4), name="fc"), name="out")


def _export(qtf, build, cfg, outputs, ckpt, work, name):
    """``generate_final_model`` into ``work`` (via cwd: pytest's tmp path breaks the path rule)."""
    graph = tf.Graph()
    with cwd(work), graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        build()
        result = qtf.generate_final_model(sess, cfg, outputs, os.path.basename(ckpt), ".", name=name)
    result["pb"], result["params"] = (os.path.join(str(work), os.path.basename(result[k])) for k in ("pb", "params"))
    return result


def _int8_config(qtf, sess):
    cfg = qtf.build_config(sess)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = INT8
    return cfg


def _read_pb(path):
    gd = tf.compat.v1.GraphDef()
    with open(path, "rb") as fh:
        gd.ParseFromString(fh.read())
    return gd


def _rounding_traps(scale, zero_point, count=64):
    """Inputs inside the range where ``x / scale`` and ``x * (1 / scale)`` (what Grappler makes of
    a division by a constant) round to different integers, in float32."""
    scale = np.float32(scale)
    inverse = np.float32(1) / scale
    found = []
    for k in range(-zero_point, 255 - zero_point):
        x = np.float32((k + 0.5) * np.float64(scale))
        for _ in range(8):
            for cand in (x, np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf))):
                if np.rint(cand / scale) != np.rint(cand * inverse):
                    found.append(cand)
            x = np.nextafter(x, np.float32(np.inf))
        if len(found) >= count:
            break
    return np.asarray(found, np.float32)


@pytest.fixture(scope="module")
def dw_flow(qtf, tmp_path_factory):
    """Calibrated depthwise model (mult 2), its export and the quantized session's outputs."""
    work = tmp_path_factory.mktemp("tfexport")
    rng = np.random.RandomState(0)
    calib = [rng.randn(16, 6, 6, 2).astype(np.float32) for _ in range(3)]
    out = {"calib": calib}
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, logits = _build_dw()
        qf, it = tf.compat.v1.placeholder(tf.int32, []), tf.compat.v1.placeholder(tf.bool, [])
        out["config"] = cfg = _int8_config(qtf, sess)
        qtf.optimize_model(sess, cfg, it, qf)
        sess.run(tf.compat.v1.global_variables_initializer())
        qtf.set_calibrate_state(sess, True)
        for batch in calib:
            sess.run(logits, {x: batch, qf: 1, it: False})
        qtf.set_calibrate_state(sess, False)
        out["params"] = qtf.quant_params(sess)
        act = {e["name"]: e["activation"] for e in out["params"]}["conv"]
        traps = _rounding_traps(act["scale"], act["zero_point"])
        data = rng.randn(64, 6, 6, 2).astype(np.float32)
        flat = data.reshape(-1)
        flat[:traps.size] = traps
        out["data"], out["traps"] = data, traps
        out["session"] = sess.run({"act": graph.get_tensor_by_name("conv/quantbridge/input:0"), "out": logits},
                                  {x: data, qf: 1, it: False})
        out["dk"] = sess.run(graph.get_tensor_by_name("dk:0"))
        ckpt = tf.compat.v1.train.Saver().save(sess, str(work / "q.ckpt"))
    out["export"] = _export(qtf, _build_dw, cfg, ["out"], ckpt, work, "dw")
    return out


def test_pb_is_exact_under_a_default_session(dw_flow):
    """A plain tf.compat.v1.Session (Grappler on, as when deploying the .pb) reproduces the
    quantized session bit for bit, also on inputs where a multiplication by 1 / scale rounds
    differently from the division."""
    data = dw_flow["data"]
    assert dw_flow["traps"].size >= 16
    gd = _read_pb(dw_flow["export"]["pb"])
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(gd, name="")
    with tf.compat.v1.Session(graph=graph) as sess:       # no ConfigProto: the default rewrites
        # conv's output is requantized to dw's input (an integer kernel): it reads its input's codes
        codes, out = sess.run(["conv/quantbridge/act_quant/sub:0", "out:0"], {"x:0": data})
    entry = {e["name"]: e for e in dw_flow["export"]["param_dict"]["layers"]}["conv"]["activation"]
    reference = qparams.fake_quant(data, entry["scale"], entry["zero_point"], 0, 255)
    act = (codes * np.float32(entry["scale"])).astype(np.float32)
    assert np.array_equal(act, reference)
    assert np.array_equal(act, dw_flow["session"]["act"])
    assert np.array_equal(out, dw_flow["session"]["out"])
    assert "RealDiv" not in {node.op for node in gd.node}


def test_depthwise_with_multiplier_names_both_channel_axes(dw_flow):
    filed = {e["name"]: e for e in dw_flow["export"]["param_dict"]["layers"]}
    live = {e["name"]: e for e in dw_flow["params"]}
    gd = _read_pb(dw_flow["export"]["pb"])
    from quantbridge.tf._graphdef import const_value
    by_name = {node.name: node for node in gd.node}
    for entries in (filed, live):
        weight = entries["dw"]["weight"]
        assert weight["channel_axes"] == [2, 3] and "axis" not in weight
        assert len(weight["scale"]) == len(weight["zero_point"]) == 3 * MULT
        assert entries["conv"]["weight"]["axis"] == 3 and "channel_axes" not in entries["conv"]["weight"]
    # in-major, mult-minor: the scales reshaped to [in, mult] broadcast against [h, w, in, mult]
    expected = qparams.weight_qparams(np.abs(dw_flow["dk"]).max(axis=(0, 1))).reshape(-1)
    assert np.array_equal(np.asarray(live["dw"]["weight"]["scale"], np.float32), expected)
    assert filed["dw"]["weight"]["scale"] == live["dw"]["weight"]["scale"]    # no BatchNorm folded
    w = const_value(by_name, filed["dw"]["weight"]["tensor"])
    assert w.shape == (3, 3, 3, MULT)
    q = w / np.asarray(filed["dw"]["weight"]["scale"], np.float32).reshape(3, MULT)
    assert np.abs(q - np.rint(q)).max() < 1e-3 and np.abs(np.rint(q)).max() == 127


def test_export_pb_writes_only_the_pb_and_returns_the_numbers(qtf, dw_flow, tmp_path):
    """What Java calls: the .pb as generate_final_model writes it, the parameter entries returned,
    no parameter file (Java writes that one)."""
    ckpt = os.path.join(os.path.dirname(dw_flow["export"]["pb"]), "q.ckpt")
    graph = tf.Graph()
    with cwd(tmp_path), graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        _build_dw()
        result = qtf.export_pb(sess, dw_flow["config"], ["out"], ckpt, ".", name="dw")
    assert sorted(os.listdir(tmp_path)) == ["dw.pb"]
    filed = dw_flow["export"]["param_dict"]
    assert result["layers"] == filed["layers"]
    assert result["outputs"] == filed["model"]["outputs"] == ["out"]
    assert result["input_shape"] == filed["model"]["input_shape"]
    with open(tmp_path / "dw.pb", "rb") as fh, open(dw_flow["export"]["pb"], "rb") as ref:
        assert fh.read() == ref.read()


def test_depthwise_multiplier_one_keeps_axis_2():
    from quantbridge.tf import _params
    entry = _params.weight_entry("w", "DepthwiseConv2dNative", (3, 3, 4, 1), 2, [1.0] * 4)
    assert entry["axis"] == 2 and "channel_axes" not in entry


def test_activation_min_max_are_the_range_of_scale_and_zero_point(dw_flow):
    """As in the PyTorch back end: ((0 - zp) * s, (255 - zp) * s), in quant_params and the file;
    ``calibrated`` sits under ``activation``."""
    filed = paramfile.read(dw_flow["export"]["params"])
    for entries in (filed["layers"], dw_flow["params"]):
        for entry in entries:
            act = entry["activation"]
            assert act["min"] == (0 - act["zero_point"]) * act["scale"]
            assert act["max"] == (255 - act["zero_point"]) * act["scale"]
            edges = np.asarray([act["min"], act["max"]], np.float32)
            assert np.array_equal(qparams.fake_quant(edges, act["scale"], act["zero_point"], 0, 255), edges)
    for entry in dw_flow["params"]:
        assert entry["activation"]["calibrated"] is True and "calibrated" not in entry
    conv = {e["name"]: e["activation"] for e in filed["layers"]}["conv"]
    lo = min(b.min() for b in dw_flow["calib"])
    assert conv["min"] != lo and abs(conv["min"] - lo) <= conv["scale"]


# ---- training flags at export ----------------------------------------------------------------

def _build_flagged():
    """A builder whose ``is_training`` defaults to True: conv + BatchNorm + dropout driven by it,
    a dense layer and a bool mask input [None, 4] (a model input, not a flag)."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 2], name="x")
    mask = tf.compat.v1.placeholder(tf.bool, [None, 4], name="mask")
    is_training = tf.compat.v1.placeholder_with_default(True, [], name="is_training")
    init = tf.compat.v1.glorot_uniform_initializer(seed=1)
    h = tf.compat.v1.layers.conv2d(x, 4, 3, padding="same", use_bias=False, kernel_initializer=init, name="conv")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=is_training, name="bn"))
    h = tf.compat.v1.layers.dropout(h, 0.5, training=is_training, seed=1)
    h = tf.reshape(h, [-1, 6 * 6 * 4])
    h = tf.compat.v1.layers.dense(h, 4, kernel_initializer=init, name="fc")
    return x, mask, is_training, tf.identity(tf.where(mask, h, tf.zeros_like(h)), name="out")


def test_training_flag_defaulting_to_true_is_exported_as_inference(qtf, tmp_path):
    rng = np.random.RandomState(0)
    calib = [(rng.randn(16, 6, 6, 2) * 2 + 3).astype(np.float32) for _ in range(2)]
    data = (rng.randn(8, 6, 6, 2) * 2 + 3).astype(np.float32)
    ones = np.ones((8, 4), bool)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, mask, is_training, out = _build_flagged()
        sess.run(tf.compat.v1.global_variables_initializer())
        for batch in calib:                          # moving statistics away from their initial 0 / 1
            sess.run(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS), {x: batch})
        float_ckpt = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "float.ckpt"))
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, mask, is_training, out = _build_flagged()
        qf, it = tf.compat.v1.placeholder(tf.int32, []), tf.compat.v1.placeholder(tf.bool, [])
        cfg = _int8_config(qtf, sess)
        qtf.optimize_model(sess, cfg, it, qf)
        qtf.float_saver(sess).restore(sess, float_ckpt)
        inference = {is_training: False, qf: 1, it: False}
        qtf.set_calibrate_state(sess, True)
        for batch in calib:
            sess.run(out, {x: batch, mask: np.ones((16, 4), bool), **inference})
        qtf.set_calibrate_state(sess, False)
        expected = sess.run(out, {x: data, mask: ones, **inference})
        training = sess.run(out, {x: data, mask: ones, qf: 1, it: False})      # the default: True
        assert np.abs(expected - training).max() > 0.1
        ckpt = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "q.ckpt"))
    result = _export(qtf, _build_flagged, cfg, ["out"], ckpt, tmp_path, "flagged")
    gd = _read_pb(result["pb"])
    ops = {node.op for node in gd.node}
    assert not {"FusedBatchNorm", "FusedBatchNormV3", "RandomUniform", "Switch", "Merge"} & ops   # BN folded
    assert sorted(node.name for node in gd.node if node.op.startswith("Placeholder")) == ["mask", "x"]
    got = qtf.run_frozen(result["pb"], {"x": data, "mask": ones}, ["out"])[0]
    assert np.abs(got - expected).max() < 0.05 and np.array_equal(got.argmax(1), expected.argmax(1))
    half = np.tile([True, False], (8, 2))
    masked = qtf.run_frozen(result["pb"], {"x": data, "mask": half}, ["out"])[0]
    assert np.array_equal(masked, np.where(half, got, 0))
    assert result["frozen_flags"] == ["is_training"]


def test_freeze_flags_unit():
    from quantbridge.tf import _graphdef as gdu
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.placeholder_with_default(True, [], name="t")
        tf.compat.v1.placeholder(tf.bool, name="unknown")
        tf.compat.v1.placeholder(tf.bool, [None, 3], name="m")
        tf.compat.v1.placeholder_with_default(np.ones([2], bool), [2], name="md")
    frozen, flags = gdu.freeze(graph.as_graph_def(), {})
    assert sorted(flags) == ["t", "unknown"]
    by_name = {node.name: node for node in frozen.node}
    for name in ("t", "unknown"):
        assert by_name[name].op == "Const" and not tf.make_ndarray(by_name[name].attr["value"].tensor)
    assert by_name["m"].op == "Placeholder" and by_name["md"].op == "PlaceholderWithDefault"


def _build_bn():
    """Three BatchNorms to fold: after conv + bias (no cond: ``training=False``), after a
    depthwise conv (x2) and after a bias-free pointwise conv (both in the cond of an
    ``is_training`` flag defaulting to False); ``tf.compat.v1.layers`` (reference variables)."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 6, 6, 2], name="x")
    is_training = tf.compat.v1.placeholder_with_default(False, [], name="is_training")
    bn = dict(epsilon=1.001e-5, momentum=0.9)
    h = tf.nn.bias_add(tf.nn.conv2d(x, tf_var("k", [3, 3, 2, 4], 1), 1, "SAME", name="conv"), tf_var("b", [4], 2))
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=False, name="bn1", **bn))
    h = tf.nn.depthwise_conv2d(h, tf_var("dk", [3, 3, 4, MULT], 3), [1, 1, 1, 1], "SAME", name="dw")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=is_training, name="bn2", **bn))
    h = tf.nn.conv2d(h, tf_var("pk", [1, 1, 4 * MULT, 4], 4), 1, "SAME", name="pw")
    h = tf.nn.relu(tf.compat.v1.layers.batch_normalization(h, training=is_training, name="bn3", **bn))
    h = tf.reshape(h, [-1, 6 * 6 * 4])
    return x, is_training, tf.identity(tf.matmul(h, tf_var("w", [6 * 6 * 4, 4], 5), name="fc"), name="out")


def test_folded_batch_norms_are_bit_exact_with_the_session(qtf, tmp_path):
    """The session folds what the export folds, the same way: negative and zero gammas, tiny
    variances, a depthwise multiplier, a BatchNorm without cond and one after a float layer."""
    rng = np.random.RandomState(3)
    calib = [rng.randn(16, 6, 6, 2).astype(np.float32) for _ in range(2)]
    data = rng.randn(64, 6, 6, 2).astype(np.float32)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        x, is_training, out = _build_bn()
        qf, it = tf.compat.v1.placeholder(tf.int32, []), tf.compat.v1.placeholder(tf.bool, [])
        cfg = _int8_config(qtf, sess)
        cfg["layer_strategy"]["pw"]["quant_strategy"] = "float"
        summary = qtf.optimize_model(sess, cfg, it, qf)
        sess.run(tf.compat.v1.global_variables_initializer())
        variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
        for name, width in (("bn1", 4), ("bn2", 4 * MULT), ("bn3", 4)):
            gamma = rng.uniform(0.2, 2.0, width).astype(np.float32) * rng.choice([-1, 1], width)
            gamma[0] = 0.0
            variance = rng.uniform(0.5, 3.0, width).astype(np.float32)
            variance[1] = 1e-9
            for key, value in (("gamma", gamma), ("beta", rng.randn(width)), ("moving_mean", rng.randn(width)),
                               ("moving_variance", variance)):
                variables[f"{name}/{key}"].load(np.asarray(value, np.float32), sess)
        qtf.set_calibrate_state(sess, True)
        for batch in calib:
            sess.run(out, {x: batch, qf: 1, it: False})
        qtf.set_calibrate_state(sess, False)
        expected = sess.run(out, {x: data, qf: 1, it: False})
        unfolded = sess.run(out, {x: data, qf: 1, it: False, is_training: True})   # batch statistics
        assert np.abs(expected - unfolded).max() > 0.1
        ckpt = tf.compat.v1.train.Saver().save(sess, str(tmp_path / "q.ckpt"))
    assert summary["quantized"] == ["conv", "dw", "fc"] and summary["folded"] == ["conv", "dw", "pw"]
    result = _export(qtf, _build_bn, cfg, ["out"], ckpt, tmp_path, "bn")
    ops = [node.op for node in _read_pb(result["pb"]).node]
    assert not {"FusedBatchNorm", "FusedBatchNormV3", "Switch", "Merge"} & set(ops)
    assert np.array_equal(qtf.run_frozen(result["pb"], {"x": data}, ["out"])[0], expected)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:      # Grappler on, as deployed
        tf.compat.v1.import_graph_def(_read_pb(result["pb"]), name="")
        assert np.array_equal(sess.run("out:0", {"x:0": data}), expected)
    weights = {e["name"]: e["weight"] for e in result["param_dict"]["layers"] if e.get("weight")}
    assert len(weights["dw"]["scale"]) == 4 * MULT

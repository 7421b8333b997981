"""Per-layer statistics for the quantization report, on the digits examples (real torch and TF).

The math is checked against numpy references built from ``common.qparams``; both back ends
must leave the model exactly as they found it.
"""

import math
import subprocess
import sys

import numpy as np
import pytest

from quantbridge import analysis
from quantbridge.common import qparams
from quantbridge.errors import ModelError, QuantBridgeError

from conftest import all_int8

LAYER_KEYS = ["name", "op_type", "quant_strategy", "quantized", "batches", "weight", "activation", "sqnr_db"]
WEIGHT_KEYS = ["shape", "axis", "channels", "min", "max", "absmax", "scale_min", "scale_median", "scale_max",
               "clipped_fraction", "sqnr_db"]
ACT_KEYS = ["count", "min", "max", "scale", "zero_point", "range_min", "range_max", "clipped_fraction", "sqnr_db"]


def _plain(value):
    """True when ``value`` holds only plain Python values (what the Java bridge converts)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _check_schema(stats):
    assert _plain(stats)
    for entry in stats:
        assert list(entry) == LAYER_KEYS
        assert list(entry["weight"]) == WEIGHT_KEYS
        assert list(entry["activation"]) == ACT_KEYS
        if entry["quantized"]:
            assert entry["quant_strategy"] == "Quant_INT8-8"
            assert math.isfinite(entry["sqnr_db"]) and entry["sqnr_db"] > 20.0
            assert entry["activation"]["scale"] > 0 and 0 <= entry["activation"]["zero_point"] <= 255
            assert 0.0 <= entry["activation"]["clipped_fraction"] <= 1.0
        else:
            assert entry["quant_strategy"] == "float" and entry["sqnr_db"] is None
            assert entry["activation"]["scale"] is None and entry["activation"]["clipped_fraction"] is None
        w = entry["weight"]
        assert w["clipped_fraction"] == 0.0      # absmax scales never saturate
        assert w["scale_min"] <= w["scale_median"] <= w["scale_max"]
        assert w["absmax"] == max(-w["min"], w["max"])
        assert w["scale_max"] == pytest.approx(w["absmax"] / 127, rel=1e-6)


def _sqnr(ref, quant):
    ref = np.asarray(ref, np.float64)
    noise = ref - np.asarray(quant, np.float64)
    return 10 * math.log10(np.sum(ref * ref) / np.sum(noise * noise))


# -- framework-free -----------------------------------------------------------------------------
def test_importable_without_frameworks():
    code = ("import sys, quantbridge.analysis as a; "
            "assert 'torch' not in sys.modules and 'tensorflow' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rank_worst_first_puts_none_and_nan_last_and_is_stable():
    stats = [{"name": "a", "sqnr_db": None}, {"name": "b", "sqnr_db": 30.0}, {"name": "c", "sqnr_db": float("nan")},
             {"name": "d", "sqnr_db": 12.5}, {"name": "e", "sqnr_db": float("inf")}, {"name": "f", "sqnr_db": 30.0},
             {"name": "g", "sqnr_db": None}]
    ranked = analysis.rank_worst_first(stats)
    assert [s["name"] for s in ranked] == ["d", "b", "f", "e", "a", "c", "g"]
    assert [s["name"] for s in stats] == list("abcdefg")     # the input is not reordered


def test_weight_summary_matches_the_reference():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 2, 2)).astype(np.float32)
    w[2] = 0.0                                                 # an all-zero channel: the scale floor
    got = analysis.weight_summary(w, (1, 2, 3), 0)
    scales = qparams.weight_qparams(np.abs(w).reshape(4, -1).max(axis=1))
    fq = qparams.fake_quant(w, scales, np.zeros(4), qparams.W_QMIN, qparams.W_QMAX, axis=0)
    assert got["channels"] == 4 and got["shape"] == [4, 3, 2, 2] and got["axis"] == 0
    assert got["scale_min"] == pytest.approx(float(scales.min()))
    assert got["scale_median"] == pytest.approx(float(np.median(scales)))
    assert got["scale_max"] == pytest.approx(float(scales.max()))
    assert got["clipped_fraction"] == 0.0
    assert got["sqnr_db"] == pytest.approx(_sqnr(w, fq), abs=1e-9)
    exact = analysis.weight_summary(np.array([[1.0, -127.0]], np.float32) / 127, (1,), 0)
    assert exact["sqnr_db"] == float("inf")                    # on-grid weights: no noise


# -- PyTorch ------------------------------------------------------------------------------------
@pytest.fixture
def torch_quant(digits_model):
    """The trained digits model, every layer INT8, calibrated on the calibration batches."""
    from quantbridge.examples import digits_torch
    from quantbridge.torch import build_config, calibrate, optimize_model

    qm = optimize_model(digits_model, all_int8(build_config(digits_model, digits_torch.INPUT_SHAPE)))
    calibrate(qm, digits_torch.calibration_batches())
    return qm


def _torch_snapshot(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_torch_stats_schema_order_and_batches(torch_quant):
    from quantbridge.examples import digits_torch

    stats = analysis.torch_layer_stats(torch_quant, digits_torch.calibration_batches(), max_batches=3)
    _check_schema(stats)
    assert [s["name"] for s in stats] == ["features/0/Conv2D", "features/3/Conv2D", "features/6/Conv2D", "fc/MatMul"]
    assert [s["weight"]["channels"] for s in stats] == [16, 16, 32, 10]
    assert {s["batches"] for s in stats} == {3}
    assert stats[0]["activation"]["count"] == 3 * 64 * 64      # 3 batches of 64 images of 8x8
    ranked = analysis.rank_worst_first(stats)
    assert [s["sqnr_db"] for s in ranked] == sorted(s["sqnr_db"] for s in stats)


def test_torch_first_layer_matches_numpy_reference(torch_quant):
    """The first conv sees the batch itself: float vs fake-quant output, range and saturation
    recomputed from scratch. Calibrating on half-scale inputs makes the full-scale ones clip."""
    import torch
    import torch.nn.functional as F

    from quantbridge.examples import digits_torch
    from quantbridge.torch import calibrate

    batches = digits_torch.calibration_batches()
    calibrate(torch_quant, [b * 0.5 for b in batches])
    stats = analysis.torch_layer_stats(torch_quant, batches)
    first = stats[0]["activation"]
    conv = torch_quant.features[0]
    act = conv.activation_quant.qparams()
    w = conv.weight.detach().numpy()
    w_fq = qparams.fake_quant(w, qparams.weight_qparams(np.abs(w).reshape(16, -1).max(axis=1)), np.zeros(16),
                              qparams.W_QMIN, qparams.W_QMAX, axis=0)
    x = torch.cat(batches).numpy()
    x_fq = qparams.fake_quant(x, act["scale"], act["zero_point"], qparams.ACT_QMIN, qparams.ACT_QMAX)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1).numpy()
    quant = F.conv2d(torch.from_numpy(x_fq), torch.from_numpy(w_fq), padding=1).numpy()
    assert stats[0]["sqnr_db"] == pytest.approx(_sqnr(ref, quant), abs=1e-6)
    assert first["sqnr_db"] == pytest.approx(_sqnr(x, x_fq), abs=1e-6)
    assert (first["min"], first["max"]) == (float(x.min()), float(x.max()))
    assert (first["scale"], first["zero_point"]) == (act["scale"], act["zero_point"])
    q = np.rint(x / np.float32(act["scale"])) + act["zero_point"]
    clipped = np.count_nonzero((q < 0) | (q > 255)) / x.size
    assert clipped > 0.01
    assert first["clipped_fraction"] == clipped
    assert first["range_max"] == pytest.approx((255 - act["zero_point"]) * act["scale"])


def test_torch_stats_change_nothing(torch_quant):
    from quantbridge.examples import digits_torch

    torch_quant.train()
    torch_quant.features[1].eval()                     # mixed modes survive too
    before = _torch_snapshot(torch_quant)
    analysis.torch_layer_stats(torch_quant, digits_torch.calibration_batches(), max_batches=2)
    after = _torch_snapshot(torch_quant)
    assert list(after) == list(before)
    assert all(np.array_equal(before[k].numpy(), after[k].numpy()) for k in before)
    assert torch_quant.training and not torch_quant.features[1].training and torch_quant.features[0].training
    from quantbridge.torch import _points

    own = (_points.apply_point, _points.pass_folded)     # the quant model's own (integer-kernel points)
    assert all(h in own for m in torch_quant.modules() for h in m._forward_hooks.values())  # noqa: SLF001


def test_torch_float_layer_has_weight_and_range_only(digits_model):
    from quantbridge.examples import digits_torch
    from quantbridge.torch import build_config, calibrate, optimize_model

    cfg = all_int8(build_config(digits_model, digits_torch.INPUT_SHAPE))
    cfg["layer_strategy"]["fc/MatMul"]["quant_strategy"] = "float"
    qm = optimize_model(digits_model, cfg)
    calibrate(qm, digits_torch.calibration_batches(), max_batches=2)
    stats = analysis.torch_layer_stats(qm, [(b, None) for b in digits_torch.calibration_batches(num_batches=2)])
    _check_schema(stats)
    fc = stats[-1]
    assert fc["name"] == "fc/MatMul" and not fc["quantized"]
    assert fc["activation"]["count"] == 2 * 64 * 512 and fc["activation"]["min"] == 0.0   # after a ReLU
    assert analysis.rank_worst_first(stats)[-1]["name"] == "fc/MatMul"


def test_torch_refusals(digits_model):
    from quantbridge.examples import digits_torch
    from quantbridge.torch import build_config, optimize_model, set_calibrate_state

    batches = digits_torch.calibration_batches(num_batches=1)
    with pytest.raises(ModelError, match="optimize_model"):
        analysis.torch_layer_stats(digits_model, batches)
    qm = optimize_model(digits_model, all_int8(build_config(digits_model, digits_torch.INPUT_SHAPE)))
    with pytest.raises(ModelError, match="no activation range yet"):
        analysis.torch_layer_stats(qm, batches)
    set_calibrate_state(qm, True)
    with pytest.raises(ModelError, match="calibration is in progress"):
        analysis.torch_layer_stats(qm, batches)
    set_calibrate_state(qm, False)
    with pytest.raises(QuantBridgeError, match="max_batches"):
        analysis.torch_layer_stats(qm, batches, max_batches=0)


def test_torch_no_batches_is_an_error(torch_quant):
    with pytest.raises(QuantBridgeError, match="no batches"):
        analysis.torch_layer_stats(torch_quant, [])


# -- TensorFlow ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf_quant():
    """The digits graph rewritten with every layer INT8 except ``fc/MatMul``, trained one epoch on
    the float path and calibrated: ``(tf, sess, info)``."""
    tf = pytest.importorskip("tensorflow")
    tf.compat.v1.disable_v2_behavior()
    import quantbridge.tf as qtf
    from quantbridge.examples import digits_tf

    graph = tf.Graph()
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=1)
    with graph.as_default():
        sess = tf.compat.v1.Session(graph=graph, config=config)
        info = digits_tf.build_graph()
        cfg = all_int8(qtf.build_config(sess))
        cfg["layer_strategy"]["fc/MatMul"]["quant_strategy"] = "float"
        quant_flag = tf.compat.v1.placeholder(tf.int32, name="quant_flag")
        is_train = tf.compat.v1.placeholder(tf.bool, name="is_train")
        qtf.optimize_model(sess, cfg, is_train, quant_flag)
        info.update(quant_flag=quant_flag.name, is_train_flag=is_train.name)
        digits_tf.train(sess, info, 0, False, epochs=1, progress=lambda *a, **k: None)   # the float path
        qtf.set_calibrate_state(sess, True)
        digits_tf.calibrate(sess, info, progress=lambda *a, **k: None)
        qtf.set_calibrate_state(sess, False)
    yield tf, sess, info
    sess.close()


def test_tf_stats_schema_and_reference(tf_quant):
    tf, sess, info = tf_quant
    from quantbridge.examples import digits_tf

    batches = digits_tf.calibration_batches()
    variables = sess.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
    before = sess.run(variables)
    stats = analysis.tf_layer_stats(sess, batches, digits_tf.INPUT_NAME)
    assert all(np.array_equal(a, b) for a, b in zip(before, sess.run(variables)))
    _check_schema(stats)
    assert [(s["name"], s["quantized"]) for s in stats] == [
        ("conv1/Conv2D", True), ("dw/depthwise", True), ("pw/Conv2D", True), ("fc/MatMul", False)]
    assert [s["weight"]["channels"] for s in stats] == [16, 16, 32, 10]
    assert [s["weight"]["axis"] for s in stats] == [3, 2, 3, 1]

    # conv1 reads the model input: its float and fake-quant outputs come straight from the graph.
    # Its BatchNorm is folded on the quantized path, so its output is the BatchNorm's result.
    from quantbridge.tf import _rewrite

    op = _rewrite.state_of(sess).layers[0].output_tensor
    assert op.name.startswith("conv1/Conv2D/quantbridge/fold/output")
    x_t = sess.graph.get_tensor_by_name("input:0")
    flag, train = (sess.graph.get_tensor_by_name(info[k]) for k in ("quant_flag", "is_train_flag"))
    ref = np.concatenate([sess.run(op, {x_t: b, flag: 0, train: False}) for b in batches])
    quant = np.concatenate([sess.run(op, {x_t: b, flag: 1, train: False}) for b in batches])
    assert stats[0]["sqnr_db"] == pytest.approx(_sqnr(ref, quant), abs=1e-6)
    x = np.concatenate(batches)
    assert (stats[0]["activation"]["min"], stats[0]["activation"]["max"]) == (float(x.min()), float(x.max()))
    assert stats[0]["activation"]["count"] == x.size


def test_tf_max_batches_extra_feed_and_pairs(tf_quant):
    _, sess, info = tf_quant
    from quantbridge.examples import digits_tf

    batches = [(b, None) for b in digits_tf.calibration_batches()]
    stats = analysis.tf_layer_stats(sess, batches, "input:0", quant_flag_name=info["quant_flag"],
                                    extra_feed={"is_training": False}, max_batches=2)
    assert {s["batches"] for s in stats} == {2}
    assert stats[0]["activation"]["count"] == 2 * 64 * 64


def test_tf_refusals(tf_quant):
    tf, sess, _ = tf_quant
    import quantbridge.tf as qtf
    from quantbridge.examples import digits_tf

    with pytest.raises(QuantBridgeError, match="no batches"):
        analysis.tf_layer_stats(sess, [], "input")
    with pytest.raises(ModelError, match="no tensor named"):
        analysis.tf_layer_stats(sess, digits_tf.calibration_batches(num_batches=1), "nope")
    state = qtf._rewrite.state_of(sess)  # noqa: SLF001 - the flag set_calibrate_state(sess, True) sets
    state.calibrating = True
    try:
        with pytest.raises(ModelError, match="calibration is in progress"):
            analysis.tf_layer_stats(sess, digits_tf.calibration_batches(num_batches=1), "input")
    finally:
        state.calibrating = False
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as other:
        digits_tf.build_graph()
        with pytest.raises(ModelError, match="optimize_model"):
            analysis.tf_layer_stats(other, digits_tf.calibration_batches(num_batches=1), "input")
        flag, train = tf.compat.v1.placeholder(tf.int32), tf.compat.v1.placeholder(tf.bool)
        qtf.optimize_model(other, all_int8(qtf.build_config(other)), train, flag)
        other.run(tf.compat.v1.global_variables_initializer())
        with pytest.raises(ModelError, match="no activation range yet"):
            analysis.tf_layer_stats(other, digits_tf.calibration_batches(num_batches=1), "input")

"""The vendor's TensorFlow workflow end to end on the digits example (real TF 2.8, graph mode).

Accuracies (float / PTQ / QAT / frozen .pb) are printed; run with ``-s`` to see them.
"""

import json
import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from quantbridge.common import paramfile, qparams  # noqa: E402
from conftest import cwd  # noqa: E402

PTQ_MAX_DROP = 1.0      # points of top-1 below float
QAT_MAX_DROP = 0.5
# The frozen .pb folds BatchNorm into the weights; the session keeps BatchNorm after the
# quantized conv. The two differ by float rounding (~1e-6), which now and then moves an
# activation across a rounding boundary of the next layer's uint8 grid (one step, ~0.02):
# single logits move by up to a few 1e-2, on average by far less.
PB_MAX_ABS = 0.05
PB_MEAN_ABS = 1e-3
PB_ARGMAX_AGREE = 0.99


def _quiet(*_args, **_kwargs):
    pass


@pytest.fixture(scope="module")
def ex():
    tf.compat.v1.disable_v2_behavior()
    from quantbridge.examples import digits_tf
    return digits_tf


def _session(graph):
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=1)
    return tf.compat.v1.Session(graph=graph, config=config)


@pytest.fixture(scope="module")
def float_model(ex, tmp_path_factory):
    """Train the float model once: ``{"dir", "ckpt", "acc", "logits", "config"}``."""
    import quantbridge.tf as qtf

    work = tmp_path_factory.mktemp("tfflow")
    with cwd(work):
        graph = tf.Graph()
        with graph.as_default(), _session(graph) as sess:
            info = ex.build_graph()
            cfg = qtf.generate_config_file(sess, "./config_gen.json")
            ex.train_float(sess, info, epochs=12, progress=_quiet)
            acc = ex.evaluate(sess, info)
            logits = ex.predict(sess, info, ex.test_inputs())
            ckpt = tf.compat.v1.train.Saver().save(sess, str(work / "float.ckpt"))
    return {"dir": work, "ckpt": ckpt, "acc": acc, "logits": logits, "config": cfg}


def _int8_config(path, method=None):
    with open(path, encoding="utf-8") as fh:
        cfg = json.load(fh)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    if method:
        cfg["quantbridge"] = {"calibration": {"method": method}}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2)
    return cfg


@pytest.fixture(scope="module")
def vendor_flow(ex, float_model):
    """The vendor's snippet, step by step (tf.Session -> tf.compat.v1.Session,
    tf.placeholder -> tf.compat.v1.placeholder), as post-training calibration."""
    from quantbridge.tf import float_saver, generate_final_model, optimize_model, set_calibrate_state

    work = float_model["dir"]
    out = {}
    with cwd(work):
        config_file = "./config_gen.json"                         # written by generate_config_file
        _int8_config(config_file)                                  # 2. the user's edit
        config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=1)
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(config=config) as sess:
            info = ex.build_tf_model() if hasattr(ex, "build_tf_model") else ex.build_graph()
            quant_flag = tf.compat.v1.placeholder(tf.int32)
            is_train_flag = tf.compat.v1.placeholder(tf.bool, name="is_train")
            optimize_model(sess, config_file, is_train_flag, quant_flag)
            # A plain Saver() would also look for the new range variables in the float ckpt:
            # float_saver restores the variables that existed before the rewrite.
            saver = float_saver(sess)
            saver.restore(sess, float_model["ckpt"])
            # optimize_model initialised its own variables; a global initializer here would
            # overwrite the restored weights, so none is run.
            info.update(quant_flag=quant_flag.name, is_train_flag=is_train_flag.name)
            out["float_again"] = ex.predict(sess, info, ex.test_inputs(), {quant_flag: 0, is_train_flag: False})
            set_calibrate_state(sess, calibration_mode=True)
            ex.calibrate(sess, info, quant_flag=1, is_train_flag=False, progress=_quiet)
            out["ranges"] = set_calibrate_state(sess, calibration_mode=False)
            out["acc"] = ex.evaluate(sess, info, {quant_flag: 1, is_train_flag: False})
            out["logits"] = ex.predict(sess, info, ex.test_inputs(), {quant_flag: 1, is_train_flag: False})
            out["ckpt"] = tf.compat.v1.train.Saver().save(sess, str(work / "ptq.ckpt"))
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(config=config) as sess:
            ex.build_graph()                                       # the ORIGINAL float graph again
            out["export"] = generate_final_model(sess, config_file, ["logits"], out["ckpt"], "./")
    return out


@pytest.fixture(scope="module")
def qat(ex, float_model, vendor_flow):
    """Quantization-aware training from the calibrated checkpoint, then export."""
    import quantbridge.tf as qtf

    work = float_model["dir"]
    out = {}
    with cwd(work):
        graph = tf.Graph()
        with graph.as_default(), _session(graph) as sess:
            info = ex.build_graph()
            quant_flag = tf.compat.v1.placeholder(tf.int32, name="quant_flag")
            is_train_flag = tf.compat.v1.placeholder(tf.bool, name="is_train")
            qtf.optimize_model(sess, "./config_gen.json", is_train_flag, quant_flag)
            tf.compat.v1.train.Saver().restore(sess, vendor_flow["ckpt"])   # weights and calibrated ranges
            info.update(quant_flag=quant_flag.name, is_train_flag=is_train_flag.name)
            ex.train(sess, info, 1, True, epochs=2, progress=_quiet)
            feed = {quant_flag: 1, is_train_flag: False}
            out["acc"] = ex.evaluate(sess, info, feed)
            out["logits"] = ex.predict(sess, info, ex.test_inputs(), feed)
            out["params"] = qtf.quant_params(sess)
            out["ckpt"] = tf.compat.v1.train.Saver().save(sess, str(work / "qat.ckpt"))
        for fold in (True, False):
            graph = tf.Graph()
            with graph.as_default(), _session(graph) as sess:
                ex.build_graph()
                out[f"export_fold{int(fold)}"] = qtf.generate_final_model(
                    sess, "./config_gen.json", ["logits"], out["ckpt"], "./", name=f"qat_fold{int(fold)}",
                    fold_bn=fold)
    return out


def _read_pb(path):
    gd = tf.compat.v1.GraphDef()
    with open(path, "rb") as fh:
        gd.ParseFromString(fh.read())
    return gd


def test_seed_flow_writes_pb_and_params(float_model, vendor_flow):
    export = vendor_flow["export"]
    work = str(float_model["dir"])
    assert export["pb"] == os.path.join(work, "model.pb")
    assert export["params"] == os.path.join(work, "model_quant_param.json")
    params = paramfile.read(export["params"])
    assert params == export["param_dict"]
    assert params["framework"] == "tensorflow"
    assert params["model"]["file"] == "model.pb"
    assert params["model"]["sha256"] == paramfile.sha256_file(export["pb"])
    assert params["model"]["outputs"] == ["logits"]
    assert params["model"]["input_shape"] == "input:1,8,8,1"
    assert [(e["name"], e["op_type"]) for e in params["layers"]] == [
        ("conv1/Conv2D", "Conv2D"), ("dw/depthwise", "DepthwiseConv2dNative"), ("pw/Conv2D", "Conv2D"),
        ("fc/MatMul", "MatMul")]
    nodes = {node.name for node in _read_pb(export["pb"]).node}
    for entry in params["layers"]:
        assert entry["quant_strategy"] == "Quant_INT8-8"
        assert entry["node"] in nodes and entry["weight"]["tensor"] in nodes
        assert entry["activation"]["tensor"].split(":")[0] in nodes
        assert entry["activation"]["dtype"] == "uint8" and entry["weight"]["dtype"] == "int8"
    axes = [e["weight"]["axis"] for e in params["layers"]]
    assert axes == [3, 2, 3, 1]
    assert [len(e["weight"]["scale"]) for e in params["layers"]] == [16, 16, 32, 10]
    assert set(vendor_flow["ranges"]) == {e["name"] for e in params["layers"]}


def test_quant_flag_zero_is_the_float_graph(float_model, vendor_flow):
    assert np.array_equal(vendor_flow["float_again"], float_model["logits"])


def test_digits_accuracy(float_model, vendor_flow, qat):
    float_acc, ptq_acc, qat_acc = float_model["acc"], vendor_flow["acc"], qat["acc"]
    pb_out = _run_pb(vendor_flow["export"]["pb"])
    from quantbridge.examples import digits_tf
    pb_acc = float((pb_out.argmax(axis=1) == digits_tf.load_data()["y_test"]).mean() * 100.0)
    print(f"\n[digits_tf] top-1 float {float_acc:.2f}%  PTQ {ptq_acc:.2f}%  QAT {qat_acc:.2f}%  "
          f"PTQ .pb {pb_acc:.2f}%")
    assert float_acc > 90.0
    assert ptq_acc >= float_acc - PTQ_MAX_DROP
    assert qat_acc >= float_acc - QAT_MAX_DROP
    assert abs(pb_acc - ptq_acc) <= 100.0 / 360 + 1e-9


def _run_pb(path):
    from quantbridge.examples import digits_tf
    from quantbridge.tf import run_frozen
    return run_frozen(path, {"input": digits_tf.test_inputs()}, ["logits"])[0]


@pytest.mark.parametrize("which", ["ptq", "qat"])
def test_frozen_pb_matches_quantized_session(vendor_flow, qat, which):
    export, session = (vendor_flow["export"], vendor_flow["logits"]) if which == "ptq" else \
        (qat["export_fold1"], qat["logits"])
    out = _run_pb(export["pb"])
    diff = np.abs(out - session)
    agree = float(np.mean(out.argmax(axis=1) == session.argmax(axis=1)))
    print(f"\n[{which} .pb vs session] max |diff| {diff.max():.2e}, mean {diff.mean():.2e}, argmax agree {agree:.4f}")
    assert diff.max() <= PB_MAX_ABS
    assert diff.mean() <= PB_MEAN_ABS
    assert agree >= PB_ARGMAX_AGREE


def test_frozen_pb_is_bit_exact(qat):
    """The quantized session folds its inference BatchNorms as the export does (same ops, same
    order): the .pb reproduces it exactly. ``fold_bn=False`` keeps the BatchNorm ops instead."""
    assert np.array_equal(_run_pb(qat["export_fold1"]["pb"]), qat["logits"])
    assert "FusedBatchNormV3" not in {node.op for node in _read_pb(qat["export_fold1"]["pb"]).node}
    ops = {node.op for node in _read_pb(qat["export_fold0"]["pb"]).node}
    assert "FusedBatchNormV3" in ops


@pytest.mark.parametrize("key", ["ptq", "qat"])
def test_frozen_pb_is_frozen_folded_and_on_grid(vendor_flow, qat, key):
    export = vendor_flow["export"] if key == "ptq" else qat["export_fold1"]
    gd = _read_pb(export["pb"])
    ops = [node.op for node in gd.node]
    forbidden = {"Variable", "VariableV2", "VarHandleOp", "ReadVariableOp", "Assign", "AssignVariableOp",
                 "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "Switch", "Merge", "PyFunc"}
    assert not forbidden & set(ops), sorted(forbidden & set(ops))
    assert [n.name for n in gd.node if n.op == "Placeholder"] == ["input"]
    assert not [n.name for n in gd.node if n.op == "PlaceholderWithDefault"]
    assert ops.count("Conv2D") == 2 and ops.count("DepthwiseConv2dNative") == 1 and ops.count("MatMul") == 1
    from quantbridge.tf._graphdef import const_value
    by_name = {node.name: node for node in gd.node}
    requantized = {p["name"]: p for p in export["param_dict"]["points"]}
    assert sorted(requantized) == ["conv1/Conv2D", "dw/depthwise", "pw/Conv2D"]
    for entry in export["param_dict"]["layers"]:
        layer = by_name[entry["node"]]
        prefix = f"{entry['name']}/quantbridge"
        if entry["name"] in requantized:      # an integer kernel: float64 codes, requantized output
            assert layer.attr["T"].type == tf.float64.as_datatype_enum
            assert by_name[layer.input[0]].input[0] == f"{prefix}/act_quant/sub"
            assert by_name[f"{prefix}/integer/weight_div"].input[0] == entry["weight"]["tensor"]
            assert requantized[entry["name"]]["tensor"] == f"{prefix}/requantized:0"
        else:
            assert layer.input[1] == entry["weight"]["tensor"]
            assert layer.input[0] == f"{prefix}/act_quant"
        w = const_value(by_name, entry["weight"]["tensor"])
        scale = np.asarray(entry["weight"]["scale"], dtype=np.float32)
        axis = entry["weight"]["axis"]
        shape = [1] * w.ndim
        shape[axis] = -1
        if entry["op_type"] == "DepthwiseConv2dNative":   # [h, w, in, mult]: scales over in*mult
            w = w.reshape(w.shape[0], w.shape[1], -1)
            shape = [1, 1, -1]
        q = w / scale.reshape(shape)
        assert np.abs(q - np.rint(q)).max() < 1e-3
        assert np.abs(np.rint(q)).max() <= 127 and np.abs(np.rint(q)).max() >= 64
        act = entry["activation"]
        assert np.isclose(const_value(by_name, f"{prefix}/act_quant/scale"), act["scale"])
        assert const_value(by_name, f"{prefix}/act_quant/zero_point") == act["zero_point"]


def test_quant_params_helper_matches_param_file_for_unfolded_layer(qat):
    """quant_params (from the session) and the parameter file agree where no BN is folded (fc)."""
    live = {entry["name"]: entry for entry in qat["params"]}
    filed = {entry["name"]: entry for entry in qat["export_fold1"]["param_dict"]["layers"]}
    assert live["fc/MatMul"]["weight"]["scale"] == filed["fc/MatMul"]["weight"]["scale"]
    for name in live:
        assert live[name]["activation"]["scale"] == filed[name]["activation"]["scale"]
        assert live[name]["activation"]["zero_point"] == filed[name]["activation"]["zero_point"]
        assert live[name]["activation"]["calibrated"] is True
    unfolded = {e["name"]: e for e in qat["export_fold0"]["param_dict"]["layers"]}
    assert live["conv1/Conv2D"]["weight"]["scale"] == unfolded["conv1/Conv2D"]["weight"]["scale"]


def test_mixed_config_export(ex, float_model, vendor_flow):
    """conv1 left at float: its BatchNorm is still folded, it gets no quantization parameters."""
    import quantbridge.tf as qtf

    with cwd(float_model["dir"]):
        with open("config_gen.json", encoding="utf-8") as fh:
            cfg = json.load(fh)
        cfg["layer_strategy"]["conv1/Conv2D"]["quant_strategy"] = "float"
        graph = tf.Graph()
        with graph.as_default(), _session(graph) as sess:
            ex.build_graph()
            result = qtf.generate_final_model(sess, cfg, ["logits"], vendor_flow["ckpt"], ".", name="mixed")
    entry = result["param_dict"]["layers"][0]
    assert entry["quant_strategy"] == "float" and "weight" not in entry and "activation" not in entry
    gd = _read_pb(result["pb"])
    by_name = {node.name: node for node in gd.node}
    assert by_name["conv1/Conv2D"].input[0] == "input"
    assert not [n for n in gd.node if n.op.startswith("FusedBatchNorm")]
    out = _run_pb(result["pb"])
    from quantbridge.examples import digits_tf
    acc = float((out.argmax(axis=1) == digits_tf.load_data()["y_test"]).mean() * 100.0)
    assert acc >= float_model["acc"] - PTQ_MAX_DROP


def test_quantized_run_before_calibration_uses_the_first_batch(ex, float_model):
    """optimize -> restore the float checkpoint -> evaluate with quant_flag=1, no calibration:
    every range is initialised from that (first) batch in the same step, so the accuracy is
    close to float instead of collapsing on a [0, 0] range."""
    import quantbridge.tf as qtf

    cfg = json.loads(json.dumps(float_model["config"]))
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    graph = tf.Graph()
    with graph.as_default(), _session(graph) as sess:
        info = ex.build_graph()
        quant_flag = tf.compat.v1.placeholder(tf.int32, name="quant_flag")
        is_train_flag = tf.compat.v1.placeholder(tf.bool, name="is_train")
        qtf.optimize_model(sess, cfg, is_train_flag, quant_flag)
        qtf.float_saver(sess).restore(sess, float_model["ckpt"])
        assert not any(e["activation"]["calibrated"] for e in qtf.quant_params(sess))
        feed = {quant_flag: 1, is_train_flag: False}
        acc = ex.evaluate(sess, info, feed)
        params = {e["name"]: e["activation"] for e in qtf.quant_params(sess)}
        again = ex.evaluate(sess, info, feed)
    print(f"\n[digits_tf] uncalibrated quantized run: {acc:.2f}% (float {float_model['acc']:.2f}%)")
    assert acc >= float_model["acc"] - 3.0
    assert again == acc                                  # the ranges stay fixed afterwards
    assert all(a["calibrated"] for a in params.values())
    x = ex.test_inputs()
    assert (params["conv1/Conv2D"]["scale"], params["conv1/Conv2D"]["zero_point"]) == \
        qparams.activation_qparams(x.min(), x.max())

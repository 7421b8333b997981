"""Graphs built with tf.keras (Functional, Sequential, keras.applications) in tf.compat.v1 graph
mode, end to end: config, rewrite, calibration, quantization-aware training, frozen .pb and
parameter file.

Keras layers create resource variables even under ``disable_v2_behavior`` and read them inside
the learning-phase ``tf.cond`` of BatchNormalization (``Switch`` of the variable handle, then
``ReadVariableOp``); the export freezes those, resolves the cond with ``keras_learning_phase``
frozen to False (inference) and folds the inference BatchNorm into the layer, as the quantized
session does on its inference path: the .pb reproduces the session (bit for bit on every model
here; the check is >= 99 % top-1 agreement). The keras.applications cases took 20-35 s
(MobileNet, MobileNetV2, EfficientNetB0), 80 s (ResNet50) and 130-165 s (DenseNet121) on two
shared cores; the whole file about 5 minutes.

The models are the Keras user project's (``tests/projects/keras_project``). The digits models
are trained for real; the keras.applications networks (``weights=None``, 32x32 inputs) get
BatchNorm moving statistics from one training-mode pass over digits (their untrained inference
output is otherwise near constant, which would make agreement checks meaningless). Numbers are
printed; run with ``-s`` to see them.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

PROJECT = Path(__file__).resolve().parents[2] / "tests" / "projects" / "keras_project"
PB_ARGMAX_AGREE = 0.99
FORBIDDEN = {"Variable", "VariableV2", "VarHandleOp", "ReadVariableOp", "Assign", "AssignVariableOp",
             "AssignSubVariableOp", "Switch", "Merge", "PyFunc", "PlaceholderWithDefault"}


@pytest.fixture(scope="module")
def keras_project():
    tf.compat.v1.disable_v2_behavior()
    sys.path.insert(0, str(PROJECT))
    try:
        from digitskeras import data, model, train
        yield {"data": data, "model": model, "train": train}
    finally:
        sys.path.remove(str(PROJECT))


def test_freeze_resource_reads_inside_a_v1_cond_and_gathers():
    """What Keras graphs contain, without Keras: a resource variable read through the ``Switch``
    of a v1 cond on a learning-phase-like flag, and a ``ResourceGather`` (embedding lookup)."""
    from quantbridge.tf import _graphdef as gdu

    tf.compat.v1.disable_v2_behavior()
    value = np.arange(6, dtype=np.float32).reshape(3, 2)
    graph = tf.Graph()
    with graph.as_default():
        v = tf.compat.v1.get_variable("v", initializer=value, use_resource=True)
        flag = tf.compat.v1.placeholder_with_default(True, [], name="flag")
        idx = tf.compat.v1.placeholder(tf.int32, [None], name="idx")
        out = tf.compat.v1.cond(flag, lambda: v.read_value() * 2.0, lambda: v.read_value() + 1.0)
        tf.identity(out, name="out")
        tf.identity(tf.nn.embedding_lookup(v, idx), name="gathered")
    ops = {op.type for op in graph.get_operations()}
    assert {"Switch", "ResourceGather", "VarHandleOp"} <= ops
    sub = tf.compat.v1.graph_util.extract_sub_graph(graph.as_graph_def(), ["out", "gathered"])
    frozen, flags = gdu.freeze(sub, {"v": value})
    frozen, _ = gdu.resolve_switches(frozen, keep=["out", "gathered"])
    frozen = tf.compat.v1.graph_util.extract_sub_graph(frozen, ["out", "gathered"])
    assert flags == ["flag"]
    left = {node.op for node in frozen.node}
    assert not left & {"VarHandleOp", "ReadVariableOp", "ResourceGather", "Switch", "Merge"}, left
    with tf.Graph().as_default() as g2:
        tf.compat.v1.import_graph_def(frozen, name="")
        with tf.compat.v1.Session(graph=g2) as sess:
            got, gathered = sess.run(["out:0", "gathered:0"], {"idx:0": [2, 0]})
    assert np.array_equal(got, value + 1.0)                 # the flag frozen to False: inference branch
    assert np.array_equal(gathered, value[[2, 0]])


def _session(graph):
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=1)
    return tf.compat.v1.Session(graph=graph, config=config)


def _settle_batch_norm(sess, info, batch):
    """Set every Keras BatchNormalization's moving statistics to the batch statistics of one
    training-mode pass over ``batch`` (all layers at once: in training mode each layer
    normalises with exactly these statistics)."""
    graph = sess.graph
    bns = [op for op in graph.get_operations()
           if op.type == "FusedBatchNormV3" and op.get_attr("is_training") and "/cond/" in op.name]
    # Ops inside the cond branch cannot be fetched; the Merges of its batch mean / variance can.
    merged = [[next(c for c in op.outputs[port].consumers() if c.type == "Merge").outputs[0] for port in (1, 2)]
              for op in bns]
    feed = {graph.get_tensor_by_name(info["input"]): batch, graph.get_tensor_by_name(info["training"]): True}
    stats = sess.run(merged, feed_dict=feed)
    variables = {v.op.name: v for v in tf.compat.v1.global_variables()}
    for op, (mean, var) in zip(bns, stats):
        layer = op.name.split("/cond/")[0]
        variables[f"{layer}/moving_mean"].load(mean, sess)
        variables[f"{layer}/moving_variance"].load(var, sess)
    return len(bns)


def _all_int8(cfg):
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    return cfg


def _flow(project, work, builder, model_args, **kwargs):
    """config -> float checkpoint -> rewrite, restore, calibrate (and QAT) -> frozen .pb, in
    ``work`` as the current directory (pytest's temporary paths break the vendor's path rule)."""
    old = os.getcwd()
    os.chdir(work)
    try:
        return _steps(project, Path("."), builder, model_args, **kwargs)
    finally:
        os.chdir(old)


def _steps(project, work, builder, model_args, *, epochs=0, steps=0, qat_steps=0, calib_batches=4, fold_bn=(True,)):
    import quantbridge.tf as qtf

    data, model, train = project["data"], project["model"], project["train"]
    build = getattr(model, builder)
    out = {}
    graph = tf.Graph()
    with graph.as_default(), _session(graph) as sess:
        info = train.info_of(build(**model_args))
        out["config"] = qtf.generate_config_file(sess, str(work / "config_gen.json"))
        sess.run(tf.compat.v1.global_variables_initializer())
        shape = graph.get_tensor_by_name(info["input"]).shape
        size, channels = int(shape[1]), int(shape[3])
        if epochs or steps:
            train.train(sess, info, epochs=max(epochs, 1), lr=3e-3, max_steps=steps)
        if not epochs:
            out["settled"] = _settle_batch_norm(sess, info, data.calibration_batches(64, 1, size, channels)[0])
        out["float_acc"] = train.evaluate(sess, info)
        x_test = data.splits(size, channels)[2]
        out["float_logits"] = train.predict(sess, info, x_test)
        float_ckpt = tf.compat.v1.train.Saver().save(sess, str(work / "float.ckpt"), write_meta_graph=False)
    config_file = str(work / "config_gen.json")
    with open(config_file, "w", encoding="utf-8") as fh:
        json.dump(_all_int8(json.loads(json.dumps(out["config"]))), fh)

    graph = tf.Graph()
    with graph.as_default(), _session(graph) as sess:
        info = train.info_of(build(**model_args))
        quant_flag = tf.compat.v1.placeholder(tf.int32, [], name="quant_flag")
        is_train_flag = tf.compat.v1.placeholder(tf.bool, [], name="is_train")
        qtf.optimize_model(sess, config_file, is_train_flag, quant_flag)
        qtf.float_saver(sess).restore(sess, float_ckpt)
        info.update(quant_flag=quant_flag.name, is_train_flag=is_train_flag.name)
        out["float_again"] = train.predict(sess, info, x_test, 0)
        qtf.set_calibrate_state(sess, True)
        for batch in data.calibration_batches(32, calib_batches, size, channels):
            train.predict(sess, info, batch, 1)
        out["ranges"] = qtf.set_calibrate_state(sess, False)
        out["ptq_acc"] = train.evaluate(sess, info, 1)
        if qat_steps:
            out["qat"] = train.train(sess, info, 1, True, epochs=1, lr=1e-4, max_steps=qat_steps)
            out["qat_acc"] = train.evaluate(sess, info, 1)
        out["logits"] = train.predict(sess, info, x_test, 1)
        out["params"] = qtf.quant_params(sess)
        quant_ckpt = tf.compat.v1.train.Saver().save(sess, str(work / "quant.ckpt"), write_meta_graph=False)

    output = info["output"].split(":")[0]
    for fold in fold_bn:
        graph = tf.Graph()
        with graph.as_default(), _session(graph) as sess:
            build(**model_args)
            out[f"export{int(fold)}"] = qtf.generate_final_model(sess, config_file, [output], quant_ckpt, str(work),
                                                                 name=f"model_fold{int(fold)}", fold_bn=fold)
        out[f"pb{int(fold)}"] = qtf.run_frozen(out[f"export{int(fold)}"]["pb"], {info["input"]: x_test}, [output])[0]
    out["y_test"] = data.splits(size, channels)[3]
    out["output"] = output
    return out


def _read_pb(path):
    gd = tf.compat.v1.GraphDef()
    with open(path, "rb") as fh:
        gd.ParseFromString(fh.read())
    return gd


def _agreement(a, b):
    return float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))


def _check_export(run, name):
    """The checks every Keras export passes: frozen, inference mode, BN folded after the
    quantized layers, the parameter file lists every layer, the .pb agrees with the session."""
    export = run["export1"]
    gd = _read_pb(export["pb"])
    ops = [node.op for node in gd.node]
    assert not FORBIDDEN & set(ops), sorted(FORBIDDEN & set(ops))
    assert "keras_learning_phase" in export["frozen_flags"]
    assert [n.name for n in gd.node if n.op == "Placeholder"] == ["images"]
    layers = export["param_dict"]["layers"]
    assert [e["name"] for e in layers] == list(run["config"]["layer_strategy"])
    assert all(e["quant_strategy"] == "Quant_INT8-8" and e["weight"] and e["activation"] for e in layers)
    by_name = {node.name: node for node in gd.node}
    requantized = {p["name"] for p in export["param_dict"]["points"]}
    assert requantized, "no layer requantizes its output for an integer kernel"
    for entry in layers:    # every quantized layer reads its fake-quantized input and its grid weight
        node = by_name[entry["node"]]
        prefix = f"{entry['name']}/quantbridge"
        if entry["name"] in requantized:      # an integer kernel: the codes of both, requantized output
            assert by_name[node.input[0]].input[0] == f"{prefix}/act_quant/sub"
            assert by_name[f"{prefix}/integer/weight_div"].input[0] == entry["weight"]["tensor"]
        else:
            assert node.input[0] == f"{prefix}/act_quant"
            assert node.input[1] == entry["weight"]["tensor"]
    bn_after_layer = [n.name for n in gd.node if n.op.startswith("FusedBatchNorm")
                      and by_name[n.input[0].split(":")[0]].op in ("Conv2D", "DepthwiseConv2dNative")]
    assert not bn_after_layer, bn_after_layer[:5]
    assert np.array_equal(run["float_again"], run["float_logits"])     # quant_flag 0 is the float graph
    agree = _agreement(run["pb1"], run["logits"])
    exact = bool(np.array_equal(run["pb1"], run["logits"]))
    pb_acc = float(np.mean(run["pb1"].argmax(axis=1) == run["y_test"]) * 100)
    diff = np.abs(run["pb1"] - run["logits"])
    spread = float(np.std(run["logits"]))
    print(f"\n[{name}] {len(layers)} layers ({len(requantized)} requantized); top-1 float {run['float_acc']:.2f}% PTQ {run['ptq_acc']:.2f}%"
          + (f" QAT {run['qat_acc']:.2f}%" if "qat_acc" in run else "")
          + f" .pb {pb_acc:.2f}%; .pb vs session: argmax agree {agree:.4f}, max |diff| {diff.max():.2e}, "
            f"mean {diff.mean():.2e} (logit std {spread:.2e}); bit-exact {exact}")
    assert spread > 1e-2, "degenerate model output: the agreement would mean nothing"
    assert len(np.unique(run["logits"].argmax(axis=1))) > 1
    assert agree >= PB_ARGMAX_AGREE
    assert diff.mean() <= 0.05 * spread
    return gd


@pytest.fixture(scope="module")
def functional(keras_project, tmp_path_factory):
    return _flow(keras_project, tmp_path_factory.mktemp("functional"), "build_functional", {}, epochs=3,
                 qat_steps=20, fold_bn=(True, False))


@pytest.fixture(scope="module")
def sequential(keras_project, tmp_path_factory):
    return _flow(keras_project, tmp_path_factory.mktemp("sequential"), "build_sequential", {}, epochs=2, qat_steps=10)


def test_functional_model_end_to_end(functional):
    assert list(functional["config"]["layer_strategy"]) == ["stem/Conv2D", "dw/depthwise", "pw/Conv2D",
                                                            "logits/MatMul"]
    _check_export(functional, "keras functional")
    assert functional["float_acc"] > 80.0
    assert functional["ptq_acc"] >= functional["float_acc"] - 3.0
    assert functional["qat_acc"] >= functional["float_acc"] - 3.0
    axes = [e["weight"].get("axis") for e in functional["export1"]["param_dict"]["layers"]]
    assert axes == [3, 2, 3, 1]


def test_functional_folded_export_is_bit_exact(functional):
    """The quantized session folds its inference BatchNorms as the export does: the .pb gives
    the session's numbers exactly. Without folding the .pb keeps Keras' inference BatchNorm (the
    learning-phase cond resolved) and differs from the session by float rounding only."""
    assert np.array_equal(functional["pb1"], functional["logits"])
    ops = [node.op for node in _read_pb(functional["export0"]["pb"]).node]
    assert ops.count("FusedBatchNormV3") == 3 and "Switch" not in ops and "Merge" not in ops
    assert _agreement(functional["pb0"], functional["logits"]) >= PB_ARGMAX_AGREE


def test_functional_param_scales_match_the_session(functional):
    live = {e["name"]: e for e in functional["params"]}
    filed = {e["name"]: e for e in functional["export0"]["param_dict"]["layers"]}
    for name, entry in live.items():
        assert entry["activation"]["calibrated"] is True
        assert entry["activation"]["scale"] == filed[name]["activation"]["scale"]
        assert entry["weight"]["scale"] == filed[name]["weight"]["scale"]


def test_sequential_model_end_to_end(sequential):
    assert list(sequential["config"]["layer_strategy"]) == ["conv1/Conv2D", "conv2/Conv2D", "hidden/MatMul",
                                                            "logits/MatMul"]
    _check_export(sequential, "keras sequential")
    assert sequential["float_acc"] > 80.0
    assert sequential["ptq_acc"] >= sequential["float_acc"] - 3.0


APPLICATIONS = [("MobileNetV2", {"alpha": 0.35}), ("MobileNet", {"alpha": 0.25}), ("ResNet50", {}),
                ("DenseNet121", {}), ("EfficientNetB0", {})]


@pytest.mark.parametrize(("arch", "kwargs"), APPLICATIONS, ids=[a for a, _ in APPLICATIONS])
def test_keras_application_exports(keras_project, tmp_path, arch, kwargs):
    run = _flow(keras_project, tmp_path, "build_application", {"arch": arch, "size": 32, **kwargs}, calib_batches=2)
    assert run["settled"] > 10
    gd = _check_export(run, f"keras.applications.{arch}")
    assert len(run["config"]["layer_strategy"]) > 20
    assert os.path.getsize(run["export1"]["pb"]) > 0 and len(gd.node) > 100

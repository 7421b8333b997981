"""Every refusal of the TensorFlow back end happens before anything is changed or written."""

import json
import os

import pytest

tf = pytest.importorskip("tensorflow")

from conftest import listing  # noqa: E402
from quantbridge.errors import CheckpointError, ConfigError, ModelError, PathError  # noqa: E402

INT8 = "Quant_INT8-8"


@pytest.fixture(scope="module")
def ex():
    tf.compat.v1.disable_v2_behavior()
    from quantbridge.examples import digits_tf
    return digits_tf


@pytest.fixture(scope="module")
def qtf(ex):
    import quantbridge.tf
    return quantbridge.tf


def _int8(cfg):
    cfg = json.loads(json.dumps(cfg))
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = INT8
    return cfg


@pytest.fixture(scope="module")
def ckpts(ex, qtf, tmp_path_factory):
    """Float, calibrated, uncalibrated and ranges-only checkpoints of the digits model."""
    work = tmp_path_factory.mktemp("tferrors")
    out = {"dir": work}
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        info = ex.build_graph()
        out["config"] = _int8(qtf.build_config(sess))
        ex.train_float(sess, info, epochs=1, progress=lambda *a, **k: None)
        out["float"] = tf.compat.v1.train.Saver().save(sess, str(work / "float.ckpt"))
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        info = ex.build_graph()
        qf, it = tf.compat.v1.placeholder(tf.int32), tf.compat.v1.placeholder(tf.bool)
        qtf.optimize_model(sess, out["config"], it, qf)
        qtf.float_saver(sess).restore(sess, out["float"])
        out["uncalibrated"] = tf.compat.v1.train.Saver().save(sess, str(work / "uncal.ckpt"))
        qtf.set_calibrate_state(sess, True)
        info.update(quant_flag=qf.name, is_train_flag=it.name)
        ex.calibrate(sess, info, progress=lambda *a, **k: None)
        qtf.set_calibrate_state(sess, False)
        out["calibrated"] = tf.compat.v1.train.Saver().save(sess, str(work / "cal.ckpt"))
        out["ranges_only"] = tf.compat.v1.train.Saver(var_list=qtf.quant_variables(sess)[1:]).save(
            sess, str(work / "ranges.ckpt"))
    return out


def _fresh_float(ex):
    graph = tf.Graph()
    sess = tf.compat.v1.Session(graph=graph)
    with graph.as_default():
        ex.build_graph()
    return graph, sess


def _export(ex, qtf, config, ckpt, outputs=("logits",), output_dir=".", **kwargs):
    graph, sess = _fresh_float(ex)
    with graph.as_default(), sess:
        return qtf.generate_final_model(sess, config, list(outputs), ckpt, output_dir, **kwargs)


# ---- optimize_model -------------------------------------------------------------------------

def _optimize_case(ex, qtf, config_edit=None, qf_dtype=tf.int32, it_dtype=tf.bool, qf_shape=None):
    graph, sess = _fresh_float(ex)
    with graph.as_default(), sess:
        cfg = _int8(qtf.build_config(sess))
        if config_edit:
            config_edit(cfg)
        qf = tf.compat.v1.placeholder(qf_dtype, qf_shape)
        it = tf.compat.v1.placeholder(it_dtype)
        before = len(graph.get_operations())
        with pytest.raises((ConfigError, ModelError)) as info:
            qtf.optimize_model(sess, cfg, it, qf)
        assert len(graph.get_operations()) == before       # nothing rewritten
        return info


def test_optimize_unsupported_strategy(ex, qtf):
    info = _optimize_case(ex, qtf, lambda c: c["layer_strategy"]["dw/depthwise"].update(quant_strategy="Quant_INT4-4"))
    assert info.type is ConfigError and "dw/depthwise" in str(info.value) and "Quant_INT4-4" in str(info.value)


def test_optimize_layer_the_graph_lacks(ex, qtf):
    info = _optimize_case(ex, qtf, lambda c: c["layer_strategy"].update(
        {"ghost/Conv2D": {"op_type": "Conv2D", "quant_strategy": INT8}}))
    assert info.type is ConfigError and "ghost/Conv2D" in str(info.value)


def test_optimize_op_type_mismatch(ex, qtf):
    info = _optimize_case(ex, qtf, lambda c: c["layer_strategy"]["fc/MatMul"].update(op_type="Conv2D"))
    assert info.type is ConfigError and "fc/MatMul" in str(info.value)


def test_optimize_refuses_reduce_range_it_cannot_honour(ex, qtf):
    info = _optimize_case(ex, qtf, lambda c: c.update(quantbridge={"reduce_range": True}))
    assert info.type is ConfigError
    assert str(info.value) == ("'quantbridge.reduce_range' is true; the TensorFlow back end has no 7-bit activations "
                               "(expected false or absent; PyTorch models support it)")
    graph, sess = _fresh_float(ex)
    with graph.as_default(), sess:
        cfg = _int8(qtf.build_config(sess))
        cfg["quantbridge"] = {"reduce_range": True}
        with pytest.raises(ConfigError, match="reduce_range"):
            qtf.check_config(sess, cfg)


@pytest.mark.parametrize("enabled", [True, False, None])
def test_integer_kernels_decides_which_layers_requantize(ex, qtf, enabled):
    """The digits CNN's three convolutions each feed a quantized layer through BatchNorm, ReLU,
    max-pool and reshape: with integer kernels (the default) each requantizes its output."""
    graph, sess = _fresh_float(ex)
    with graph.as_default(), sess:
        cfg = _int8(qtf.build_config(sess))
        if enabled is not None:
            cfg["quantbridge"] = {"integer_kernels": enabled}
        summary = qtf.optimize_model(sess, cfg, tf.compat.v1.placeholder(tf.bool), tf.compat.v1.placeholder(tf.int32))
    expected = [] if enabled is False else ["conv1/Conv2D", "dw/depthwise", "pw/Conv2D"]
    assert summary["requantized"] == expected


@pytest.mark.parametrize("kwargs, text", [
    ({"qf_dtype": tf.float32}, "quant_flag"),
    ({"it_dtype": tf.int32}, "is_train_flag"),
    ({"qf_shape": [2]}, "scalar"),
])
def test_optimize_flag_types(ex, qtf, kwargs, text):
    info = _optimize_case(ex, qtf, **kwargs)
    assert info.type is ModelError and text in str(info.value)


def test_optimize_flags_must_be_tensors(ex, qtf):
    graph, sess = _fresh_float(ex)
    with graph.as_default(), sess:
        with pytest.raises(ModelError, match="quant_flag must be a int32 tensor"):
            qtf.optimize_model(sess, _int8(qtf.build_config(sess)), tf.compat.v1.placeholder(tf.bool), 1)


def test_optimize_weight_not_from_a_variable(qtf, ex):
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        a = tf.compat.v1.placeholder(tf.float32, [None, 4], name="a")
        b = tf.compat.v1.placeholder(tf.float32, [4, 3], name="b")
        tf.matmul(a, b * 2.0, name="act_matmul")
        cfg = _int8(qtf.build_config(sess))
        before = len(graph.get_operations())
        with pytest.raises(ModelError, match="act_matmul.*not read from a variable"):
            qtf.optimize_model(sess, cfg, tf.compat.v1.placeholder(tf.bool), tf.compat.v1.placeholder(tf.int32))
        assert len(graph.get_operations()) == before + 2


# ---- generate_final_model -------------------------------------------------------------------

def _expect_nothing_written(tmp_path, call, error, *texts):
    before = listing(tmp_path)
    with pytest.raises(error) as info:
        call()
    assert listing(tmp_path) == before
    for text in texts:
        assert text in str(info.value), str(info.value)
    return info


def test_export_unsupported_strategy(ex, qtf, ckpts, workdir):
    cfg = json.loads(json.dumps(ckpts["config"]))
    cfg["layer_strategy"]["conv1/Conv2D"]["quant_strategy"] = "Quant_INT16-16"
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, cfg, ckpts["calibrated"]), ConfigError,
                            "conv1/Conv2D", "Quant_INT16-16")


def test_export_layer_the_graph_lacks(ex, qtf, ckpts, workdir):
    cfg = json.loads(json.dumps(ckpts["config"]))
    cfg["layer_strategy"]["extra/MatMul"] = {"op_type": "MatMul", "quant_strategy": INT8}
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, cfg, ckpts["calibrated"]), ConfigError,
                            "extra/MatMul")


def test_export_output_names_no_node(ex, qtf, ckpts, workdir):
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], ckpts["calibrated"],
                                                     outputs=["logitz"]),
                            ModelError, "logitz", "'logits'")


@pytest.mark.parametrize("output_dir, text", [("missing_dir", "does not exist"), ("bad-dir", "path rule")])
def test_export_bad_output_dir(ex, qtf, ckpts, workdir, output_dir, text):
    os.mkdir(workdir / "bad-dir")
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], ckpts["calibrated"],
                                                     output_dir=output_dir), PathError, output_dir, text)


def test_export_checkpoint_lacking_model_variables(ex, qtf, ckpts, workdir):
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], ckpts["ranges_only"]),
                            CheckpointError, "model variables", "conv1/kernel")


def test_export_checkpoint_lacking_range_variables(ex, qtf, ckpts, workdir):
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], ckpts["float"]),
                            CheckpointError, "range variables", "conv1/Conv2D/quantbridge/act_min")


def test_export_checkpoint_never_calibrated(ex, qtf, ckpts, workdir):
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], ckpts["uncalibrated"]),
                            CheckpointError, "never set")


def test_export_checkpoint_missing(ex, qtf, ckpts, workdir):
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], str(workdir / "nope.ckpt")),
                            CheckpointError, "cannot read checkpoint")


def test_export_needs_the_float_graph(ex, qtf, ckpts, workdir):
    graph, sess = _fresh_float(ex)
    with graph.as_default(), sess:
        qtf.optimize_model(sess, ckpts["config"], tf.compat.v1.placeholder(tf.bool),
                           tf.compat.v1.placeholder(tf.int32))
        _expect_nothing_written(workdir, lambda: qtf.generate_final_model(
            sess, ckpts["config"], ["logits"], ckpts["calibrated"], "."), ModelError, "ORIGINAL float graph")


def test_export_refuses_to_overwrite(ex, qtf, ckpts, workdir):
    first = _export(ex, qtf, ckpts["config"], ckpts["calibrated"])
    assert sorted(listing(workdir)) == ["model.pb", "model_quant_param.json"]
    _expect_nothing_written(workdir, lambda: _export(ex, qtf, ckpts["config"], ckpts["calibrated"]),
                            PathError, "model.pb")
    again = _export(ex, qtf, ckpts["config"], ckpts["calibrated"], overwrite=True)
    assert again["param_dict"]["model"]["sha256"] == first["param_dict"]["model"]["sha256"]
    assert sorted(listing(workdir)) == ["model.pb", "model_quant_param.json"]      # no temp files left

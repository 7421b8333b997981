"""Damaged, foreign or unrelated TensorFlow checkpoints and unusable calibration batches: each
is one typed error (CheckpointError / DataError, exit 2 on the command line) naming the file or
the data function and batch and what was expected, never a TensorFlow stack of frames.

Driven through ``quantbridge._tf_support.GraphSession``, the object the command line and the
Java API use, on the digits example graph.
"""

import json
import os
import pickle
import zipfile

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from quantbridge.errors import CheckpointError, DataError  # noqa: E402

BUILDER = "quantbridge.examples.digits_tf:build_graph"
INPUT, OUTPUT = "input:0", ["logits"]


def _one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text, text
    assert "Traceback" not in text and "File \"" not in text, text
    return text


@pytest.fixture(scope="module")
def support():
    tf.compat.v1.disable_v2_behavior()
    from quantbridge import _tf_support
    return _tf_support


@pytest.fixture(scope="module")
def config(support):
    session = support.open_session(BUILDER)
    try:
        from quantbridge.tf import build_config
        cfg = build_config(session.sess)
    finally:
        session.close()
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    return cfg


@pytest.fixture(scope="module")
def ckpts(support, config, tmp_path_factory):
    """A float checkpoint, a calibrated one, and one of an unrelated graph."""
    work = tmp_path_factory.mktemp("tfckpt")
    session = support.open_session(BUILDER)
    session.initialize()
    floats = session.save(str(work / "float.ckpt"))
    session.close()
    session = support.open_session(BUILDER)
    session.optimize(config)
    session.restore_float(floats)
    from quantbridge.examples import digits_tf
    session.calibrate(digits_tf.calibration_batches()[:2], INPUT, OUTPUT)
    quant = session.save(str(work / "quant.ckpt"))
    session.close()
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:
        tf.compat.v1.get_variable("encoder/w", [3, 3], initializer=tf.compat.v1.ones_initializer())
        sess.run(tf.compat.v1.global_variables_initializer())
        other = tf.compat.v1.train.Saver().save(sess, str(work / "other.ckpt"), write_meta_graph=False)
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as sess:     # same names, other shapes
        x = tf.compat.v1.placeholder(tf.float32, [None, 8, 8, 1], name="input")
        tf.compat.v1.layers.conv2d(x, 4, 5, use_bias=False, name="conv1")
        sess.run(tf.compat.v1.global_variables_initializer())
        shapes = tf.compat.v1.train.Saver().save(sess, str(work / "shapes.ckpt"), write_meta_graph=False)
    return {"dir": work, "float": floats, "quant": quant, "other": other, "shapes": shapes}


@pytest.fixture
def rewritten(support, config):
    """A session over the digits graph rewritten with the all-INT8 config, closed afterwards."""
    session = support.open_session(BUILDER)
    session.optimize(config)
    yield session
    session.close()


def _copy(prefix, dest):
    """A copy of checkpoint ``prefix`` as ``dest`` (every file of it); returns the new prefix."""
    folder, stem = os.path.split(prefix)
    for name in os.listdir(folder):
        if name.startswith(os.path.basename(prefix) + "."):
            with open(os.path.join(folder, name), "rb") as src, \
                    open(str(dest) + name[len(stem):], "wb") as out:
                out.write(src.read())
    return str(dest)


def _data_file(prefix):
    return next(str(prefix) + name[len(os.path.basename(prefix)):] for name in os.listdir(os.path.dirname(prefix))
                if name.startswith(os.path.basename(prefix) + ".data"))


def _damage(kind, prefix, work, label="float"):
    """A damaged or foreign copy of checkpoint ``prefix`` at a new prefix in ``work``."""
    target = _copy(prefix, work / f"{label}_{kind}.ckpt")
    index, data = target + ".index", _data_file(target)
    if kind == "empty_index":
        open(index, "wb").close()
    elif kind == "truncated_index":
        with open(index, "rb") as fh:
            head = fh.read()
        with open(index, "wb") as fh:
            fh.write(head[: len(head) // 2])
    elif kind == "random_index":
        with open(index, "wb") as fh:
            fh.write(np.random.RandomState(0).bytes(512))
    elif kind == "truncated_data":
        with open(data, "rb") as fh:
            head = fh.read()
        with open(data, "wb") as fh:
            fh.write(head[: len(head) // 3])
    elif kind == "missing_data":
        os.unlink(data)
    elif kind == "torch_pth":                     # what torch.save (>= 1.6) writes: a zip of pickles
        os.unlink(data)
        with zipfile.ZipFile(index, "w") as zf:
            zf.writestr("archive/data.pkl", pickle.dumps({"conv1.weight": [0.0]}))
    elif kind == "pickle":
        os.unlink(data)
        with open(index, "wb") as fh:
            pickle.dump({"conv1.weight": [0.0]}, fh, protocol=2)
    return target


DAMAGED = {
    "empty_index": "is empty, not a TensorFlow checkpoint",
    "truncated_index": "cannot read",
    "random_index": "cannot read",
    "truncated_data": "damaged or truncated",
    "missing_data": "cannot",
    "torch_pth": "zip archive, as torch.save writes",
    "pickle": "Python pickle",
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
def test_damaged_float_checkpoint(rewritten, ckpts, kind):
    bad = _damage(kind, ckpts["float"], ckpts["dir"])
    with pytest.raises(CheckpointError) as err:
        rewritten.restore_float(bad)
    text = _one_line(err)
    assert bad in text and DAMAGED[kind] in text, text


@pytest.mark.parametrize("kind", ["truncated_data", "random_index"])
def test_damaged_quant_checkpoint(rewritten, ckpts, kind):
    bad = _damage(kind, ckpts["quant"], ckpts["dir"], "quant")
    with pytest.raises(CheckpointError) as err:
        rewritten.restore(bad)
    assert bad in _one_line(err)


def test_another_models_checkpoint(rewritten, ckpts):
    with pytest.raises(CheckpointError) as err:
        rewritten.restore_float(ckpts["other"])
    text = _one_line(err)
    assert "belongs to another model" in text and "bn1/beta" in text and "encoder/w" in text, text
    with pytest.raises(CheckpointError) as err:
        rewritten.restore_float(ckpts["shapes"])
    text = _one_line(err)
    assert "does not fit the graph" in text and "conv1/kernel: graph [3, 3, 1, 16], checkpoint [5, 5, 1, 4]" in text, \
        text


def test_float_checkpoint_where_the_quantized_one_belongs(rewritten, ckpts):
    with pytest.raises(CheckpointError) as err:
        rewritten.restore(ckpts["float"])
    text = _one_line(err)
    assert "no activation ranges" in text and "conv1/Conv2D" in text and "another config" in text, text


def test_export_from_a_truncated_checkpoint(support, config, ckpts, tmp_path, monkeypatch):
    import quantbridge.tf as qtf

    bad = _damage("truncated_data", ckpts["quant"], ckpts["dir"], "export")
    monkeypatch.chdir(tmp_path)
    session = support.open_session(BUILDER)
    try:
        with pytest.raises(CheckpointError) as err:
            qtf.generate_final_model(session.sess, config, OUTPUT, bad, ".")
    finally:
        session.close()
    assert bad in _one_line(err)
    assert os.listdir(tmp_path) == []


def _x(n=4, shape=(8, 8, 1), dtype=np.float32):
    return np.random.RandomState(0).randn(n, *shape).astype(dtype)


BAD_BATCHES = {
    "none": ([_x(), None], "batch 2 is None; expected an array of shape (?, 8, 8, 1) (float32) for input 'input:0'"),
    "wrong_rank": ([_x(shape=(8, 8))], "batch 1 has shape (4, 8, 8) (rank 3); expected an array of shape "
                                       "(?, 8, 8, 1)"),
    "wrong_size": ([_x(shape=(16, 16, 1))], "batch 1 has shape (4, 16, 16, 1); expected"),
    "float16": ([_x(dtype=np.float16)], "batch 1 holds float16; expected an array of shape (?, 8, 8, 1) (float32)"),
    "strings": ([np.array([["a"]])], "batch 1 holds str"),
    "empty_batch": ([_x(n=0)], "batch 1 is empty (shape (0, 8, 8, 1)); expected"),
    "empty_tuple": ([()], "batch 1 is an empty tuple"),
    "objects": ([[{"x": 1}]], "batch 1 holds objects (dict)"),
    "no_batches": ([], "yielded no batches"),
    "not_iterable": (7, "returned int; expected an iterable of batches"),
}


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_unusable_calibration_batches(rewritten, ckpts, case):
    from quantbridge.tf._rewrite import state_of

    batches, text = BAD_BATCHES[case]
    rewritten.restore_float(ckpts["float"])
    with pytest.raises(DataError) as err:
        rewritten.calibrate(batches, INPUT, OUTPUT, source="mine.data:batches")
    message = _one_line(err)
    assert message.startswith("data function mine.data:batches") and text in message, message
    assert not state_of(rewritten.sess).calibrating      # never entered, or left again


def test_float64_and_integer_batches_are_cast(rewritten, ckpts):
    rewritten.restore_float(ckpts["float"])
    assert rewritten.calibrate([_x(dtype=np.float64), (np.ones((2, 8, 8, 1), np.int64), None)], INPUT, OUTPUT) == 2


def test_an_interrupted_calibration_keeps_its_own_error(rewritten, ckpts, monkeypatch):
    """An error raised while the batches run (here a KeyboardInterrupt at the first progress
    event) is what the caller sees, not a later 'collected no range' from finalising the ranges;
    calibration mode is left."""
    from quantbridge import _tf_support
    from quantbridge.tf._rewrite import state_of

    rewritten.restore_float(ckpts["float"])

    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_tf_support.qb_progress, "emit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        rewritten.calibrate([_x(), _x()], INPUT, OUTPUT)
    assert not state_of(rewritten.sess).calibrating

"""TensorFlow checkpoints holding NaN are refused on restore, and a session holding NaN is never saved."""

import os

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from quantbridge._tf_support import GraphSession  # noqa: E402
from quantbridge.errors import CheckpointError, DivergedError  # noqa: E402

BUILDER = "quantbridge.examples.digits_tf:build_graph"


def _float_checkpoint(prefix, poison=False):
    """A float checkpoint of the example graph; with ``poison``, its first kernel holds a NaN.
    Returns ``(prefix, name of the poisoned variable or None)``."""
    tf.compat.v1.disable_v2_behavior()
    from quantbridge.examples import digits_tf
    name = None
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        digits_tf.build_graph()
        sess.run(tf.compat.v1.global_variables_initializer())
        if poison:
            kernel = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("kernel")][0]
            value = sess.run(kernel)
            value.flat[0] = np.nan
            kernel.load(value, sess)
            name = kernel.op.name
        return tf.compat.v1.train.Saver().save(sess, str(prefix), write_meta_graph=False), name


def _session(config_all_int8=True):
    session = GraphSession(BUILDER)
    from quantbridge.tf import build_config
    cfg = build_config(session.sess)
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    session.optimize(cfg)
    return session


def test_a_float_checkpoint_with_nan_is_refused_naming_the_variable(workdir):
    prefix, name = _float_checkpoint("nan.ckpt", poison=True)
    session = _session()
    try:
        with pytest.raises(CheckpointError, match=rf"float checkpoint 'nan.ckpt': variable '{name}' has 1 NaN"):
            session.restore_float(prefix)
    finally:
        session.close()


def test_a_session_holding_nan_is_not_saved_and_the_old_checkpoint_stays(workdir):
    prefix, _ = _float_checkpoint("float.ckpt")
    session = _session()
    try:
        session.restore_float(prefix)
        saved = session.save("quant.ckpt")
        before = {f: open(f, "rb").read() for f in os.listdir(".") if f.startswith("quant.ckpt")}
        with session.graph.as_default():
            kernel = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith("kernel")][0]
            value = session.sess.run(kernel)
            value.flat[:] = np.inf
            kernel.load(value, session.sess)
        with pytest.raises(DivergedError, match=r"refusing to write the checkpoint 'quant.ckpt'.*Inf"):
            session.save("quant.ckpt")
        assert saved.endswith("quant.ckpt")
        assert {f: open(f, "rb").read() for f in os.listdir(".") if f.startswith("quant.ckpt")} == before
    finally:
        session.close()

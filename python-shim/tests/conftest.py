"""Shared fixtures. Framework imports stay inside the fixtures so that TensorFlow tests
never import torch (and the other way round)."""

import contextlib
import os

import pytest


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh current directory. pytest's tmp_path contains '-' (breaking the vendor's path
    rule for absolute paths), so tests chdir here and use relative paths."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def torch_threads():
    import torch
    torch.set_num_threads(2)
    return torch


@pytest.fixture(scope="session")
def digits_float(torch_threads):
    """``(float state_dict, float top-1 %)`` of the digits example trained once per session."""
    from quantbridge.examples import digits_torch

    model = digits_torch.build_model()
    digits_torch.train_float(model, progress=lambda *a, **k: None)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    return state, digits_torch.evaluate(model)


@pytest.fixture
def digits_model(digits_float):
    """A fresh digits model with the trained float weights."""
    from quantbridge.examples import digits_torch

    model = digits_torch.build_model()
    model.load_state_dict(digits_float[0])
    return model.eval()


def all_int8(cfg, method=None):
    """``cfg`` with every layer switched to Quant_INT8-8 (and the calibration method, if given)."""
    for entry in cfg["layer_strategy"].values():
        entry["quant_strategy"] = "Quant_INT8-8"
    if method is not None:
        cfg["quantbridge"] = {"calibration": {"method": method}}
    return cfg


def listing(path):
    """Every file under ``path`` with its bytes (to prove that nothing was written)."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as fh:
                out[os.path.relpath(full, path)] = fh.read()
    return out


@contextlib.contextmanager
def cwd(path):
    """Run the block with ``path`` as the working directory (Python 3.10 has no contextlib.chdir)."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def qtf():
    """``quantbridge.tf``, imported only by the TensorFlow tests that ask for it."""
    import quantbridge.tf
    return quantbridge.tf


def tf_var(name, shape, seed):
    """A ``tf.compat.v1`` variable of normal(0, 0.5) values, seeded."""
    import tensorflow as tf
    return tf.compat.v1.get_variable(name, shape, initializer=tf.compat.v1.random_normal_initializer(0, 0.5, seed))

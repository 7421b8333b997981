"""The Java unit tests' ONNX fixtures are what the generator makes today.

``make_java_fixtures.py residual_cnn`` regenerates ``residual_cnn.onnx``, its parameter file and
its input/output pair; a change to the export or the quantization math that changes them fails
here until the fixtures are regenerated (and the Java tests run on the new ones). The
``shared_conv`` and ``shared_head`` fixtures are version-1 parameter files, kept as they are on
purpose: they test that old files stay readable.

The comparison is exact for everything but float values: the generator trains a small model, and
torch's float kernels take other vector paths on other CPUs (AVX2 or AVX-512), so weights and
scales made on another machine differ in their last bits (about 1e-8 relative) and so does the
model's SHA-256. A float value may differ by 1e-6 relative to the largest magnitude of its tensor
(ONNX) or to itself (JSON); anything the generator's code decides (graph, names, shapes, types,
points, zero points, int32 marks) must be equal.
"""

import json
import os

import numpy as np
import pytest

pytest.importorskip("torch")

import make_java_fixtures  # noqa: E402

REL = 1e-6
HINT = "differs from what python-shim/tests/make_java_fixtures.py writes today; run it with '{}' and commit the result"


def _same_onnx(new, committed, name):
    import onnx
    from onnx import numpy_helper
    a, b = onnx.load(new), onnx.load(committed)
    assert list(a.graph.node) == list(b.graph.node), "graph nodes " + HINT.format(name)
    assert [(v.name, v.type) for v in a.graph.input] == [(v.name, v.type) for v in b.graph.input]
    assert [(v.name, v.type) for v in a.graph.output] == [(v.name, v.type) for v in b.graph.output]
    ta = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}
    tb = {t.name: numpy_helper.to_array(t) for t in b.graph.initializer}
    assert sorted(ta) == sorted(tb), "initializer names " + HINT.format(name)
    for key, x in ta.items():
        y = tb[key]
        assert (x.dtype, x.shape) == (y.dtype, y.shape), f"initializer {key} " + HINT.format(name)
        if np.issubdtype(x.dtype, np.floating):
            scale = max(float(np.abs(y).max()), 1e-30)
            assert float(np.abs(x.astype(np.float64) - y).max()) <= REL * scale, f"initializer {key} " + HINT.format(name)
        else:
            assert np.array_equal(x, y), f"initializer {key} " + HINT.format(name)


def _same_json(a, b, path, name):
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{path}: keys " + HINT.format(name)
        for key in a:
            if path == "" and key == "model":       # the float model's SHA-256 follows its bytes
                a_model = {k: v for k, v in a[key].items() if k != "sha256"}
                b_model = {k: v for k, v in b[key].items() if k != "sha256"}
                _same_json(a_model, b_model, "/model", name)
            else:
                _same_json(a[key], b[key], f"{path}/{key}", name)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: length " + HINT.format(name)
        for i, (x, y) in enumerate(zip(a, b)):
            _same_json(x, y, f"{path}[{i}]", name)
    elif isinstance(a, float) and isinstance(b, float):
        assert abs(a - b) <= REL * max(abs(b), 1e-30), f"{path}: {a} vs {b} " + HINT.format(name)
    else:
        assert type(a) is type(b) and a == b, f"{path}: {a!r} vs {b!r} " + HINT.format(name)


@pytest.mark.parametrize("name", ["residual_cnn"])
def test_fixture_is_current(name, tmp_path):
    make_java_fixtures.main([name], str(tmp_path))
    _same_onnx(str(tmp_path / f"{name}.onnx"), os.path.join(make_java_fixtures.OUT, f"{name}.onnx"), name)
    for file in (f"{name}_quant_param.json", f"{name}_io.json"):
        with open(tmp_path / file, encoding="utf-8") as f:
            new = json.load(f)
        with open(os.path.join(make_java_fixtures.OUT, file), encoding="utf-8") as f:
            committed = json.load(f)
        _same_json(new, committed, "", name)

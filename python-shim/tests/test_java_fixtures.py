"""The Java unit tests' ONNX fixtures are what the generator makes today.

``make_java_fixtures.py residual_cnn`` regenerates ``residual_cnn.onnx``, its parameter file and
its input/output pair; a change to the export or the quantization math that changes them fails
here until the fixtures are regenerated (and the Java tests run on the new ones). The
``shared_conv`` and ``shared_head`` fixtures are version-1 parameter files, kept as they are on
purpose: they test that old files stay readable.
"""

import filecmp
import os

import pytest

pytest.importorskip("torch")

import make_java_fixtures  # noqa: E402


@pytest.mark.parametrize("name", ["residual_cnn"])
def test_fixture_is_current(name, tmp_path):
    make_java_fixtures.main([name], str(tmp_path))
    for file in (f"{name}.onnx", f"{name}_quant_param.json", f"{name}_io.json"):
        committed = os.path.join(make_java_fixtures.OUT, file)
        assert filecmp.cmp(str(tmp_path / file), committed, shallow=False), (
            f"{file} differs from what python-shim/tests/make_java_fixtures.py writes today; "
            f"run it with '{name}' and commit the result")

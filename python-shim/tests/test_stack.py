"""The pinned stack holds together: torch and TensorFlow in one process (both orders, each in
its own subprocess) and onnx/onnxruntime on protobuf 3.20.3 next to TensorFlow 2.8, with tf2onnx
converting a TF graph that ONNX Runtime runs."""

import subprocess
import sys

import pytest

SNIPPET = {
    "torch": "import torch; m = torch.nn.Linear(4, 2); assert m(torch.ones(1, 4)).shape == (1, 2)",
    "tf": "import tensorflow as tf; assert tf.keras.layers.Dense(2)(tf.ones((1, 4))).shape == (1, 2)",
}

ROUND_TRIP = r"""
import io, numpy as np, tensorflow as tf, torch, onnx, onnxruntime as ort, google.protobuf
assert google.protobuf.__version__.startswith("3.20"), google.protobuf.__version__
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 6 * 6, 4)).eval()
buf = io.BytesIO()
torch.onnx.export(model, torch.ones(1, 1, 8, 8), buf, opset_version=13, input_names=["x"])
proto = onnx.load_from_string(buf.getvalue())
onnx.checker.check_model(proto)
sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
x = np.random.default_rng(0).normal(size=(1, 1, 8, 8)).astype(np.float32)
ref = model(torch.from_numpy(x)).detach().numpy()
np.testing.assert_allclose(sess.run(None, {"x": x})[0], ref, atol=1e-5)
g = tf.Graph()
with g.as_default():
    tf.constant(1.0, name="c")
assert g.as_graph_def().node[0].name == "c"
import tf2onnx  # TF -> ONNX for the TensorFlow INT8 export; needs flatbuffers < 3 beside TF 2.8's >= 1.12
w = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
g = tf.Graph()
with g.as_default():
    xt = tf.compat.v1.placeholder(tf.float32, [None, 4], name="xt")
    tf.identity(tf.matmul(xt, tf.constant(w)), name="yt")
converted, _ = tf2onnx.convert.from_graph_def(g.as_graph_def(), input_names=["xt:0"], output_names=["yt:0"], opset=13)
xs = np.ones((2, 4), np.float32)
got = ort.InferenceSession(converted.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"xt:0": xs})[0]
np.testing.assert_allclose(got, xs @ w, rtol=1e-5)
print("round trip ok")
"""


@pytest.mark.parametrize("order", [("torch", "tf"), ("tf", "torch")])
def test_both_frameworks_in_one_process(order):
    code = "; ".join(SNIPPET[name] for name in order)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_onnx_round_trip_beside_tensorflow():
    result = subprocess.run([sys.executable, "-c", ROUND_TRIP], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "round trip ok" in result.stdout

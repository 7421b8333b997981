"""TensorFlow graphs with more than one placeholder: QuantBridge's steps feed a model through one
input, so a second input without a default is refused when the graph is opened (one ModelError
line, exit 2 on the command line, before any step runs), and one with a default stays an optional
input of the float ONNX (constant default) or computes its default there (a default computed from
the input), as the quantized session and the .pb do."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")
ort = pytest.importorskip("onnxruntime")

from quantbridge.errors import ModelError  # noqa: E402


@pytest.fixture(scope="module")
def support():
    tf.compat.v1.disable_v2_behavior()
    from quantbridge import _tf_support
    return _tf_support


def two_inputs(mask="plain", flag=False):
    """``images`` [N,4] and ``mask`` [N,4] (no default, a constant default, or one computed from
    ``images``) -> matmul -> ``logits``; with ``flag`` a scalar bool placeholder without default
    (a mode switch, frozen at export) on the path too."""
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="images")
    if mask == "plain":
        m = tf.compat.v1.placeholder(tf.float32, [None, 4], name="mask")
    elif mask == "const":
        m = tf.compat.v1.placeholder_with_default(tf.ones([1, 4]) * 2.0, [None, 4], name="mask")
    else:
        m = tf.compat.v1.placeholder_with_default(tf.ones_like(x) * 3.0, [None, 4], name="mask")
    h = x * m
    if flag:
        training = tf.compat.v1.placeholder(tf.bool, [], name="training")
        h = tf.where(training, h * 2.0, h)
    w = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3) / 10.0)
    return {"input": x.name, "output": tf.identity(tf.matmul(h, w), name="logits").name}


def _one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text, text
    return text


def test_a_second_input_without_a_default_is_one_model_error_naming_it(support):
    session = support.open_session("test_tf_inputs:two_inputs")
    try:
        with pytest.raises(ModelError) as exc:
            session.check_names("images:0", ["logits"])
        text = _one_line(exc)
        assert "['mask']" in text and "'images:0'" in text and "placeholder_with_default" in text, text
        # the other input named as the one to feed: now 'images' is the unfed one
        with pytest.raises(ModelError, match=r"\['images'\]"):
            session.check_names("mask", ["logits"])
    finally:
        session.close()


@pytest.mark.parametrize("mask", ["const", "computed"])
def test_an_input_with_a_default_is_not_an_input_to_feed(support, mask):
    session = support.open_session("test_tf_inputs:two_inputs", {"mask": mask})
    try:
        session.check_names("images:0", ["logits"])
        assert support.required_inputs(session.graph, ["logits"]) == ["images"]
    finally:
        session.close()


def test_a_mode_switch_without_a_default_is_refused_too(support):
    session = support.open_session("test_tf_inputs:two_inputs", {"mask": "const", "flag": True})
    try:
        with pytest.raises(ModelError, match=r"\['training'\]"):
            session.check_names("images:0", ["logits"])
    finally:
        session.close()


@pytest.mark.parametrize("mask,inputs", [("const", ["images", "mask"]), ("computed", ["images"])])
def test_a_defaulted_input_keeps_its_default_in_the_float_onnx(support, mask, inputs):
    import onnx

    from quantbridge.tf._onnx import to_onnx

    graph = tf.Graph()
    with graph.as_default():
        info = two_inputs(mask)
    x = np.random.RandomState(0).randn(5, 4).astype(np.float32)
    with tf.compat.v1.Session(graph=graph) as sess:
        want = sess.run(info["output"], {info["input"]: x})
    model = onnx.load_from_string(to_onnx(graph.as_graph_def(), ["logits"]))
    assert [i.name for i in model.graph.input] == inputs          # no ':0', as the parameter file names them
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options)
    assert [i.name for i in session.get_inputs()] == ["images"]   # the default needs no feed
    np.testing.assert_allclose(session.run(None, {"images": x})[0], want, rtol=1e-6)
    if mask == "const":
        got = session.run(None, {"images": x, "mask": np.full_like(x, 5.0)})[0]
        with tf.compat.v1.Session(graph=graph) as sess:
            fed = sess.run(info["output"], {info["input"]: x, "mask:0": np.full_like(x, 5.0)})
        np.testing.assert_allclose(got, fed, rtol=1e-6)

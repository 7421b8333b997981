"""The bridge Java calls, exercised from plain Python (no JVM needed)."""

import numpy as np
import pytest

from quantbridge import _bridge, progress
from quantbridge.errors import UserExit


def test_plain_values_and_handles():
    assert _bridge.call("operator:add", [2, 3]) == 5
    handle = _bridge.call("collections:deque", [[1, 2, 2]])
    assert set(handle) == {"__qb_handle__", "__qb_type__", "__qb_repr__"}
    ref = {"__qb_handle__": handle["__qb_handle__"]}
    assert _bridge.call_method(handle["__qb_handle__"], "count", [2]) == 2
    assert _bridge.call("builtins:len", [ref]) == 3
    before = _bridge.live_handles()
    _bridge.release(handle["__qb_handle__"])
    assert _bridge.live_handles() == before - 1
    with pytest.raises(ValueError, match="was released"):
        _bridge.call("builtins:len", [ref])


def test_numpy_scalars_and_arrays():
    assert _bridge.call("numpy:float32", [1.5]) == 1.5
    arr = _bridge.call("numpy:arange", [3])
    assert isinstance(arr, np.ndarray) and arr.tolist() == [0, 1, 2]


def test_errors_are_recorded_with_traceback():
    with pytest.raises(ZeroDivisionError):
        _bridge.call("operator:truediv", [1, 0])
    err = _bridge.last_error()
    assert err["type"] == "ZeroDivisionError"
    assert "Traceback" in err["traceback"]


def test_sys_exit_becomes_user_exit():
    with pytest.raises(UserExit, match=r"sys.exit\(2\)"):
        _bridge.call("sys:exit", [2])
    with pytest.raises(UserExit):
        _bridge.run_code("import sys; sys.exit()")


def test_bad_target():
    with pytest.raises(ValueError, match="expected 'package.module:function'"):
        _bridge.call("operator.add", [1, 2])


def test_progress_listener_receives_json():
    seen = []

    class Listener:
        def onEvent(self, text):  # noqa: N802 (Java method name)
            seen.append(text)

    def work():
        progress.emit("calibrate", 1, 2, loss=0.5)
        return 1

    _bridge._objects[-1] = work
    assert _bridge.call_method(-1, "__call__", [], {}, Listener()) == 1
    del _bridge._objects[-1]
    assert '"phase": "calibrate"' in seen[0] and '"loss": 0.5' in seen[0]


def test_listener_answer_stops_the_call_through_except_exception():
    from quantbridge.errors import Cancelled

    steps = []

    class Listener:
        def onEvent(self, text):  # noqa: N802 (Java method name)
            return "the caller was interrupted" if len(steps) >= 3 else None

    def user_loop():
        for i in range(100):
            try:
                steps.append(i)
                progress.emit("train", i, 100)
            except Exception:  # noqa: BLE001 - user code that swallows errors must still stop
                pass
        return "finished"

    _bridge._objects[-2] = user_loop
    with pytest.raises(Cancelled, match="the caller was interrupted"):
        _bridge.call_method(-2, "__call__", [], {}, Listener())
    del _bridge._objects[-2]
    assert steps == [0, 1, 2], "the loop ended at the event that was answered with a stop"
    assert _bridge.last_error()["type"] == "quantbridge.errors.Cancelled"


def test_a_tensorflow_op_error_is_one_line_naming_the_node():
    # TensorFlow's text of a failed op repeats the stack where the op was made (dozens of lines);
    # the CLI prints the recorded message as its one error line
    tf = pytest.importorskip("tensorflow")

    def run():       # TensorFlow's CPU kernels have no NCHW convolution
        with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
            x = tf.compat.v1.placeholder(tf.float32, [None, 1, 4, 4])
            y = tf.nn.conv2d(x, tf.ones([3, 3, 1, 2]), [1, 1, 1, 1], "SAME", data_format="NCHW", name="nchw")
            sess.run(y, {x: np.zeros([1, 1, 4, 4], np.float32)})

    with pytest.raises(tf.errors.OpError):
        _bridge._guarded(run, [], {}, None)
    err = _bridge.last_error()
    assert "\n" not in err["message"], err["message"]
    assert err["message"].startswith("node 'nchw' (Conv2D): ") and "NHWC" in err["message"], err["message"]
    assert "Traceback" in err["traceback"]

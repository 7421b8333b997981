"""The one entry point the Java runtime calls (through JEP, on its owner thread).

Java passes plain values (numbers, strings, lists, maps, numpy arrays) and
handles; Python objects that have no plain Java form stay here, in a registry,
and travel to Java as handles. Every failure is recorded with its Python type,
message and traceback so that Java can raise one typed exception, and
``sys.exit`` or ``os._exit`` in user code becomes an exception instead of ending the JVM.

Java ends the process on Ctrl-C through :func:`exit_fd`: a daemon thread waits on a pipe and
calls the real ``os._exit`` with the code Java writes there, so no C++ destructor of torch or
TensorFlow runs while another thread is still inside them.
"""

import ctypes
import importlib
import itertools
import json
import os
import sys
import sysconfig
import threading
import traceback

from quantbridge import _logging, progress
from quantbridge.common.targets import resolve_target
from quantbridge.errors import Cancelled, UserExit

_HANDLE = "__qb_handle__"
_objects = {}
_ids = itertools.count(1)
_last_error = None
_real_os_exit = os._exit
_exit_pipe = None


class _OsExit(SystemExit):
    """What ``os._exit`` raises inside the JVM (it would end the whole process)."""


def _os_exit_guard(status):
    raise _OsExit(status)


def bootstrap(paths):
    """Prepare the interpreter once: global libpython symbols, argv, extra sys.path entries."""
    libdir = sysconfig.get_config_var("LIBDIR")
    for name in ("libpython3.10.so.1.0", "libpython3.10.so"):
        candidate = os.path.join(libdir or "", name)
        if os.path.exists(candidate):
            # Promote the already loaded libpython to RTLD_GLOBAL so that extension
            # modules (TensorFlow's among them) resolve PyExc_* and friends.
            ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
            break
    # Inside the JVM the vendor's path rule is off: Java checks the user's own paths, and only
    # when asked (--vendor-names); the shim writes into staging directories of any name.
    from quantbridge.common.paths import set_vendor_rule
    set_vendor_rule(False)
    # TensorFlow's C++ start-up chatter is not for QuantBridge users; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not getattr(sys, "argv", None):
        sys.argv = ["quantbridge"]
    os._exit = _os_exit_guard
    add_paths(paths)
    return {"python": sys.version.split()[0], "prefix": sys.prefix, "executable": sys.executable}


def exit_fd():
    """The write end of a pipe: one byte written there ends the process with that exit code,
    at once and without running any destructor (``os._exit``). Created once."""
    global _exit_pipe
    if _exit_pipe is None:
        read_end, write_end = os.pipe()

        def wait_and_exit():
            data = os.read(read_end, 1)
            _real_os_exit(data[0] if data else 1)

        threading.Thread(target=wait_and_exit, name="quantbridge-exit", daemon=True).start()
        _exit_pipe = write_end
    return _exit_pipe


def add_paths(paths):
    for path in paths or []:
        path = os.path.abspath(str(path))
        if path not in sys.path:
            sys.path.insert(0, path)
    importlib.invalidate_caches()


def _is_java(value):
    return (type(value).__module__ or "").startswith("java.")


def _resolve(value):
    if _is_java(value):
        # Java collections arrive as jep proxies: turn them into real dicts and lists.
        if hasattr(value, "keySet"):
            value = {str(k): value.get(k) for k in value.keySet()}
        elif hasattr(value, "iterator") and hasattr(value, "size"):
            value = list(value)
    if isinstance(value, dict):
        if _HANDLE in value and len(value) == 1:
            key = int(value[_HANDLE])
            if key not in _objects:
                raise ValueError(f"Python object handle {key} was released or never existed")
            return _objects[key]
        return {str(k): _resolve(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_resolve(v) for v in value]
    return value


def _export(value):
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    module = type(value).__module__ or ""
    if module == "numpy":
        if hasattr(value, "shape") and getattr(value, "ndim", 0) > 0:
            return value
        return value.item()
    if module.startswith("torch") and hasattr(value, "detach") and hasattr(value, "numpy"):
        array = value.detach().cpu().numpy()
        return array if array.ndim > 0 else array.item()
    if isinstance(value, (list, tuple)):
        return [_export(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _export(v) for k, v in value.items()}
    key = next(_ids)
    _objects[key] = value
    return {_HANDLE: key, "__qb_type__": f"{module}.{type(value).__qualname__}",
            "__qb_repr__": repr(value)[:300]}


def _guarded(fn, args, kwargs, listener):
    global _last_error
    _last_error = None
    try:
        args = _resolve(list(args or []))
        kwargs = _resolve(dict(kwargs or {}))
        if listener is not None:
            with progress.sink(lambda event: _forward(listener, event)):
                result = fn(*args, **kwargs)
        else:
            result = fn(*args, **kwargs)
        return _export(result)
    except SystemExit as exc:
        called = "os._exit" if isinstance(exc, _OsExit) else "sys.exit"
        error = UserExit(f"user code called {called}({exc.code!r}); the embedded interpreter "
                         "cannot exit, so the call was stopped instead")
        _record(error, traceback.format_exc())
        raise error from None
    except BaseException as exc:
        _record(exc, traceback.format_exc())
        raise
    finally:
        _logging.flush()


def _forward(listener, event):
    """Hand one event to Java; a non-empty answer is the reason to stop the call right here."""
    stop = listener.onEvent(json.dumps(event))
    if stop:
        raise Cancelled(str(stop))


def _message(exc):
    """``str(exc)``, except for a TensorFlow op error (``tf.errors.OpError``: a ``node_def`` and an
    ``error_code``), whose text carries the stack of the op's creation twice: there, the node and
    what TensorFlow said about it, on one line (the stacks stay in the traceback)."""
    text = str(exc)
    node = getattr(exc, "node_def", None)
    if node is None or not hasattr(exc, "error_code") or not getattr(node, "name", ""):
        return text
    body = text.split("\n\nOriginal stack trace for", 1)[0].splitlines()
    marks = [i for i, line in enumerate(body) if line.startswith("Node: '")]
    said = body[marks[-1] + 1:] if marks else body
    said = [line.strip() for line in said if line.strip() and not line.lstrip().startswith("[[")
            and not line.startswith((" ", "\t")) and line.strip() != "Graph execution error:"]
    return f"node {node.name!r} ({node.op}): {' '.join(said) or text.splitlines()[0]}"


def _record(exc, formatted):
    global _last_error
    cls = type(exc)
    _last_error = {"type": f"{cls.__module__}.{cls.__qualname__}".replace("builtins.", ""),
                   "message": _message(exc), "traceback": formatted}


def call(target, args=None, kwargs=None, listener=None):
    """Call ``package.module:function`` with resolved arguments."""
    return _guarded(lambda *a, **k: resolve_target(target)(*a, **k), args, kwargs, listener)


def call_method(handle, method, args=None, kwargs=None, listener=None):
    """Call ``method`` of the object behind ``handle``."""
    return _guarded(lambda *a, **k: getattr(_objects[int(handle)], method)(*a, **k), args, kwargs, listener)


def get_attr(handle, name):
    return _guarded(lambda: getattr(_objects[int(handle)], name), [], {}, None)


def run_code(source, scope_name="__main__"):
    """Execute Python source in a module's namespace (guarded like every call)."""
    def run():
        scope = sys.modules[scope_name].__dict__ if scope_name in sys.modules else {}
        exec(compile(source, "<quantbridge>", "exec"), scope)
    return _guarded(run, [], {}, None)


def release(handle):
    _objects.pop(int(handle), None)


def live_handles():
    return len(_objects)


def last_error():
    return _last_error

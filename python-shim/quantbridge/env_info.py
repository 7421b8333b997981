"""Versions of the stack as seen from this interpreter (used by ``./quantbridge doctor``)."""

import importlib
import sys

__all__ = ["versions"]

_MODULES = {
    "numpy": "numpy",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "protobuf": "google.protobuf",
    "scikit-learn": "sklearn",
}


def versions(import_frameworks=True):
    """Return ``{name: version or 'missing: <error>'}`` plus python and jep details."""
    out = {"python": sys.version.split()[0], "python_prefix": sys.prefix}
    for name, module in _MODULES.items():
        if not import_frameworks and name in ("torch", "tensorflow"):
            continue
        try:
            mod = importlib.import_module(module)
            out[name] = str(getattr(mod, "__version__", "unknown"))
        except Exception as exc:  # report, never raise: doctor must print everything
            out[name] = f"missing: {type(exc).__name__}: {exc}"
    # tf2onnx imports TensorFlow when imported: its installed version is enough here
    try:
        from importlib import metadata
        out["tf2onnx"] = metadata.version("tf2onnx")
    except Exception as exc:  # noqa: BLE001 - reported, as above
        out["tf2onnx"] = f"missing: {type(exc).__name__}: {exc}"
    try:
        import jep
        out["jep"] = str(jep.__version__) if hasattr(jep, "__version__") else str(jep.version.__VERSION__)
        out["jep_numpy"] = bool(getattr(jep, "JEP_NUMPY_ENABLED", False))
    except Exception as exc:
        out["jep"] = f"missing: {type(exc).__name__}: {exc}"
    return out

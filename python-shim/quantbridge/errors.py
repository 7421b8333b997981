"""The shim's typed errors. Every error names what is wrong and what was expected."""

__all__ = ["QuantBridgeError", "ConfigError", "ModelError", "PathError", "CheckpointError", "UserExit", "DataError",
           "DivergedError", "Cancelled"]


class QuantBridgeError(Exception):
    """Base class of every error QuantBridge raises on purpose."""


class ConfigError(QuantBridgeError, ValueError):
    """The quantization config is malformed or does not fit the model."""


class ModelError(QuantBridgeError, ValueError):
    """The model cannot be quantized as given (wrapped, unsupported graph, ...)."""


class PathError(QuantBridgeError, ValueError):
    """A path breaks the naming rule, does not exist, or would overwrite something."""


class CheckpointError(QuantBridgeError, ValueError):
    """A checkpoint (.pth or TensorFlow ckpt) does not fit the model and config."""


class UserExit(QuantBridgeError):
    """User code called sys.exit() inside the embedded interpreter."""


class Cancelled(BaseException):
    """The caller stopped the running call (cancel, interrupt, timeout, or its listener said stop).

    Raised at the next progress event. A ``BaseException`` like ``KeyboardInterrupt``, so that an
    ``except Exception`` in user code does not swallow it and the user's loop unwinds.
    """


class DataError(QuantBridgeError, ValueError):
    """What the user's functions handed over is unusable: a batch that is None, empty, of the wrong
    rank or dtype, or holds NaN/Inf; no batches at all; a ``progress(...)`` call with a non-number step."""


class DivergedError(QuantBridgeError, ArithmeticError):
    """A step produced NaN or Inf in the weights or quantization scales (training diverged, or
    calibration overflowed); nothing was saved."""

"""The shim's typed errors. Every error names what is wrong and what was expected."""

__all__ = ["QuantBridgeError", "ConfigError", "ModelError", "PathError", "CheckpointError", "DataError", "UserExit"]


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


class DataError(QuantBridgeError, ValueError):
    """A data function returned something that is not usable batches (None, empty, wrong shape or dtype)."""


class UserExit(QuantBridgeError):
    """User code called sys.exit() inside the embedded interpreter."""

"""QuantBridge: plugin-style quantization for existing PyTorch and TensorFlow code.

The framework back ends are imported lazily: ``import quantbridge.torch`` pulls in
torch only, ``import quantbridge.tf`` TensorFlow only.
"""

__all__ = ["__version__", "QuantBridgeError", "ConfigError", "ModelError", "PathError"]

__version__ = "0.1.0"

from quantbridge.errors import ConfigError, ModelError, PathError, QuantBridgeError  # noqa: E402

"""Example user code driven by the QuantBridge demos (plain PyTorch / TensorFlow, no QuantBridge magic)."""

"""Framework-free pieces shared by the PyTorch and TensorFlow back ends."""

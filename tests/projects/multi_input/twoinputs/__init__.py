"""Digits models with two inputs (TensorFlow and PyTorch) and a flat-input TensorFlow model."""

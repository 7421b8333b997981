"""A small PyTorch digits classifier: model, data, training and evaluation."""

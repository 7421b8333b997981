"""Checks of the Keras project's exported files (the CLI tests read their numbers from here)."""


def frozen_accuracy(pb, input_name, output, size=8, channels=1):
    """Top-1 % of the frozen .pb on the Keras project's test split."""
    from digitskeras import data

    from quantbridge.tf import run_frozen

    x, y = data.splits(size, channels)[2:]
    logits = run_frozen(str(pb), {input_name: x}, [output])[0]
    return float((logits.argmax(axis=1) == y).mean() * 100.0)

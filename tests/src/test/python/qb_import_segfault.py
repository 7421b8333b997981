"""A module that crashes while it is imported (a broken extension module's import)."""

import ctypes

ctypes.string_at(0)


def build_model():
    raise AssertionError("never reached")

"""Python output routed to a Java-like sink: whole lines, logging records, warnings, partial lines on flush."""

import logging
import sys
import warnings

from quantbridge import _logging


class Sink:
    def __init__(self, tf_level):
        self.events = []
        self.tf_level = tf_level

    def line(self, stream, text):
        self.events.append((stream, text))

    def record(self, name, level, message):
        self.events.append((name, level, message))

    def level(self, name):
        return self.tf_level if name == "tensorflow" else logging.INFO


def test_lines_records_warnings_and_partial_lines(monkeypatch):
    sink = Sink(tf_level=logging.ERROR)
    root = logging.getLogger()
    saved = (sys.stdout, sys.stderr, list(root.handlers), root.level)
    try:
        _logging.install(sink)
        print("first line\nsecond", end="")
        print(" line")
        print("no newline yet", end="")
        logging.getLogger("user.module").info("a record")
        logging.getLogger("tensorflow").warning("deprecated, quiet by default")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("careful")
        _logging.flush()
    finally:
        sys.stdout, sys.stderr = saved[0], saved[1]
        root.handlers[:] = saved[2]
        root.setLevel(saved[3])
        logging.captureWarnings(False)
        logging.getLogger("tensorflow").setLevel(logging.NOTSET)
    assert ("stdout", "first line") in sink.events
    assert ("stdout", "second line") in sink.events
    assert ("user.module", logging.INFO, "a record") in sink.events
    assert not any(e[0] == "tensorflow" for e in sink.events), "TensorFlow's notices stay below the SLF4J level"
    assert any(e[0] == "py.warnings" and "careful" in e[2] and not e[2].endswith("\n") for e in sink.events)
    assert sink.events[-1] == ("stdout", "no newline yet"), "a partial line is sent when the call ends"

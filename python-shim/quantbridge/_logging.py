"""Routes the embedded interpreter's output to Java (SLF4J loggers named ``python.*``).

``logging`` records, ``warnings`` (through ``logging.captureWarnings``) and the lines written
to ``sys.stdout`` / ``sys.stderr`` go to a Java sink, one complete line at a time; a partial
line is sent when the Java call that wrote it ends (``flush``), so nothing is lost at exit.
Only the interpreter's owner thread may call into Java: output from other Python threads goes
to the original streams. Java installs this in the embedded interpreter only; a plain Python
script never imports it.
"""

import io
import logging
import os
import sys
import threading

_owner = None
_sink = None


def _on_owner():
    return _sink is not None and threading.get_ident() == _owner


class _JavaHandler(logging.Handler):
    """Hands each record to Java with its logger name and level."""

    def emit(self, record):
        try:
            message = self.format(record).rstrip("\n")
            if _on_owner():
                _sink.record(record.name, int(record.levelno), message)
            else:
                sys.__stderr__.write(message + "\n")
        except Exception:  # noqa: BLE001 - logging must never raise into user code
            self.handleError(record)


class _LineWriter(io.TextIOBase):
    """A text stream that sends complete lines to Java."""

    def __init__(self, name, original):
        super().__init__()
        self._name = name
        self._original = original
        self._buffer = ""

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._original.fileno()

    def write(self, text):
        if not _on_owner():
            return self._original.write(text)
        self._buffer += str(text)
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            _sink.line(self._name, line)
        return len(text)

    def flush(self):
        if self._buffer and _on_owner():
            line, self._buffer = self._buffer, ""
            _sink.line(self._name, line)
        self._original.flush()


def install(sink):
    """Send this interpreter's output to ``sink`` (Java's ``PythonLog``); call on the owner thread."""
    global _owner, _sink
    _owner, _sink = threading.get_ident(), sink
    sys.stdout = _LineWriter("stdout", sys.__stdout__)
    sys.stderr = _LineWriter("stderr", sys.__stderr__)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _JavaHandler)]
    handler = _JavaHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(int(sink.level("")))
    logging.captureWarnings(True)
    tf_level = int(sink.level("tensorflow"))
    logging.getLogger("tensorflow").setLevel(tf_level)
    # TensorFlow's C++ log stays quiet (errors only) unless python.tensorflow is at INFO or below
    # (the command line's --verbose); read when TensorFlow is first imported.
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2" if tf_level > logging.INFO else "0"


def flush():
    """Send partial lines (the end of a Java call)."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _LineWriter):
            stream.flush()

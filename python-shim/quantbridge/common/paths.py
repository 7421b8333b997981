"""The vendor's path rule and atomic file writing.

Vendor rule (PyTorch tool, applied to both back ends): directory names contain only
letters, digits and underscores; file names only letters, digits, underscores and
dots. Absolute paths and ``.``/``..`` components are allowed.
"""

import os
import re
import tempfile

from quantbridge.errors import PathError

__all__ = ["check_dir", "check_file_path", "temp_file", "atomic_write_bytes", "atomic_write_text", "no_overwrite"]

_DIR_PART = re.compile(r"^[A-Za-z0-9_]+$")
_FILE_PART = re.compile(r"^[A-Za-z0-9_.]+$")


def _check_dirs(path, what):
    head = os.path.dirname(os.path.abspath(path)) if what == "file" else os.path.abspath(path)
    # Only the components the user wrote are checked: a relative path's parts, or an
    # absolute path's parts below the filesystem root.
    parts = [p for p in os.path.normpath(str(path)).split(os.sep) if p not in ("", ".", "..")]
    if what == "file":
        parts = parts[:-1]
    for part in parts:
        if not _DIR_PART.match(part):
            msg = (f"directory name {part!r} in {str(path)!r} breaks the path rule: directory names may "
                   f"contain only letters, digits and underscores")
            raise PathError(msg)
    return head


def check_dir(path, must_exist=True, what="output_dir"):
    """Validate a directory path; return its absolute form."""
    if path is None or str(path) == "":
        path = "."
    absolute = _check_dirs(str(path), "dir")
    if must_exist and not os.path.isdir(absolute):
        msg = f"{what} {str(path)!r} does not exist or is not a directory; create it first"
        raise PathError(msg)
    return absolute


def check_file_path(path, what="dst_path", must_exist=False):
    """Validate a file path (its directory must exist); return its absolute form."""
    path = str(path)
    name = os.path.basename(path)
    if not name or not _FILE_PART.match(name):
        msg = (f"file name {name!r} in {what} {path!r} breaks the path rule: file names may contain only "
               f"letters, digits, underscores and dots")
        raise PathError(msg)
    head = _check_dirs(path, "file")
    if not os.path.isdir(head):
        msg = f"the directory of {what} {path!r} ({head}) does not exist; create it first"
        raise PathError(msg)
    absolute = os.path.abspath(path)
    if must_exist and not os.path.isfile(absolute):
        msg = f"{what} {path!r} does not exist"
        raise PathError(msg)
    return absolute


def no_overwrite(paths, what="output"):
    """Raise if any of ``paths`` exists (used where the caller asked not to overwrite)."""
    existing = [p for p in paths if os.path.exists(p)]
    if existing:
        msg = f"{what} would overwrite existing file(s): {', '.join(existing)}"
        raise PathError(msg)


def temp_file(directory, suffix=".tmp"):
    """Create an empty temporary file in ``directory`` with the permissions a plain ``open``
    would give (mkstemp's are 0600); return ``(fd, path)``."""
    fd, tmp = tempfile.mkstemp(prefix=".qb-", suffix=suffix, dir=directory)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return fd, tmp


def atomic_write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same directory, then rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = temp_file(directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode("utf-8"))

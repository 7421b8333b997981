"""The vendor's path rule, temporary names and atomic file writing.

Vendor rule (its own tool's limit, applied to both back ends): directory names contain only
letters, digits and underscores; file names only letters, digits, underscores and dots.
Absolute paths and ``.``/``..`` components are allowed.

The vendor-named functions (``generate_config_file``, ``generate_final_model``, ...) apply the
rule to the paths they are given, as the vendor's API does, when called from a plain Python
script. Inside the JVM the rule is off (the Java runtime calls ``set_vendor_rule(False)``): the
command line and the Java API accept any path, and apply the rule only to the user's own output
paths when asked (``--vendor-names``, through :func:`check_vendor_path`).

Temporary files are named ``.qb-PID-START-*`` (:func:`owner_tag`), so that a later run can
remove what a killed process left behind without touching a live one's files.
"""

import os
import re
import tempfile

from quantbridge.errors import PathError

__all__ = ["check_dir", "check_file_path", "check_vendor_path", "set_vendor_rule", "owner_tag", "temp_file",
           "atomic_write_bytes", "atomic_write_text", "no_overwrite"]

_DIR_PART = re.compile(r"^[A-Za-z0-9_]+$")
_FILE_PART = re.compile(r"^[A-Za-z0-9_.]+$")
_vendor_rule = True


def set_vendor_rule(enabled):
    """Turn the vendor's path rule on or off for this interpreter; returns the previous setting."""
    global _vendor_rule
    previous, _vendor_rule = _vendor_rule, bool(enabled)
    return previous


def check_vendor_path(path, kind="file", what="path"):
    """Apply the vendor's rule to ``path`` (``kind`` ``"file"`` or ``"dir"``) whatever the setting;
    raise :class:`PathError` naming the offending part."""
    path = str(path)
    if kind == "file":
        _check_file_name(path, what)
    _check_dirs(path, kind)
    return path


def _check_file_name(path, what):
    name = os.path.basename(path)
    if not name or not _FILE_PART.match(name):
        msg = (f"file name {name!r} in {what} {path!r} breaks the vendor's path rule: file names may contain only "
               f"letters, digits, underscores and dots")
        raise PathError(msg)


def _check_dirs(path, what):
    head = os.path.dirname(os.path.abspath(path)) if what == "file" else os.path.abspath(path)
    # Only the components the user wrote are checked: a relative path's parts, or an
    # absolute path's parts below the filesystem root.
    parts = [p for p in os.path.normpath(str(path)).split(os.sep) if p not in ("", ".", "..")]
    if what == "file":
        parts = parts[:-1]
    for part in parts:
        if not _DIR_PART.match(part):
            msg = (f"directory name {part!r} in {str(path)!r} breaks the vendor's path rule: directory names may "
                   f"contain only letters, digits and underscores")
            raise PathError(msg)
    return head


def check_dir(path, must_exist=True, what="output_dir"):
    """Validate a directory path; return its absolute form."""
    if path is None or str(path) == "":
        path = "."
    absolute = _check_dirs(str(path), "dir") if _vendor_rule else os.path.abspath(str(path))
    if must_exist and not os.path.isdir(absolute):
        msg = f"{what} {str(path)!r} does not exist or is not a directory; create it first"
        raise PathError(msg)
    return absolute


def check_file_path(path, what="dst_path", must_exist=False):
    """Validate a file path (its directory must exist); return its absolute form."""
    path = str(path)
    if _vendor_rule:
        _check_file_name(path, what)
        head = _check_dirs(path, "file")
    elif not os.path.basename(path):
        msg = f"{what} {path!r} names a directory; expected a file name"
        raise PathError(msg)
    else:
        head = os.path.dirname(os.path.abspath(path))
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


def owner_tag():
    """``PID-START`` of this process: its id and start time in clock ticks since boot (field 22 of
    ``/proc/PID/stat``; 0 without ``/proc``). Java's ``io.quantbridge.io.OwnerTag`` reads it back."""
    pid = os.getpid()
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        start = int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        start = 0
    return f"{pid}-{start}"


def temp_file(directory, suffix=".tmp"):
    """Create an empty temporary file ``.qb-PID-START-*`` in ``directory`` with the permissions a
    plain ``open`` would give (mkstemp's are 0600); return ``(fd, path)``."""
    fd, tmp = tempfile.mkstemp(prefix=f".qb-{owner_tag()}-", suffix=suffix, dir=directory)
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

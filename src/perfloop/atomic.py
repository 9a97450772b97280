"""Writing a file atomically: readers see the old contents or the new, never a part.

The one way perfloop replaces a file, be it the user's source (apply, revert),
the apply journal, the run's report files, or a worker's result. The new
contents go to a temporary file beside the target, which gets the target's
permission bits (a file that was 0644 stays 0644; a new file gets what `open`
would give it under the umask, not the 0600 of a temporary file), is flushed
to disk, and then renamed over the target; the folder is flushed too, so the
rename survives a power loss. `durable=False` skips both flushes, for files in
scratch folders that nobody needs after a crash.

`stage` and `commit` are the two halves, for writing several files all or none
(perfloop.patch stages every file before it renames any).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, *, durable: bool = True) -> None:
    """Replace `path` with `data` (text is written as UTF-8, newlines as given)."""
    commit(stage(path, data, durable=durable), path, durable=durable)


def stage(path: Path, data: str | bytes, *, durable: bool = True) -> Path:
    """Write `data` to a new temporary file beside `path`, with `path`'s mode; its path."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(payload)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.chmod(temporary, _mode_for(path))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def commit(temporary: Path, path: Path, *, durable: bool = True) -> None:
    """Rename a staged file over `path`, and make the rename durable."""
    os.replace(temporary, path)
    if durable:
        with contextlib.suppress(OSError):  # some file systems cannot open a folder
            folder = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)


def _mode_for(path: Path) -> int:
    """The permission bits `path` has, or those a new file gets under the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (/proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    umask = os.umask(0o022)  # elsewhere: read by setting, for as short a time as possible
    os.umask(umask)
    return umask

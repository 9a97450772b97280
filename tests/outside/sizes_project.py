"""A project shaped like humanize 4.9.0's `filesize.naturalsize`, for the messages tests.

`sizes` is the project's own package (a module beside the target, `units`) and
`tools` a top-level module of the project: candidates may import either.
"""

from __future__ import annotations

FILESIZE = '''
def naturalsize(value, binary=False):
    """humanize 4.9.0 filesize.naturalsize, without the gnu and format options."""
    suffix = ("KiB", "MiB", "GiB", "TiB") if binary else ("kB", "MB", "GB", "TB")
    base = 1024 if binary else 1000
    bytes_ = float(value)
    abs_bytes = abs(bytes_)
    if abs_bytes == 1:
        return "%d Byte" % bytes_
    if abs_bytes < base:
        return "%d Bytes" % bytes_
    for i, s in enumerate(suffix):
        unit = base ** (i + 2)
        if abs_bytes < unit:
            break
    return "%.1f %s" % (base * bytes_ / unit, s)


def unused(value):
    return value
'''

UNITS = """
def base_of(binary):
    return 1024 if binary else 1000
"""

TOOLS = """
def magnitude(value):
    return abs(value)
"""

BENCH = """
from sizes.filesize import naturalsize

print([naturalsize(n * 7919.5, binary=n % 2 == 0) for n in range(400)][-3:])
"""

PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
measure-processes = 1
workload-runs = 2
max-calls = 40
"""

FILES = {
    "sizes/__init__.py": "",
    "sizes/filesize.py": FILESIZE,
    "sizes/units.py": UNITS,
    "tools.py": TOOLS,
    "bench.py": BENCH,
    "pyproject.toml": PYPROJECT,
}

# the same behaviour, with its helper imported from the project's own code
OWN_IMPORT = """
{imports}

def naturalsize(value, binary=False):
    suffix = ("KiB", "MiB", "GiB", "TiB") if binary else ("kB", "MB", "GB", "TB")
    base = base_of(binary)
    bytes_ = float(value)
    abs_bytes = magnitude(bytes_)
    if abs_bytes == 1:
        return "%d Byte" % bytes_
    if abs_bytes < base:
        return "%d Bytes" % bytes_
    for i, s in enumerate(suffix):
        unit = base ** (i + 2)
        if abs_bytes < unit:
            break
    return "%.1f %s" % (base * bytes_ / unit, s)
"""

# differs on NaN only: `not x >= base` is True for NaN, where `x < base` is False
NAN_EDGE = """
def naturalsize(value, binary=False):
    suffix = ("KiB", "MiB", "GiB", "TiB") if binary else ("kB", "MB", "GB", "TB")
    base = 1024 if binary else 1000
    bytes_ = float(value)
    abs_bytes = abs(bytes_)
    if abs_bytes == 1:
        return "%d Byte" % bytes_
    if not abs_bytes >= base:
        return "%d Bytes" % bytes_
    for i, s in enumerate(suffix):
        unit = base ** (i + 2)
        if abs_bytes < unit:
            break
    return "%.1f %s" % (base * bytes_ / unit, s)
"""

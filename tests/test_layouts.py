"""Module names come from how Python imports the files, in every project layout.

Each layout is a small real project: the workload is profiled, the hot function is
named as the workload imported it, its calls are recorded under that name, and a
sandboxed worker imports it the same way and replays the calls. The end-to-end test
runs `perfloop optimize --apply` as a user would, with `PYTHONPATH=src`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.profile import profile_workload
from perfloop.project import Project, TargetError, default_import_roots
from perfloop.verification.replay import replay

SLOW_SUM = """
def total(values):
    result = 0
    for value in values:
        result = result + value
    return result
"""

WORKLOAD = """
import sys
{setup}
from {module} import total

print(sum(total(list(range(n))) for n in range(400)))
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def bench(module: str, setup: str = "") -> str:
    return WORKLOAD.format(module=module, setup=setup)


# layout name -> (files, workload command, the root perfloop is given, the expected module)
LAYOUTS = {
    "src layout, the workload puts src on sys.path": (
        {
            "pyproject.toml": "[project]\nname = 'acme'\nversion = '1'\n",
            "src/acme/__init__.py": "",
            "src/acme/maths.py": SLOW_SUM,
            "bench.py": bench("acme.maths", "sys.path.insert(0, 'src')"),
        },
        "python bench.py",
        ".",
        "acme.maths",
    ),
    "package_dir folder: code/png.py imported as png": (
        {
            "setup.py": "from setuptools import setup\n"
            "setup(name='png', py_modules=['png'], package_dir={'': 'code'})\n",
            "code/png.py": SLOW_SUM,
            "bench.py": bench("png", "sys.path.insert(0, 'code')"),
        },
        "python bench.py",
        ".",
        "png",
    ),
    "namespace package without __init__ files": (
        {
            "src/nsp/tools/maths.py": SLOW_SUM,
            "bench.py": bench("nsp.tools.maths", "sys.path.insert(0, 'src')"),
        },
        "python bench.py",
        ".",
        "nsp.tools.maths",
    ),
    "--root given as the package folder": (
        {
            "acme/__init__.py": "",
            "acme/maths.py": SLOW_SUM,
            "bench.py": bench("acme.maths"),
        },
        "python ../bench.py",
        "acme",
        "acme.maths",
    ),
    "flat layout": (
        {"acme/__init__.py": "", "acme/maths.py": SLOW_SUM, "bench.py": bench("acme.maths")},
        "python bench.py",
        ".",
        "acme.maths",
    ),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_targets_are_named_recorded_and_replayed_as_python_imports_them(
    layout: str, tmp_path: Path
) -> None:
    files, command, given_root, expected = LAYOUTS[layout]
    root = (write(tmp_path / "project", files) / given_root).resolve()

    profile = profile_workload(command, root)

    hot = profile.functions[0]
    assert hot.function == FunctionRef(expected, "total"), profile.functions
    assert hot.not_targetable is None
    project = Project(root).with_imports(profile.imports)
    path = project.module_path(expected)
    assert path.read_text() == SLOW_SUM
    captured = capture_calls(command, root, [hot.function], CaptureSettings(max_calls=20))
    capture = captured[hot.function]
    assert capture.problem is None and len(capture.records) == 20
    verdict = replay(
        expected, "total", path, None, capture.records, root=root, limits=Limits(wall_seconds=60)
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason


def test_module_files_are_found_from_the_layout_before_anything_ran(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "src/acme/__init__.py": "",
            "src/acme/maths.py": SLOW_SUM,
            "other/setup.py": "from setuptools import setup\nsetup(package_dir={'': 'code'})\n",
            "other/code/png.py": SLOW_SUM,
        },
    )
    assert Project(root).module_path("acme.maths") == root / "src" / "acme" / "maths.py"
    assert Project(root).module_name(root / "src" / "acme" / "maths.py") == "acme.maths"
    other = root / "other"
    assert Project(other).module_path("png") == other / "code" / "png.py"
    package = root / "src" / "acme"
    assert default_import_roots(package)[0] == root / "src"
    assert Project(package).module_path("acme.maths") == package / "maths.py"


def test_a_path_given_as_module_name_gets_the_import_name_suggested(tmp_path: Path) -> None:
    root = write(tmp_path, {"src/acme/__init__.py": "", "src/acme/maths.py": SLOW_SUM})
    with pytest.raises(TargetError, match=r"did you mean 'acme\.maths'"):
        Project(root).module_path("src.acme.maths")


STOPWORDS = """
STOPWORDS = [
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "both",
    "but", "by", "can", "could", "did", "do", "does", "down", "during", "each", "even",
]


def content_words(tokens):
    words = []
    for token in tokens:
        if token not in STOPWORDS:
            words.append(token)
    return words
"""

TEXT_BENCH = """
from acme.text import content_words

words = ("the quick brown fox jumps over a lazy dog and runs to the woods " * 40).split()
print(sum(len(content_words(words)) for _ in range(300)))
"""


FAST = ["--top", "1", "--mutants", "5", "--fuzz-examples", "30", "--apply", "--json"]


@pytest.mark.slow
def test_optimize_with_pythonpath_src_works_end_to_end(tmp_path: Path) -> None:
    """The user's PYTHONPATH reaches the workload; workers import from the same folders.
    The whole-workload A/B and the check after applying put the patched file in place under
    the name the workload imports it by (`acme.text`): named from its path
    (`src.acme.text`), the A/B timed the original against itself."""
    root = write(
        tmp_path / "project",
        {"src/acme/__init__.py": "", "src/acme/text.py": STOPWORDS, "bench.py": TEXT_BENCH},
    )
    environment = {**os.environ, "PYTHONPATH": "src"}
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize", "--workload", "python bench.py", *FAST],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    target = results["targets"][0]
    assert target["function"] == "acme.text:content_words", target
    assert target["calls_recorded"] > 0, target
    assert target["status"] == "improved", target
    assert results["applied"] is True
    assert (root / "src" / "acme" / "text.py").read_text() != STOPWORDS
    assert results["workload_speedup"] is not None, results["notes"]
    assert not [note for note in results["notes"] if "never imported" in note], results["notes"]
    run_dir = root / ".perfloop" / "runs" / results["run_id"]
    assert (run_dir / "patch.diff").read_text().startswith("--- a/src/acme/text.py")


@pytest.mark.slow
def test_a_workload_command_that_sets_pythonpath_itself_gets_told_how_to_set_it(
    tmp_path: Path,
) -> None:
    """Found on humanize 4.12.3 (src layout): `--workload "PYTHONPATH=src python w.py"` replaced
    the PYTHONPATH entry perfloop loads its hooks through; nothing was observed, and verify
    said "the workload never imported its module"."""
    root = write(
        tmp_path / "project",
        {
            "src/acme/__init__.py": "",
            "src/acme/maths.py": SLOW_SUM,
            "bench.py": bench("acme.maths"),
        },
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfloop",
            "optimize",
            "--workload",
            "PYTHONPATH=src python bench.py",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join(done.stdout.split())
    assert "perfloop's hooks loaded in no Python process of it" in said
    assert "set it outside the command instead (`PYTHONPATH=src perfloop ...`" in said

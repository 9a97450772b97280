"""perfloop installed in one environment, run with the project's own venv active.

From humanize 4.12.3 (a `src/` layout, installed editable in its venv, perfloop from
another venv): `PATH=venv/bin:$PATH perfloop verify ... --workload "python workload.py"`
failed with "the workload failed: ... No module named 'humanize'", though the same
command ran by hand printed its checksum: perfloop puts its own interpreter first on the
workload's PATH, and that one did not see the project's venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SIZES = '''
def naturalsize(value):
    """humanize's naturalsize, cut down: a number of bytes as text."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.1f} {unit}"
        value = value / 1000
    return f"{value:.1f} TB"
'''

FASTER = '''
def naturalsize(value):
    """humanize's naturalsize, cut down: a number of bytes as text."""
    for unit in ("B", "kB", "MB", "GB"):
        if -1000 < value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
'''

WORKLOAD = """
from sizes.format import naturalsize

print(sum(len(naturalsize(n * 7919)) for n in range(3000)))
"""


@pytest.fixture
def project_in_venv(make_project, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A `src/` project, installed editable (a .pth file) in a venv of its own."""
    root = make_project(
        {"src/sizes/__init__.py": "", "src/sizes/format.py": SIZES, "workload.py": WORKLOAD}
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = venv / "lib" / version / "site-packages"
    (site_packages / "_editable_impl_sizes.pth").write_text(f"{root / 'src'}\n")
    environment = dict(os.environ)
    environment.pop("VIRTUAL_ENV", None)
    environment.pop("PYTHONPATH", None)
    environment["PATH"] = os.pathsep.join([str(venv / "bin"), environment.get("PATH", "")])
    return root, environment


@pytest.mark.slow
def test_verify_runs_the_workload_with_the_projects_venv(project_in_venv) -> None:
    root, environment = project_in_venv
    by_hand = subprocess.run(
        ["python", "workload.py"], cwd=root, env=environment, capture_output=True, text=True
    )
    assert by_hand.returncode == 0, by_hand.stderr  # the user's own run works
    (root / "candidate.py").write_text(FASTER)
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "sizes.format:naturalsize",
         "--candidate", "candidate.py", "--workload", "python workload.py",
         "--tiers", "replay,fuzz", "--fuzz-examples", "30", "--mutants", "0"],
        cwd=root, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "No module named" not in done.stdout + done.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EQUIVALENT" in done.stdout
    assert "same on 200 recorded calls" in done.stdout


RESOLVER = '''
class BaseResolver:
    """PyYAML 5.3.1's resolver, cut down: implicit tags looked up by first character."""

    implicit = {"y": [("bool", "yes")], "n": [("bool", "no")], "1": [("int", "1")]}

    def resolve(self, value):
        for tag, word in self.implicit.get(value[:1], []):
            if value.startswith(word):
                return tag
        return "str"
'''

FASTER_RESOLVE = """
class BaseResolver:
    def resolve(self, value):
        found = self.implicit.get(value[:1])
        if found:
            for tag, word in found:
                if value.startswith(word):
                    return tag
        return "str"
"""

LOADER_WORKLOAD = """
from yamlish.resolver import BaseResolver


class Loader(BaseResolver):  # the workload's own subclass, as PyYAML's docs suggest
    implicit = dict(BaseResolver.implicit, t=[("bool", "true")])


loader = Loader()
words = ["yes", "no", "true", "12", "name", "", "nope", "yesterday"] * 50
print(sum(len(loader.resolve(word)) for word in words))
"""


@pytest.mark.slow
def test_a_package_dir_only_setup_py_can_tell_and_a_class_of_the_workload_script(
    make_project, tmp_path: Path
) -> None:
    """PyYAML 5.3.1: `package_dir={'': {2: 'lib', 3: 'lib3'}[sys.version_info[0]]}` gave
    "no module 'yaml.resolver' in the project"; the editable install's .pth file says
    where it is. Then every recorded `self`, a `Loader` the workload script defined, was
    pickled as `__main__.Loader` and "does not load in a process that imported the
    project afresh"."""
    root = make_project(
        {
            "setup.py": "import sys\nfrom setuptools import setup\n\nsetup(name='yamlish', "
            "packages=['yamlish'], package_dir={'': {2: 'lib', 3: 'lib3'}[sys.version_info[0]]})\n",
            "lib3/yamlish/__init__.py": "",
            "lib3/yamlish/resolver.py": RESOLVER,
            "workload.py": LOADER_WORKLOAD,
            "candidate.py": FASTER_RESOLVE,
        }
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (venv / "lib" / version / "site-packages" / "__editable__.yamlish-1.0.pth").write_text(
        f"{root / 'lib3'}\n"
    )
    environment = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    environment["PATH"] = os.pathsep.join([str(venv / "bin"), environment.get("PATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "yamlish.resolver:BaseResolver.resolve",
         "--candidate", "candidate.py", "--workload", "python workload.py",
         "--tiers", "replay", "--mutants", "0"],
        cwd=root, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "no module" not in done.stdout + done.stderr
    assert "does not load" not in done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replay: same on 8 recorded calls" in done.stdout  # the 8 distinct words


PROJECT_TEST = """
import pytest

from sizes.format import naturalsize

# only the project's own pytest has this: under perfloop's, collecting this file fails
assert pytest.PINNED_BY_THE_PROJECT


@pytest.mark.parametrize("value", [0, 999, 1000, 123456789, -5000])
def test_naturalsize(value):
    assert naturalsize(value).split()[1] in ("B", "kB", "MB", "GB", "TB")
"""


def _copy_of_installed_pytest(site_packages: Path) -> None:
    """perfloop's own pytest (with pluggy and iniconfig) copied into the project's venv,
    marked: the project pins a pytest of its own, as python-dateutil 2.9.0 pins 8.0."""
    import shutil

    import iniconfig
    import pluggy

    for module in (pytest, pluggy, iniconfig):
        folder = Path(module.__file__).parent
        shutil.copytree(folder, site_packages / folder.name)
        for info in folder.parent.glob(f"{folder.name}-*.dist-info"):
            shutil.copytree(info, site_packages / info.name)
    shutil.copytree(Path(pytest.__file__).parent.parent / "_pytest", site_packages / "_pytest")
    with (site_packages / "pytest" / "__init__.py").open("a") as init:
        init.write("\nPINNED_BY_THE_PROJECT = True\n")


@pytest.mark.slow
def test_the_projects_tests_run_under_the_projects_own_pytest(project_in_venv) -> None:
    """python-dateutil 2.9.0 in its venv with pytest 8.0, perfloop in another with pytest 9:
    "pytest could not collect tests/test_isoparser.py (PytestRemovedIn10Warning ...)", so
    those tests judged nothing. The tests tier now runs the project's own pytest."""
    root, environment = project_in_venv
    venv_bin = Path(environment["PATH"].split(os.pathsep)[0])
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    _copy_of_installed_pytest(venv_bin.parent / "lib" / version / "site-packages")
    (root / "tests").mkdir()
    (root / "tests" / "test_sizes.py").write_text(PROJECT_TEST)
    (root / "candidate.py").write_text(FASTER)
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "sizes.format:naturalsize",
         "--candidate", "candidate.py", "--workload", "python workload.py",
         "--tiers", "replay,tests", "--mutants", "0"],
        cwd=root, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "could not collect" not in done.stdout, done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tests: same on 5 project tests" in done.stdout, done.stdout
    assert "the project's own pytest" in done.stdout, done.stdout

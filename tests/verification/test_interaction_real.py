"""The interaction tier on a real library: chardet 5.2.0's single-byte probers, fed a file
chunk after chunk by UniversalDetector.

The candidate of `SingleByteCharSetProber.feed` keeps its counters in locals (a common,
right speed-up) and the sequence count beside the prober between chunks, where it stores
the count the chunk started with: from the second chunk on, `_total_seqs` is wrong, and so
are the confidences (Greek files come out as windows-1251). Every recorded call starts from
the prober as the workload had it, so per-call replay passes it; the same prober driven
through its recorded chunks does not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

TARGET = "chardet.sbcharsetprober:SingleByteCharSetProber.feed"

WORKLOAD = """
from pathlib import Path

from chardet.universaldetector import UniversalDetector

for folder in ("windows-1251-russian", "KOI8-R", "iso-8859-7-greek"):
    for path in sorted(Path("tests", folder).iterdir())[:3]:
        data = path.read_bytes()
        detector = UniversalDetector()
        for start in range(0, len(data), 512):
            detector.feed(data[start : start + 512])
            if detector.done:
                break
        result = detector.close()
        print(folder, path.name, result["encoding"], round(result["confidence"], 6))
"""

ORIGINAL_LOOP = """\
        for char in byte_str:
            order = char_to_order_map.get(char, CharacterCategory.UNDEFINED)
            # XXX: This was SYMBOL_CAT_ORDER before, with a value of 250, but
            #      CharacterCategory.SYMBOL is actually 253, so we use CONTROL
            #      to make it closer to the original intent. The only difference
            #      is whether or not we count digits and control characters for
            #      _total_char purposes.
            if order < CharacterCategory.CONTROL:
                self._total_char += 1
            if order < self.SAMPLE_SIZE:
                self._freq_char += 1
                if self._last_order < self.SAMPLE_SIZE:
                    self._total_seqs += 1
                    if not self._reversed:
                        lm_cat = language_model[self._last_order][order]
                    else:
                        lm_cat = language_model[order][self._last_order]
                    self._seq_counters[lm_cat] += 1
            self._last_order = order
"""

LOCALS_LOOP = """\
        total_seqs = START
        last_order, total_char, freq_char = self._last_order, self._total_char, self._freq_char
        seq_counters, reversed_, sample_size = self._seq_counters, self._reversed, self.SAMPLE_SIZE
        control, undefined = CharacterCategory.CONTROL, CharacterCategory.UNDEFINED
        for char in byte_str:
            order = char_to_order_map.get(char, undefined)
            if order < control:
                total_char += 1
            if order < sample_size:
                freq_char += 1
                if last_order < sample_size:
                    total_seqs += 1
                    if not reversed_:
                        seq_counters[language_model[last_order][order]] += 1
                    else:
                        seq_counters[language_model[order][last_order]] += 1
            last_order = order
        self._last_order, self._total_char, self._freq_char = last_order, total_char, freq_char
        self._total_seqs = total_seqs
"""

# the count kept beside the prober is the one the chunk started with
BESIDE = """\
        total_seqs = _SEQUENCES.get(self, self._total_seqs)
        _SEQUENCES[self] = total_seqs
"""


def candidate(original: str, start: str) -> str:
    assert ORIGINAL_LOOP in original
    loop = LOCALS_LOOP.replace("        total_seqs = START\n", start)
    source = original.replace(ORIGINAL_LOOP, loop)
    if "_SEQUENCES" in start:
        model = "class SingleByteCharSetModel(NamedTuple):"
        source = source.replace(
            model, f"_SEQUENCES = weakref.WeakKeyDictionary()\n\n\n{model}"
        ).replace("from typing import", "import weakref\nfrom typing import", 1)
    return source


@pytest.fixture(scope="module")
def chardet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = unpacked(
        cached_sdist("chardet==5.2.0", "chardet-5.2.0.tar.gz"), tmp_path_factory.mktemp("sdist")
    )
    (root / "workload.py").write_text(WORKLOAD.lstrip())
    return root


QUICK = {"workload": "python workload.py", "mutants": 0, "fuzz_examples": 0}


@pytest.mark.slow
def test_a_counter_wrong_from_the_second_chunk_is_caught_by_the_interaction_tier(
    chardet: Path, tmp_path: Path
) -> None:
    original = (chardet / "chardet" / "sbcharsetprober.py").read_text()
    wrong = candidate(original, BESIDE)

    per_call = perfloop.verify(TARGET, wrong, root=chardet, tiers=("replay",), **QUICK)
    assert per_call.decision is Decision.EQUIVALENT  # each recorded chunk alone is right
    assert per_call.calls_recorded == 200

    result = perfloop.verify(
        TARGET, wrong, root=chardet, tiers=("replay", "interaction"), run=per_call.run_id, **QUICK
    )
    assert result.decision is Decision.DIFFERENT, result.reason
    example = result.counterexample
    assert example is not None and example.tier == "interaction" and example.exact
    lines = example.code.splitlines()
    # the language model the prober was made with is imported by name, not spelt out
    assert lines[:2] == [
        "from chardet.sbcharsetprober import SingleByteCharSetProber",
        f"from chardet.{lines[1].split('.')[1].split()[0]} import {lines[1].split()[-1]}",
    ]
    assert lines[2] == f"obj = SingleByteCharSetProber({lines[1].split()[-1]})"
    assert [line.split("(")[0] for line in lines[3:]] == [
        "obj.reset",
        "obj.feed",
        "obj.feed",
        "obj.get_confidence",
    ]
    assert lines[-1] == "obj.get_confidence()  # differs here"

    # pasted as it is, after the original and after the candidate, it shows the difference
    copy = tmp_path / "candidate"
    (copy / "chardet").mkdir(parents=True)
    for path in (chardet / "chardet").glob("*.py"):
        (copy / "chardet" / path.name).write_text(path.read_text())
    (copy / "chardet" / "sbcharsetprober.py").write_text(wrong)
    program = example.code.replace("obj.get_confidence()", "print(obj.get_confidence())")
    printed = [
        subprocess.run(
            [sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True
        ).stdout
        for root in (chardet, copy)
    ]
    assert printed[0] != printed[1]
    assert f"got {float(printed[1])}" in example.description


@pytest.mark.slow
def test_the_counters_in_locals_done_right_pass(chardet: Path) -> None:
    original = (chardet / "chardet" / "sbcharsetprober.py").read_text()
    right = candidate(original, "        total_seqs = self._total_seqs\n")
    result = perfloop.verify(TARGET, right, root=chardet, tiers=("replay", "interaction"), **QUICK)
    assert result.decision is Decision.EQUIVALENT, result.reason
    assert result.verdict is not None
    run = next(run for run in result.verdict.runs if run.tier == "interaction")
    assert run.outcome == "same" and run.inputs == 20  # the recorded histories
    assert "_total_seqs" in (run.note or "")  # treated as private

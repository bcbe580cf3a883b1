"""Bad input through the command line: exit code 2, one line naming file, key and value, no
traceback, and no output folder.

Each case is a real ``nysjanse`` process. The processes start concurrently in one module fixture
(each spends ~1.5 s importing the scientific stack), and each test then checks its own result.
Further bad values are checked in-process in test_scenario.py.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
TWO = ROOT / "tests" / "data" / "two_projects.toml"
NATIONAL = ROOT / "scenarios" / "ny_sjanse_2005_2006.toml"


@dataclass(frozen=True)
class Case:
    """A bad input: the files to write, the arguments, and what the one error line must name."""

    files: dict[str, str]  # name -> content ('@two' = copy of two_projects.toml)
    scenario: str  # the file given to `nysjanse run`
    extra: tuple[str, ...] = ()
    names: tuple[
        str, ...
    ] = ()  # strings the error line must contain (besides the file, unless on the command line)
    file_in_line: bool = True


EXTENDS = 'extends = "base.toml"\n'
CASES: dict[str, Case] = {
    "missing_file": Case({}, "does_not_exist.toml", names=("does_not_exist.toml",)),
    "bad_toml_syntax": Case(
        {"bad.toml": 'name = "x"\n[programme\nlength_months = 24\n'},
        "bad.toml",
        names=("TOML", "line 2"),
    ),
    "unknown_key": Case(
        {"base.toml": "@two", "typo.toml": EXTENDS + "[programme]\nlenght_months = 24\n"},
        "typo.toml",
        names=("programme.lenght_months", "24", "unknown key"),
    ),
    "wrong_type": Case(
        {"base.toml": "@two", "type.toml": EXTENDS + '[programme]\nlength_months = "two years"\n'},
        "type.toml",
        names=("programme.length_months", "'two years'", "number"),
    ),
    "negative_staff": Case(
        {"neg.toml": "@two:advisers_fte = 2.0 }=>advisers_fte = -1 }"},
        "neg.toml",
        names=("projects[0].staff[0].advisers_fte", "-1"),
    ),
    "zero_caseload": Case(
        {"base.toml": "@two", "zero.toml": EXTENDS + "[follow_up]\ncaseload_per_adviser = 0\n"},
        "zero.toml",
        names=("follow_up.caseload_per_adviser", "= 0"),
    ),
    "zero_length": Case(
        {"base.toml": "@two", "len.toml": EXTENDS + "[programme]\nlength_months = 0\n"},
        "len.toml",
        names=("programme.length_months", "= 0"),
    ),
    "report_date_before_start": Case(
        {
            "base.toml": "@two",
            "early.toml": EXTENDS + '[simulation]\nreport_dates = ["2004-06-01"]\n',
        },
        "early.toml",
        names=("simulation.report_dates[0]", "2004-06-01"),
    ),
    "extends_loop": Case(
        {
            "a.toml": 'extends = "b.toml"\nname = "a"\n',
            "b.toml": 'extends = "a.toml"\nname = "b"\n',
        },
        "a.toml",
        names=("extends", "a.toml", "b.toml", "loop"),
        file_in_line=False,  # the loop is reported in whichever file closes it; both names appear
    ),
    "bad_set_value": Case(
        {"base.toml": "@two"},
        "base.toml",
        extra=("--set", "programme.length_months=abc"),
        names=("command line", "programme.length_months", "'abc'"),
        file_in_line=False,
    ),
    "bad_set_syntax": Case(
        {"base.toml": "@two"},
        "base.toml",
        extra=("--set", "programme.length_months"),
        names=("command line", "--set", "programme.length_months"),
        file_in_line=False,
    ),
}


def _materialise(folder: Path, case: Case) -> None:
    for name, content in case.files.items():
        if content.startswith("@two"):
            text = TWO.read_text(encoding="utf-8")
            if ":" in content:
                old, new = content.split(":", 1)[1].split("=>")
                assert old in text
                text = text.replace(old, new, 1)
            content = text
        (folder / name).write_text(content, encoding="utf-8")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    def run(name: str):
        case = CASES[name]
        folder = tmp_path_factory.mktemp(name)
        _materialise(folder, case)
        out = folder / "out"
        proc = subprocess.run(
            [str(EXE), "run", case.scenario, "--replications", "1", "--out", str(out), *case.extra],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return name, (proc, out, folder)

    def validate(_: str):
        proc = subprocess.run(
            [str(EXE), "validate", str(NATIONAL)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return "validate", (proc, None, None)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = [pool.submit(run, name) for name in CASES] + [pool.submit(validate, "")]
        return dict(f.result() for f in futures)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_one_line(results, name):
    case = CASES[name]
    proc, out, folder = results[name]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("nysjanse: error: ")
    if case.file_in_line:
        assert case.scenario in line
    for text in case.names:
        assert text in line, f"{text!r} not in {line!r}"
    assert not out.exists()
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".out")]
    assert not leftovers  # no half-written temporary output either


def test_validate_national_scenario_succeeds(results):
    proc, _, _ = results["validate"]
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout and "21 projects" in proc.stdout
    assert "length 24 months" in proc.stdout


def test_set_length_is_applied():
    assert load_scenario(NATIONAL, ["programme.length_months=36"]).programme.length_months == 36.0
    assert load_scenario(NATIONAL).programme.length_months == 24.0

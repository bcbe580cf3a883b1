"""``nan`` and ``inf`` anywhere a number is read (issue 12, item 7): scenario keys, ``--set`` overrides,
the scenario's parameter values, parameter files. Each is refused with the usual one-line InputError;
through the command line it is exit code 2 and one line, no traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from model.errors import InputError
from model.parameters import load_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
NATIONAL = ROOT / "scenarios" / "ny_sjanse_2005_2006.toml"
SKIEN = ROOT / "scenarios" / "skien_intropuls.toml"
FITTED = ROOT / "calibration" / "fitted" / "ny_sjanse_2006" / "parameters.toml"


def _child(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "{NATIONAL.as_posix()}"\nname = "bad"\n{body}', encoding="utf-8")
    return path


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", "+nan"])
@pytest.mark.parametrize(
    "table, key",
    [("programme", "length_months"), ("follow_up", "caseload_per_adviser"), ("stipend", "g_multiple_per_year")],
)
def test_scenario_file_non_finite(tmp_path: Path, table: str, key: str, literal: str) -> None:
    path = _child(tmp_path, f"[{table}]\n{key} = {literal}\n")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.key == f"{table}.{key}"
    assert "finite" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override", ["programme.length_months=nan", "follow_up.caseload_per_adviser=inf",
                                      "parameters.values.completion.p_work=nan",
                                      "parameters.values.referral.intensity_multiplier=inf"])
def test_set_override_non_finite(override: str) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(SKIEN, [override])
    assert err.value.file == "command line (--set)"
    assert err.value.key == override.split("=")[0]


def test_project_staff_non_finite(tmp_path: Path) -> None:
    text = SKIEN.read_text(encoding="utf-8").replace("advisers_fte = 3.2", "advisers_fte = nan")
    path = tmp_path / "skien.toml"
    path.write_text(text.replace('extends = "ny_sjanse_2005_2006.toml"', f'extends = "{NATIONAL.as_posix()}"'), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert "advisers_fte" in err.value.key


@pytest.mark.parametrize("field", ["value", "low", "high"])
@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
def test_parameter_file_non_finite(tmp_path: Path, field: str, literal: str) -> None:
    text = FITTED.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[referral.intensity_multiplier]\n")
    lines = rest.split("\n")
    lines = [f"{field} = {literal}" if ln.startswith(f"{field} =") else ln for ln in lines]
    path = tmp_path / "parameters.toml"
    path.write_text(head + sep + "\n".join(lines), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_parameters([path])
    assert err.value.key == f"referral.intensity_multiplier.{field}"


def test_behaviour_style_entry_without_range_inf(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('[x.y]\nvalue = inf\nsource = "assumption"\nbasis = "test"\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_parameters([path])
    assert err.value.key == "x.y.value"


def test_cli_validate_nan_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _child(tmp_path, "[programme]\nlength_months = nan\n")
    done = subprocess.run([str(EXE), "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "programme.length_months" in lines[0] and "nan" in lines[0]
    assert "Traceback" not in done.stderr

"""The scenario loader: extends, overrides, validation, lever keys, frozen objects, the presets."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from model.errors import InputError
from model.scenario import LEVER_KEYS, SCHEMA, load_scenario, parse_override

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
TWO = DATA / "two_projects.toml"
PRESETS = sorted((ROOT / "scenarios").glob("*.toml")) + sorted(
    (ROOT / "scenarios" / "policy").glob("*.toml")
)

BASE = """
name = "Base"
description = "parent"

[simulation]
start_date = "2005-01-01"
horizon_date = "2008-12-31"
report_dates = ["2006-06-01", "2006-12-01"]

[programme]
length_months = 24
stages = [{ name = "intro", length_weeks = 10 }]

[follow_up]
caseload_per_adviser = 8

[stipend]
g_multiple_per_year = 2.0
under_25_fraction = 0.5

[[projects]]
name = "P1"
cohort = 2005
intake_start_date = "2005-03-01"
referrals_per_month = 2.0
staff = [{ date = "2005-02-01", advisers_fte = 1.0 }]

[[projects]]
name = "P2"
cohort = 2005
intake_start_date = "2005-03-01"
referrals_per_month = 3.0
staff = [{ date = "2005-02-01", advisers_fte = 2.0 }]
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "base.toml", BASE)


# ------------------------------------------------------------------------------------------ extends


def test_extends_merges_tables_key_by_key_and_replaces_arrays(tmp_path, base):
    child = write(
        tmp_path,
        "child.toml",
        """
extends = "base.toml"
name = "Child"

[simulation]
report_dates = ["2007-01-01"]

[programme]
length_months = 36

[[projects]]
name = "Only"
cohort = 2006
intake_start_date = "2006-01-01"
staff = [{ date = "2006-01-01", advisers_fte = 3.0 }]
""",
    )
    parent = load_scenario(base)
    scen = load_scenario(child)
    assert scen.name == "Child"
    assert scen.description == "parent"  # inherited top-level key
    # Tables merge key by key: length changed, stages and other [simulation] keys inherited.
    assert scen.programme.length_months == 36.0
    assert scen.programme.stages == parent.programme.stages
    assert [s.name for s in scen.programme.stages] == ["intro"]
    assert scen.simulation.start_date == dt.date(2005, 1, 1)
    assert scen.simulation.horizon_date == dt.date(2008, 12, 31)
    assert scen.follow_up.caseload_per_adviser == 8.0
    assert scen.stipend.under_25_fraction == 0.5
    # Arrays replace wholesale.
    assert scen.simulation.report_dates == (dt.date(2007, 1, 1),)
    assert [p.name for p in scen.projects] == ["Only"]
    assert scen.hash != parent.hash


def test_extends_chain_of_three(tmp_path, base):
    write(
        tmp_path,
        "mid.toml",
        'extends = "base.toml"\nname = "Mid"\n[follow_up]\ncaseload_per_adviser = 5\n',
    )
    leaf = write(
        tmp_path,
        "leaf.toml",
        'extends = "mid.toml"\nname = "Leaf"\n[stipend]\ng_multiple_per_year = 2.5\n',
    )
    scen = load_scenario(leaf)
    assert (scen.name, scen.follow_up.caseload_per_adviser, scen.stipend.g_multiple_per_year) == (
        "Leaf",
        5.0,
        2.5,
    )
    assert scen.stipend.under_25_fraction == 0.5  # from the grandparent
    assert scen.programme.length_months == 24.0


def test_extends_loop_is_an_input_error(tmp_path):
    write(tmp_path, "a.toml", 'extends = "b.toml"\nname = "a"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\nname = "b"\n')
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "a.toml")
    assert exc.value.key == "extends"
    assert "loop" in exc.value.allowed


def test_extends_self_and_missing_parent(tmp_path):
    write(tmp_path, "self.toml", 'extends = "self.toml"\nname = "s"\n')
    with pytest.raises(InputError, match="extends"):
        load_scenario(tmp_path / "self.toml")
    write(tmp_path, "orphan.toml", 'extends = "nowhere.toml"\nname = "o"\n')
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "orphan.toml")
    assert (exc.value.key, exc.value.value) == ("extends", "nowhere.toml")


def test_error_in_parent_names_the_parent_file(tmp_path, base):
    write(
        tmp_path,
        "bad_parent.toml",
        'extends = "base.toml"\nname = "bp"\n[programme]\nlenght_months = 3\n',
    )
    child = write(tmp_path, "child.toml", 'extends = "bad_parent.toml"\nname = "c"\n')
    with pytest.raises(InputError) as exc:
        load_scenario(child)
    assert exc.value.key == "programme.lenght_months"
    assert Path(exc.value.file).name == "bad_parent.toml"


# ---------------------------------------------------------------------------------------- overrides


def test_overrides_apply_last_as_strings_and_as_a_mapping(base):
    scen = load_scenario(base, ["programme.length_months=36", "stipend.level=social_assistance"])
    assert scen.programme.length_months == 36.0
    assert scen.stipend.level == "social_assistance"  # a bare word is read as a string
    scen2 = load_scenario(base, {"programme.length_months": 30, "eligibility.sexes": ["female"]})
    assert scen2.programme.length_months == 30.0
    assert scen2.eligibility.sexes == ("female",)
    scen3 = load_scenario(
        base, ['eligibility.sexes=["male"]', "simulation.report_dates=[2006-03-01]"]
    )
    assert scen3.eligibility.sexes == ("male",)
    assert scen3.simulation.report_dates == (dt.date(2006, 3, 1),)
    # Overrides change the hash; no overrides leave it alone.
    assert load_scenario(base).hash == load_scenario(base, []).hash != scen.hash


def test_national_scenario_takes_the_length_override():
    path = ROOT / "scenarios" / "ny_sjanse_2005_2006.toml"
    assert load_scenario(path).programme.length_months == 24.0
    assert load_scenario(path, ["programme.length_months=36"]).programme.length_months == 36.0


@pytest.mark.parametrize(
    "override, key",
    [
        ("programme.length_months=abc", "programme.length_months"),
        ("programme.length_months=0", "programme.length_months"),
        ("follow_up.caseload_per_adviser=-2", "follow_up.caseload_per_adviser"),
        ("stipend.under_25_fraction=1.5", "stipend.under_25_fraction"),
        ("programme.lenght_months=30", "programme.lenght_months"),
        ("name.x=1", "name.x"),
    ],
)
def test_bad_overrides_are_reported_against_the_command_line(base, override, key):
    with pytest.raises(InputError) as exc:
        load_scenario(base, [override])
    assert exc.value.file.startswith("command line")
    assert exc.value.key == key


def test_parse_override():
    assert parse_override("programme.length_months=36") == ("programme.length_months", 36)
    assert parse_override(" stipend.g_multiple_per_year = 2.5 ") == (
        "stipend.g_multiple_per_year",
        2.5,
    )
    assert parse_override('a.b="x=y"') == ("a.b", "x=y")
    with pytest.raises(InputError) as exc:
        parse_override("programme.length_months")
    assert exc.value.key == "--set"


# ------------------------------------------------------------------------------------------- levers


def test_lever_keys_have_exactly_these_names():
    assert LEVER_KEYS == (
        "programme.length_months",
        "follow_up.caseload_per_adviser",
        "stipend.g_multiple_per_year",
        "stipend.under_25_fraction",
    )
    for key in LEVER_KEYS:
        table, leaf = key.split(".")
        assert table in SCHEMA


@pytest.mark.parametrize(
    "key, value, read",
    [
        ("programme.length_months", 36, lambda s: s.programme.length_months),
        ("follow_up.caseload_per_adviser", 6, lambda s: s.follow_up.caseload_per_adviser),
        ("stipend.g_multiple_per_year", 1.5, lambda s: s.stipend.g_multiple_per_year),
        ("stipend.under_25_fraction", 1.0, lambda s: s.stipend.under_25_fraction),
    ],
)
def test_each_lever_is_a_scenario_key(base, key, value, read):
    before = load_scenario(base)
    after = load_scenario(base, [f"{key}={value}"])
    assert read(before) != value
    assert read(after) == value


# --------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "patch, key, value",
    [
        ("[programme]\nlenght_months = 24\n", "programme.lenght_months", 24),
        ("[programme]\nlength_months = 0\n", "programme.length_months", 0),
        ('[programme]\nlength_months = "two years"\n', "programme.length_months", "two years"),
        ("[programme]\nlength_months = true\n", "programme.length_months", True),
        ("[follow_up]\ncaseload_per_adviser = 0\n", "follow_up.caseload_per_adviser", 0),
        ("[stipend]\nunder_25_fraction = -0.1\n", "stipend.under_25_fraction", -0.1),
        ('[stipend]\nlevel = "generous"\n', "stipend.level", "generous"),
        (
            '[simulation]\nreport_dates = ["2004-06-01"]\n',
            "simulation.report_dates[0]",
            "2004-06-01",
        ),
        ('[simulation]\nhorizon_date = "2004-12-31"\n', "simulation.horizon_date", "2004-12-31"),
        ('[simulation]\nstart_date = "2005-13-01"\n', "simulation.start_date", "2005-13-01"),
        ("[eligibility]\nmax_age_years = 17\n", "eligibility.max_age_years", 17.0),
        ('[eligibility]\nsexes = ["other"]\n', "eligibility.sexes[0]", "other"),
        ("colour = 1\n", "colour", 1),
    ],
)
def test_bad_values_name_the_file_key_and_value(tmp_path, base, patch, key, value):
    path = write(tmp_path, "bad.toml", 'extends = "base.toml"\n' + patch)
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    err = exc.value
    assert err.file == str(path)
    assert err.key == key
    assert err.value == value
    assert err.allowed
    assert str(path) in str(err) and key in str(err)


def test_negative_staff_and_bad_project_entries(tmp_path, base):
    text = BASE.replace("advisers_fte = 1.0 }", "advisers_fte = -1 }")
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, "neg.toml", text))
    assert (exc.value.key, exc.value.value) == ("projects[0].staff[0].advisers_fte", -1)
    text = BASE.replace('name = "P2"', 'name = "P1"')
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, "dup.toml", text))
    assert exc.value.key == "projects[1].name"
    text = BASE.replace(
        'intake_start_date = "2005-03-01"\nreferrals_per_month = 2.0',
        'intake_start_date = "2001-03-01"\nreferrals_per_month = 2.0',
    )
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, "early.toml", text))
    assert exc.value.key == "projects[0].intake_start_date"


def test_missing_required_key_and_syntax_and_missing_file(tmp_path):
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, "noname.toml", BASE.replace('name = "Base"', "")))
    assert exc.value.key == "name"
    with pytest.raises(InputError) as exc:
        load_scenario(write(tmp_path, "syntax.toml", 'name = "x"\n[programme\n'))
    assert "TOML" in exc.value.allowed
    with pytest.raises(InputError) as exc:
        load_scenario(tmp_path / "absent.toml")
    assert exc.value.file == str(tmp_path / "absent.toml")


# ---------------------------------------------------------------------------------------- objects


def test_scenario_objects_are_frozen():
    scen = load_scenario(TWO)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.programme.length_months = 36  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.follow_up.caseload_per_adviser = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scen.projects[0].staff[0].advisers_fte = 9  # type: ignore[misc]
    assert isinstance(scen.projects, tuple) and isinstance(scen.simulation.report_dates, tuple)


def test_two_projects_test_scenario():
    scen = load_scenario(TWO)
    assert [p.name for p in scen.projects] == ["A", "B"]
    a, b = scen.projects
    assert a.fte_on(dt.date(2005, 2, 1)) == 0.0
    assert a.fte_on(dt.date(2005, 6, 1)) == 2.0
    assert a.fte_on(dt.date(2006, 6, 1)) == 3.0
    assert scen.total_fte_on(dt.date(2006, 6, 1)) == pytest.approx(6.2)
    assert scen.has_groups
    assert [(g.name, g.size, g.referrals) for g in b.groups] == [
        ("Aug 2005", 18, 18),
        ("Mar 2006", 15, 20),
    ]
    assert scen.simulation.referral_end_date == dt.date(
        2006, 12, 1
    )  # defaults to the last report date
    assert scen.report_date == dt.date(2006, 12, 1)


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_preset_loads(path):
    scen = load_scenario(path)
    assert scen.projects
    assert scen.simulation.start_date < scen.report_date <= scen.simulation.horizon_date
    for key in LEVER_KEYS:
        table, leaf = key.split(".")
        assert getattr(getattr(scen, table), leaf) > 0 or key == "stipend.under_25_fraction"


def test_there_are_presets():
    assert any(p.name == "ny_sjanse_2005_2006.toml" for p in PRESETS)

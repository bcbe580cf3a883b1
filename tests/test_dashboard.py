"""The Streamlit dashboard's logic, driven by Streamlit's AppTest (no browser).

The defaults run and show the society NPV in NOK; bad uploads, bad overrides and extreme levers
give a message in the page, never an exception or a traceback. The NPV intervals are over PSA parameter
draws by default (Monte Carlo replications as an option), under a chosen convention set. Few replications
and draws keep it quick (``NYSJANSE_DASHBOARD_REPLICATIONS``, ``NYSJANSE_DASHBOARD_DRAWS``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
NOK = re.compile(r"NOK [+-]?\d[\d,]*(\.\d+)? ?(bn|M|k)?")
DRAWS = 20


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("NYSJANSE_DASHBOARD_REPLICATIONS", "2")
    monkeypatch.setenv("NYSJANSE_DASHBOARD_DRAWS", str(DRAWS))
    # AppTest runs the script as sys.modules["__main__"]; put the real one back afterwards, or later
    # tests that spawn processes (multiprocessing, Dask) would re-run the dashboard in their children.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception
    return at


def _texts(at: AppTest) -> list[str]:
    """Every piece of text the page shows (markdown, captions, alerts, metrics, labels)."""
    out = [m.value for m in at.markdown] + [c.value for c in at.caption]
    out += [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    out += [f"{m.label} {m.value}" for m in at.metric]
    return [str(t) for t in out]


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not any("Traceback" in t for t in _texts(at))


def test_page_loads_with_two_default_scenarios(app: AppTest) -> None:
    _assert_clean(app)
    assert "Ny sjanse" in app.title[0].value
    assert app.multiselect(key="selection").value == [
        "scenarios/ny_sjanse_2005_2006.toml",
        "scenarios/policy/length_36_months.toml",
    ]
    assert app.slider(key="replications").value == 2
    assert app.slider(key="draws").value == DRAWS
    assert app.radio(key="interval").value == "psa"  # what we do not know, by default
    from model.conventions import convention_names

    assert app.selectbox(key="conventions").options[0].startswith("default")
    assert app.selectbox(key="conventions").value == "default"
    assert len(app.selectbox(key="conventions").options) == len(convention_names())
    assert not app.button(key="run").disabled
    assert 'page_title="nysjanse' in Path(APP).read_text(encoding="utf-8")


def test_defaults_run_and_show_society_npv_in_nok(app: AppTest) -> None:
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not app.error, [e.value for e in app.error]
    society = [m for m in app.metric if m.label == "Society NPV"]
    assert len(society) == 2
    assert all(NOK.fullmatch(m.value) for m in society), [m.value for m in society]
    assert society[1].delta and society[1].delta.endswith("vs A")
    texts = " ".join(_texts(app))
    assert f"90 % interval over {DRAWS} parameter draws: what we do not know" in texts
    assert "nysjanse cba" in texts
    # the perspective table and the differences (the paired PSA differences among them)
    frames = [d.value for d in app.dataframe]
    assert any("Society" in f.index for f in frames)
    assert any("Society" in f.index and any("− A" in c for c in f.columns) and "P(better)" in f.iloc[0, 0]
               for f in frames)
    # moving back to the same settings is served from the cache, and the results stay on the page
    app.run()
    _assert_clean(app)
    psa_values = [m.value for m in app.metric if m.label == "Society NPV"]
    assert psa_values == [m.value for m in society]
    # the Monte Carlo view: replications at the point values, labelled as simulation noise only
    app.radio(key="interval").set_value("mc").run()
    app.button(key="run").click().run()
    _assert_clean(app)
    captions = [c.value for c in app.caption]
    assert sum("90 % Monte Carlo interval over 2 replications: simulation noise only" in c for c in captions) == 2
    assert not any("parameter draws: what we do not know" in c for c in captions)
    mc_values = [m.value for m in app.metric if m.label == "Society NPV"]
    assert len(mc_values) == 2 and mc_values != psa_values  # point parameters vs the mean over draws


def test_the_plain_language_answer_is_on_top_and_follows_the_numbers(app: AppTest) -> None:
    app.button(key="run").click().run()
    _assert_clean(app)
    answers = [m.value for m in app.markdown if "For society the programme" in m.value]
    assert len(answers) == 2, answers
    captions = [c.value for c in app.caption if "parameter draws: what we do not know" in c.value]
    cards = [m.value for m in app.metric if m.label == "Society NPV"]
    for text, caption, card in zip(answers, captions, cards, strict=True):
        assert "per participant" in text and f"(90 % interval over {DRAWS} parameter draws:" in text
        # the probability is the one in the overview card; the verb follows the sign of the NPV (these
        # scenarios are far from zero: a mean per participant and a mean total of the same sign)
        p = re.search(r"P\(NPV > 0\) = (\d+) %", caption).group(1)
        assert f"the probability that it pays is {p} %" in text or (p == "0" and "below 1 %" in text)
        verb = "programme costs NOK" if card.startswith("NOK -") else "programme returns NOK"
        assert verb in text
        assert ("programme returns NOK" in text) != ("programme costs NOK" in text)
    assert "most sensitive to" not in " ".join(answers)
    app.button(key="tornado_run").click().run()
    _assert_clean(app)
    answers = [m.value for m in app.markdown if "For society the programme" in m.value]
    table = app.session_state["tornado_result"]["table"]
    top = table.loc[table["swing"].idxmax(), "parameter"]
    assert sum(f"most sensitive to `{top}`" in a for a in answers) == 1  # the tornado's scenario only


def test_what_to_find_out_next_is_on_the_page_and_in_the_answer(app: AppTest) -> None:
    pytest.importorskip("model.voi")
    assert app.toggle(key="voi").value is True
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not app.error, [e.value for e in app.error]
    markdown = [m.value for m in app.markdown]
    assert any("What to find out next" in m for m in markdown)
    voi_readings = [m for m in markdown if "perfect information on every parameter would be worth" in m]
    answers = [m for m in markdown if "For society the programme" in m]
    assert len(voi_readings) == 2 and len(answers) == 2
    for reading_, answer_ in zip(voi_readings, answers, strict=True):
        top = re.search(r"the group most worth finding out is <b>(.+?)</b>", reading_)
        if top:  # the answer names the same group as the chart's reading
            assert f"the thing most worth finding out is {top.group(1)} (" in answer_
            assert "per cohort)" in answer_
        else:
            assert "no group is worth paying to resolve" in reading_
            assert "no uncertainty is worth paying to resolve" in answer_
    # switched off: no value of information, and the answer has no such clause
    app.toggle(key="voi").set_value(False).run()
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not any("worth finding out" in m.value or "worth paying" in m.value for m in app.markdown
                   if "For society the programme" in m.value)


def test_a_convention_set_reprices_and_default_is_first(app: AppTest) -> None:
    app.button(key="run").click().run()
    default = [m.value for m in app.metric if m.label == "Society NPV"]

    def mc_differences() -> list[str]:  # the Monte Carlo differences table (model.compare), its values
        frames = [d.value for d in app.dataframe if "Δ years in work per participant" in d.value.index]
        assert len(frames) == 1
        return frames[0].to_numpy().ravel().tolist()

    default_differences = mc_differences()
    # no_extrapolation: no employment effect beyond the simulated horizon (model/defaults/conventions.toml)
    app.selectbox(key="conventions").set_value("no_extrapolation").run()
    assert any("changed since these results" in w.value for w in app.warning)
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not app.error, [e.value for e in app.error]
    changed = [m.value for m in app.metric if m.label == "Society NPV"]
    assert len(changed) == 2 and changed[0] != default[0] and changed[1] != default[1]
    assert any("Analysis conventions: **no_extrapolation**" in i.value for i in app.info)
    changed_differences = mc_differences()
    assert changed_differences[0] != default_differences[0]  # Δ NPV for society: re-priced, not from the cache


def test_changing_a_lever_marks_results_stale_and_reruns(app: AppTest) -> None:
    app.button(key="run").click().run()
    first = [m.value for m in app.metric if m.label == "Society NPV"]
    key = "lv|scenarios/policy/length_36_months.toml|caseload"
    app.number_input(key=key).set_value(15.0).run()
    _assert_clean(app)
    assert any("changed since these results" in w.value for w in app.warning)
    assert any("follow_up.caseload_per_adviser=15.0" in c.value for c in app.caption)
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not app.warning
    second = [m.value for m in app.metric if m.label == "Society NPV"]
    assert second[0] == first[0]  # A untouched, same seed: the same persons and the same result
    assert second[1] != first[1]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "programme.length_months=-3",
            "command line (--set): programme.length_months = -3: a number in (0, 120]",
        ),
        (
            "stipend.level=generous",
            "stipend.level = 'generous': one of ['g_multiple', 'social_assistance']",
        ),
        ("just words", "command line: --set = 'just words': dotted.key=value"),
        (
            "parameters.values.no_such.parameter=1",
            "parameters.values.no_such.parameter = 1.0: the name of a registry parameter",
        ),
    ],
)
def test_a_bad_override_shows_the_cli_message(app: AppTest, line: str, message: str) -> None:
    app.text_area(key="lv|scenarios/ny_sjanse_2005_2006.toml|extra").set_value(line).run()
    _assert_clean(app)
    errors = [e.value for e in app.error]
    assert any(message in e for e in errors), errors
    assert app.button(key="run").disabled


def test_extreme_levers_give_results_or_a_message(app: AppTest) -> None:
    k = "lv|scenarios/policy/length_36_months.toml|"
    app.slider(key=k + "length").set_value(120.0)
    app.number_input(key=k + "caseload").set_value(500.0)
    app.slider(key=k + "g").set_value(0.0)
    app.slider(key=k + "ref").set_value(0.1)
    app.run()
    app.button(key="run").click().run()
    _assert_clean(app)
    assert len([m for m in app.metric if m.label == "Society NPV"]) == 2 or app.error


def test_bad_uploads_show_one_line_errors(app: AppTest) -> None:
    cases = [
        (
            ("broken.toml", b"name = [unclosed", "application/toml"),
            "upload: broken.toml = '(file)': valid TOML syntax",
        ),
        (
            ("big.toml", b"#" * 250_000, "application/toml"),
            "upload: big.toml = '250 kB': a scenario file of at most 200 kB",
        ),
        (
            ("binary.toml", b"\xff\xfe\x00\x01", "application/toml"),
            "upload: binary.toml = '(binary)': a UTF-8 TOML text file",
        ),
        (
            (
                "bad.toml",
                b'extends = "ny_sjanse_2005_2006.toml"\nname = "Bad"\n'
                b"[programme]\nlength_months = -3\n",
                "application/toml",
            ),
            "upload: bad.toml: programme.length_months = -3: a number in (0, 120]",
        ),
        (
            (
                "typo.toml",
                b'extends = "ny_sjanse_2005_2006.toml"\nname = "Typo"\n'
                b"[programme]\nlenght_months = 30\n",
                "application/toml",
            ),
            "upload: typo.toml: programme.lenght_months = 30: an unknown key",
        ),
        (("loop.toml", b'extends = "loop.toml"\nname = "Loop"\n', "application/toml"), "extends"),
        (
            ("away.toml", b'extends = "/etc/hosts"\nname = "Away"\n', "application/toml"),
            "upload: away.toml: extends = '/etc/hosts': a scenario file inside the scenarios/ folder",
        ),
        (
            ("code.toml", b"name = \"__import__('os').system('echo hi')\"\n", "application/toml"),
            "a required key (missing)",
        ),
    ]
    for file, message in cases:
        app.get("file_uploader")[0].set_value(file)
        app.run()
        _assert_clean(app)
        errors = [e.value for e in app.error]
        assert any(message in e for e in errors), (file[0], errors)
        assert not any(k.startswith("upload:") for k in app.multiselect(key="selection").value)


def test_a_good_upload_is_added_and_runs(app: AppTest) -> None:
    text = (
        'extends = "policy/length_36_months.toml"\n'
        'name = "My 30-month variant"\n'
        "[programme]\nlength_months = 30\n"
    )
    app.get("file_uploader")[0].set_value(("mine.toml", text.encode(), "application/toml"))
    app.run()
    _assert_clean(app)
    assert "upload:mine.toml" in app.multiselect(key="selection").value
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not app.error, [e.value for e in app.error]
    names = " ".join(m.value for m in app.markdown)
    assert "My 30-month variant" in names


def test_a_failing_run_shows_a_short_error_with_details_not_a_traceback(app: AppTest) -> None:
    # Referrals end the day after the simulation starts: nobody is ever referred, so there are no
    # person-months to price and the library raises (model.economics.ledger: "nothing to price"). (A tiny
    # caseload no longer does: since group gates admit their group whatever the places, 2f4910a.)
    app.text_area(key="lv|scenarios/policy/length_36_months.toml|extra").set_value(
        "simulation.referral_end_date=2005-01-02"
    ).run()
    app.button(key="run").click().run()
    _assert_clean(app)
    errors = [e.value for e in app.error]
    assert any(e.startswith("The simulation did not work: ") for e in errors), errors
    assert not any("Traceback" in c.value for c in app.code)
    assert any("Technical details" in x.label for x in app.expander)


def test_a_dead_worker_process_does_not_break_the_page(app: AppTest) -> None:
    """A worker of the page's process pool dies (killed, out of memory): the run still completes (in the
    page's process) and later runs get a fresh pool."""
    import multiprocessing
    import os
    import signal

    app.button(key="run").click().run()
    _assert_clean(app)
    workers = [p for p in multiprocessing.active_children() if type(p).__name__ == "ForkServerProcess"]  # the page's pool
    if not workers:
        pytest.skip("the page runs without worker processes on this machine (one CPU)")
    for w in workers:
        os.kill(w.pid, signal.SIGKILL)
    key = "lv|scenarios/policy/length_36_months.toml|caseload"
    app.number_input(key=key).set_value(12.0).run()
    app.button(key="run").click().run()
    _assert_clean(app)
    assert not app.error, [e.value for e in app.error]
    assert len([m for m in app.metric if m.label == "Society NPV"]) == 2

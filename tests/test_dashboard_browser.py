"""End to end: the dashboard in headless Chromium, as a planner would use it.

Starts ``streamlit run dashboard/app.py`` on a free port, picks two scenarios, changes a lever,
runs, and checks that NPV values in NOK appear and that no error or traceback does; saves
screenshots under tests/artifacts/ (git-ignored). Uses Debian's Chromium (/usr/bin/chromium)
through Playwright's Python API; never downloads a browser. Skipped when Chromium is missing
outside CI; in CI (CI=true) a missing Chromium fails.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IN_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
NOK_VALUE = re.compile(r"NOK [+-]?\d[\d,]*(\.\d+)? ?(bn|M|k)")

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing in CI (.ci/run installs Debian's chromium package)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The dashboard, started as `make dashboard` does, on a free port; few replications (quick)."""
    _require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    exe = ROOT / ".venv" / "bin" / "streamlit"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "streamlit"]
    cmd += [
        "run",
        "dashboard/app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {**os.environ, "NYSJANSE_DASHBOARD_REPLICATIONS": "2"}
    log = (ARTIFACTS / "dashboard_server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start within 90 s; see {log.name}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _choose(page: object, text: str) -> None:
    """Add a scenario in the sidebar's multiselect by typing part of its name."""
    box = page.get_by_test_id("stMultiSelect").first
    box.locator("input").click()
    page.keyboard.type(text)
    page.get_by_role("option", name=re.compile(re.escape(text))).first.click()
    page.keyboard.press("Escape")


def _assert_no_errors(page: object) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_test_id("stAlertContentError").count() == 0, body[:2000]


def test_compare_two_scenarios_in_a_browser(server: str, browser: object) -> None:
    page = browser.new_page(viewport={"width": 1440, "height": 1800})
    page.set_default_timeout(60_000)
    try:
        page.goto(server)
        page.wait_for_function("document.title.includes('nysjanse')")
        page.get_by_role("button", name="Run comparison").wait_for()
        assert "nysjanse" in page.title()

        # Pick two scenarios: clear the defaults, then the national scheme and the 1:15 variant.
        page.get_by_test_id("stMultiSelect").first.get_by_role("button", name="Clear all").click()
        _choose(page, "Ny sjanse 2005-2006 (national)")
        _choose(page, "follow-up 1:15")
        page.get_by_text("Ny sjanse with follow-up 1:15", exact=True).wait_for()
        page.get_by_role("button", name="Save these settings (TOML)").nth(1).wait_for()
        page.get_by_text(re.compile(r"^2 scenarios × 2 replications")).wait_for()
        page.screenshot(path=str(ARTIFACTS / "dashboard_1_setup.png"))

        # Change a lever of B: 12 participants per adviser instead of 15.
        caseload = (
            page.get_by_label("Participants per adviser", exact=True)
            .and_(page.locator("input"))
            .nth(1)
        )
        caseload.fill("12")
        caseload.press("Enter")
        page.get_by_text("follow_up.caseload_per_adviser=12.0").wait_for()

        started = time.monotonic()
        page.get_by_role("button", name="Run comparison").click()
        page.get_by_text("Society NPV").nth(1).wait_for(timeout=180_000)
        page.get_by_text(re.compile(r"^Simulated 2 scenarios")).wait_for(timeout=180_000)
        page.wait_for_timeout(1500)  # let the charts draw
        seconds = time.monotonic() - started

        body = page.locator("body").inner_text()
        (ARTIFACTS / "dashboard_body.txt").write_text(body, encoding="utf-8")
        assert "Society" in body
        values = [m.group(0) for m in NOK_VALUE.finditer(body)]
        assert len(values) >= 4, body[:2000]
        assert "Ny sjanse with follow-up 1:15 (edited)" in body
        _assert_no_errors(page)
        # Streamlit scrolls inside the page: a tall window shows the results whole.
        page.set_viewport_size({"width": 1440, "height": 3000})
        page.wait_for_timeout(1000)
        page.screenshot(path=str(ARTIFACTS / "dashboard_2_overview.png"), full_page=True)

        for tab, shot in (
            ("Flows", "dashboard_3_flows.png"),
            ("Over time", "dashboard_4_over_time.png"),
            ("Why the difference", "dashboard_5_why.png"),
        ):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
            _assert_no_errors(page)

        # The settings download is a scenario file that validates again (extends: from scenarios/).
        with page.expect_download() as dl:
            page.get_by_role("button", name="Save these settings (TOML)").nth(1).click()
        text = Path(dl.value.path()).read_text(encoding="utf-8")
        from model.scenario import parse_toml_text, scenario_from_document

        scen = scenario_from_document(
            parse_toml_text(text, "download"), ROOT / "scenarios" / "saved.toml"
        )
        assert scen.follow_up.caseload_per_adviser == 12.0
        assert scen.name == "Ny sjanse with follow-up 1:15 (edited)"
        assert seconds < 120
    finally:
        page.close()

"""The report and the dashboard in real headless Chromium (Debian's, via selenium)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest

from poolnas.dashboards import write_report
from poolnas.dashboards.server import make_dashboard_server
from poolnas.storage import open_storage
from poolnas.testing import synthetic_studies as S

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_chromium() -> None:
    """Skip (or fail under POOLNAS_REQUIRE_ALL=1) when headless Chromium is missing."""
    if CHROMIUM and CHROMEDRIVER:
        return
    reason = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("POOLNAS_REQUIRE_ALL") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


# What headless Chromium needs in a container: root (no sandbox), a closed network.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def study_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'studies.db'}"
    study = S.create("browser-srp", url)
    table = [({"attention.pooling": "srp-ss", "attention.lam": lam, "attention.schedule": sched},
              [0.6 + lam / 10, 0.62])
             for lam in (0.4, 0.8) for sched in ("fixed", "linear")]
    table += [({"attention.pooling": "srp-ms", "attention.lam": lam, "attention.M": m}, [0.7 + m / 100])
              for lam in (0.4, 0.8) for m in (2, 4)]
    S.fill(study, table)
    return url


def _wait(predicate, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


# For each figure div: how many .main-svg it holds and how many data points its traces have.
_FIGURE_STATE = """
const keys = JSON.parse(document.getElementById('poolnas-figures').textContent);
const len = a => (a && typeof a.length === 'number') ? a.length : 0;
return keys.map(k => {
  const gd = document.getElementById('fig-' + k);
  if (!gd) return [k, -1, 0];
  // _fullData: the traces as drawn (binary-encoded arrays decoded to typed arrays).
  const n = (gd._fullData || []).reduce((a, t) => a + Math.max(
      len(t.x), len(t.y), len(t.z), len(((t.dimensions || [])[0] || {}).values)), 0);
  return [k, gd.querySelectorAll('.main-svg').length, n];
});
"""


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _check_figures(driver) -> list[list]:
    state = _wait(lambda: (s := driver.execute_script(_FIGURE_STATE)) and all(c >= 3 for _, c, _ in s) and s)
    assert state, driver.execute_script(_FIGURE_STATE)
    for key, svgs, points in state:
        assert svgs >= 3, key  # Plotly draws three .main-svg layers per figure
        assert points > 0, key
    return state


def test_report_in_chromium(browser, study_url, tmp_path):
    path = write_report("browser-srp", study_url, tmp_path / "report.html")
    browser.get(path.as_uri())
    state = _check_figures(browser)
    keys = [k for k, _, _ in state]
    assert {"srp-fig2", "srp-fig3", "srp-fig7", "optuna-history", "optuna-importances",
            "optuna-parallel", "optuna-contour", "optuna-slice"} <= set(keys)
    assert _errors(browser) == []


def test_report_verdict_in_chromium(browser, tmp_path):
    url = f"sqlite:///{tmp_path / 'verdict.db'}"
    study = S.create("browser-verdict", url, space={"study": "browser-verdict",
                                                     "baseline": {"attention.pooling": "gap"}})
    S.fill(study, [({"attention.pooling": "gap"}, [0.70, 0.71, 0.705]),
                   ({"attention.pooling": "srp-ms", "attention.lam": 0.2, "attention.M": 5},
                    [0.76, 0.775, 0.77]),
                   ({"attention.pooling": "mix"}, [0.705, 0.70, 0.712])])
    path = write_report("browser-verdict", url, tmp_path / "verdict.html")
    browser.get(path.as_uri())
    state = {k: (svgs, points) for k, svgs, points in _check_figures(browser)}
    assert state["verdict"][0] >= 3 and state["verdict"][1] >= 9  # every seed a dot
    headings = [h.text for h in browser.find_elements("tag name", "h2")]
    assert headings[0] == "Verdict"  # the answer comes first
    baseline = browser.find_element("id", "verdict-baseline").text
    better = browser.find_element("id", "verdict-better").text
    near = browser.find_element("id", "verdict-near").text
    assert "attention.pooling=gap" in baseline and "n=3" in baseline
    assert "srp-ms" in better and "simultaneous 95% interval [+" in better and "mix" not in better
    assert "No other configuration is indistinguishable" in near
    # The figure's markers: one per pooling type with the verdict's interval, the best (srp-ms) a star.
    traces = browser.execute_script(
        "return document.getElementById('fig-verdict')._fullData.filter(d => d.error_y && d.error_y.visible)"
        ".map(d => [Array.from(d.x), d.marker.symbol, d.name]);")
    stars = [x for xs, symbol, _ in traces if symbol == "star" for x in xs]
    assert stars == ["srp-ms"] and all("interval" in name for _, _, name in traces)
    assert state["forest"][0] >= 1  # the forest plot is drawn
    assert _errors(browser) == []


@pytest.fixture(scope="module")
def server(study_url):
    storage = open_storage(study_url)
    srv = make_dashboard_server(storage, "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}", storage
    srv.shutdown()
    srv.server_close()


def test_dashboard_in_chromium_is_read_only(browser, server):
    base, storage = server
    browser.get(base + "/dashboard")
    assert _wait(lambda: "browser-srp" in browser.find_element("tag name", "body").text, 60)
    sid = storage.get_study_id_from_name("browser-srp")
    request = urllib.request.Request(f"{base}/api/studies/{sid}", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 403
    with urllib.request.urlopen(f"{base}/api/studies", timeout=30) as resp:
        names = [s["study_name"] for s in json.load(resp)["study_summaries"]]
    assert names == ["browser-srp"] and optuna.study.get_all_study_names(storage) == ["browser-srp"]
    # The study page still shows it after the refused delete, and our report page draws.
    browser.get(f"{base}/dashboard/studies/{sid}")
    assert _wait(lambda: "browser-srp" in browser.find_element("tag name", "body").text, 60)
    browser.get(f"{base}/poolnas/report/browser-srp")
    _check_figures(browser)
    assert _errors(browser) == []


def test_png_export_through_kaleido(study_url, tmp_path):
    require_chromium()
    from poolnas.cli import main

    out = tmp_path / "png"
    assert main(["report", "--study", "browser-srp", "--storage", study_url, "-o",
                 str(tmp_path / "r.html"), "--png", str(out)]) == 0
    pngs = sorted(p.name for p in out.iterdir())
    assert "srp-fig2.png" in pngs and "optuna-history.png" in pngs
    assert all(Path(out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)

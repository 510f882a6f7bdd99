"""The fixed figure defects of issue 22 item 7, as headless Chromium draws them: the SAAM
K axis has the ticks 1, 2, 4 only; BA2M's R axis the ticks 2 ... 32 evenly spaced; the
markers are filled with the Δ colour, not the line's; the baseline band is a strip at the
left edge, not a wash over the plot."""

from __future__ import annotations

import shutil

import pytest

from poolnas.dashboards import write_report
from poolnas.testing import synthetic_studies as S

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900")

# per figure: x tick labels, x positions of the ticks, the fill of the first data trace's
# markers and its line colour, the baseline strip's width over the plot's width
_STATE = """
const out = {};
for (const key of arguments[0]) {
  const gd = document.getElementById('fig-' + key);
  if (!gd || !gd._fullLayout) { out[key] = null; continue; }
  const ticks = Array.from(gd.querySelectorAll('.xtick text')).map(t => t.textContent);
  const pos = Array.from(gd.querySelectorAll('.xtick')).map(t => {
    const r = t.getBoundingClientRect(); return r.x + r.width / 2; });
  const tr = gd.querySelector('.scatterlayer .trace .points path.point');
  const line = gd._fullData.find(d => d.mode === 'lines+markers' || d.mode === 'markers');
  const rect = gd.querySelector('.shapelayer path');
  const plot = gd.querySelector('.nsewdrag') || gd.querySelector('.bglayer rect');
  out[key] = {ticks: ticks, pos: pos, fill: tr ? tr.style.fill : null,
              line: line ? line.line.color : null,
              strip: rect && plot ? rect.getBoundingClientRect().width / plot.getBoundingClientRect().width : null};
}
return out;
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver are needed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _state(browser, keys):
    import time

    end = time.monotonic() + 30
    while time.monotonic() < end:
        state = browser.execute_script(_STATE, keys)
        if all(state.get(k) and state[k]["ticks"] for k in keys):
            return state
        time.sleep(0.2)
    return browser.execute_script(_STATE, keys)


def test_discrete_axes_delta_fill_and_baseline_strip_in_chromium(browser, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'figs.db'}"
    study = S.create("figs", url)
    table = [({"attention.pooling": "gap"}, [0.700, 0.705, 0.710])]
    table += [({"attention.pooling": "score", "attention.paths": k}, [0.70 + k / 100, 0.712, 0.72])
              for k in (1, 2, 4)]
    table += [({"attention.pooling": "gap", "attention.batch_attention.enabled": True,
                "attention.batch_attention.reduction": r}, [0.70 + r / 1000, 0.705, 0.71])
              for r in (2, 4, 8, 16, 32)]
    S.fill(study, table)
    path = write_report("figs", url, tmp_path / "figs.html")
    browser.get(path.as_uri())
    state = _state(browser, ["saam-paths", "ba2m-reduction"])
    saam, ba2m = state["saam-paths"], state["ba2m-reduction"]
    assert saam["ticks"] == ["1", "2", "4"]  # no 1.5, no 3
    assert ba2m["ticks"] == ["2", "4", "8", "16", "32"]
    gaps = [b - a for a, b in zip(ba2m["pos"], ba2m["pos"][1:], strict=False)]
    assert max(gaps) - min(gaps) < 2  # a log2 axis: powers of two evenly spaced (px)
    for fig in (saam, ba2m):
        assert fig["fill"] and fig["fill"].replace(" ", "") != fig["line"].replace(" ", "")  # Δ fill
        assert fig["strip"] is not None and fig["strip"] < 0.06  # the baseline band: a strip

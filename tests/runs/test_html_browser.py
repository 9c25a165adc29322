"""report.html in a real headless browser (Chromium): it draws its figures with no console
message and no error, from disk (file://) and live from `evo-lacer report --serve`.

Skipped where no Chromium is on PATH (`apt-get install -y chromium`). Set EVO_LACER_SCREENSHOTS
to a folder to keep the screenshots."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from evo_lacer.runs import RunStore, write_report
from evo_lacer.runs._html import page_data, render_page
from evo_lacer.runs._run_record import _load
from evo_lacer.runs._serve import LiveReport

from ._browser import chromium_or_skip, load, screenshot
from ._records import candidate
from .test_report import assert_png, make_run

SECTIONS = ("Every candidate", "Lineage", "Fitness against size and speed", "Feature statistics",
            "Who made each child")


def _keep(png: Path, name: str) -> None:
    folder = os.environ.get("EVO_LACER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(folder) / name)


def test_report_html_renders_in_chromium(search_run: Path, tmp_path: Path) -> None:
    browser = chromium_or_skip()
    write_report(search_run, tmp_path / "rep")
    page = (tmp_path / "rep" / "report.html").resolve()
    loaded = load(browser, page.as_uri(), tmp_path / "profile")
    assert loaded.console == [], loaded.console
    assert loaded.attribute("data-rendered") == "ok", loaded.dom[-2000:]
    assert re.search(r'<div id="error-banner" hidden', loaded.dom)
    # candidates + lineage + 2 trade-off plots + 3 arm bars + feature bars, heatmap, probes
    assert int(loaded.attribute("data-plots") or 0) >= 10
    records = RunStore.open(search_run).candidates()
    assert loaded.attribute("data-candidates") == str(len(records))
    for title in SECTIONS:
        assert f"<h2>{title}" in loaded.dom
    exchanges = RunStore.open(search_run).llm_exchanges()
    assert f"LLM log ({len(exchanges)} exchanges)" in loaded.dom
    assert loaded.dom.count("<circle data-c=") >= sum(r["feedback"]["status"] == "ok" for r in records)
    assert "How candidate" in loaded.dom  # the best's ancestry, edit by edit
    png = screenshot(browser, page.as_uri(), tmp_path / "report.png", tmp_path / "profile")
    assert_png(png)
    _keep(png, "report_search_run.png")


def test_several_runs_draw_the_strategy_comparison(tmp_path: Path) -> None:
    browser = chromium_or_skip()
    for name, strategy, offset in [("hybrid-0", "hybrid", 1.0), ("hybrid-1", "hybrid", 2.0),
                                   ("random-0", "random", 0.0)]:
        make_run(tmp_path / "runs" / name, strategy, offset, llm=strategy == "hybrid")
    write_report(tmp_path / "runs")
    loaded = load(browser, (tmp_path / "runs" / "report.html").resolve().as_uri(), tmp_path / "profile")
    assert loaded.console == [] and loaded.attribute("data-rendered") == "ok", loaded.console
    assert "<h2>Strategies compared" in loaded.dom and "hybrid (2 runs)" in loaded.dom
    assert "failed / timed out" in loaded.dom and "rejected by the gate" in loaded.dom


def test_a_page_that_breaks_says_so(tmp_path: Path) -> None:
    """The checks above can fail: a page whose data is damaged shows its error and is not 'ok'."""
    browser = chromium_or_skip()
    make_run(tmp_path / "run", "hybrid")
    data = page_data([_load(tmp_path / "run", "run")])
    data["runs"][0]["cands"] = 5  # not a list: drawing it throws
    (tmp_path / "broken.html").write_text(render_page(data))
    loaded = load(browser, (tmp_path / "broken.html").resolve().as_uri(), tmp_path / "profile")
    assert loaded.attribute("data-rendered") == "error"
    assert "This page hit an error while drawing" in loaded.dom


def test_live_page_redraws_as_candidates_arrive(tmp_path: Path) -> None:
    """`evo-lacer report --serve`: data.json follows the run folder; the page served on
    127.0.0.1 fetches it and draws without console errors."""
    import urllib.request

    browser = chromium_or_skip()
    store = RunStore.create(tmp_path / "run", {"strategy": "hybrid", "seed": 0})
    store.append_candidate(candidate(0, fitness=1.0))
    with LiveReport(tmp_path / "run") as live:
        assert live.url.startswith("http://127.0.0.1:")

        def count() -> int:
            with urllib.request.urlopen(live.url + "data.json", timeout=60) as resp:
                import json

                return len(json.load(resp)["runs"][0]["cands"])

        assert count() == 1
        for i in range(1, 4):
            store.append_candidate(candidate(i, fitness=float(i)))
        deadline = time.monotonic() + 60
        while count() != 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count() == 4
        loaded = load(browser, live.url, tmp_path / "profile", wait_ms=5000)
        assert loaded.console == [], loaded.console
        assert loaded.attribute("data-rendered") == "ok" and loaded.attribute("data-candidates") == "4"
        assert 'class="badge live"' in loaded.dom and "live · checked" in loaded.dom
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(live.url + "../run.json", timeout=60)


PROBE = """<script>
window.addEventListener("load", () => {
  const last = [...document.querySelectorAll("#candidates circle[data-c]")].pop();
  last.dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: 50, clientY: 50}));
  const tip = document.getElementById("tip");
  document.documentElement.setAttribute("data-tip-shown", String(!tip.hidden));
  document.documentElement.setAttribute("data-tip-text", tip.textContent.slice(0, 4000));
  last.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  const features = document.querySelector("#features-host p").textContent;
  const ancestry = document.querySelector("#lineage h3").textContent;
  document.documentElement.setAttribute("data-after-click", features + " | " + ancestry);
});
</script></body>"""


def test_hover_shows_the_tree_and_a_click_selects_a_candidate(search_run: Path, tmp_path: Path) -> None:
    import html

    browser = chromium_or_skip()
    write_report(search_run, tmp_path / "rep")
    page = (tmp_path / "rep" / "report.html").read_text()
    probed = tmp_path / "rep" / "probed.html"
    probed.write_text(page.replace("</body>", PROBE))
    loaded = load(browser, probed.resolve().as_uri(), tmp_path / "profile")
    assert loaded.console == [], loaded.console
    assert loaded.attribute("data-tip-shown") == "true"
    tip = html.unescape(loaded.attribute("data-tip-text") or "")
    records = [r for r in RunStore.open(search_run).candidates() if r["feedback"]["status"] == "ok"]
    last = records[-1]  # the last point drawn in "Every candidate" is the last evaluated candidate
    from evo_lacer.tree import node_from_dict, render

    assert f"candidate {last['id']}" in tip and "fitness" in tip
    assert render(node_from_dict(last["tree"])).splitlines()[1].strip() in tip
    after = html.unescape(loaded.attribute("data-after-click") or "")
    assert f"Candidate {last['id']} (" in after and f"How candidate {last['id']} was made" in after

"""The chapters' slides (book/slides.py), opened deck by deck in headless Chromium.

Builds the decks into a temporary folder (reveal.js from the npm package cached in
build/vendor/, fetched by ``npm pack`` the first time), opens each from disk (file://) with
every host unreachable, and checks: no console error, every image loaded, the math typeset
(MathJax's SVG, no raw ``\\(`` left), each of the chapter's figures on a slide, and one slide
per section at least. Skips, saying why, without the book extra, Chromium and its driver, or
reveal.js (no cached package and no npm registry).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.md"))

for _module in ("selenium", "markdown_it", "mdit_py_plugins"):
    if importlib.util.find_spec(_module) is None:
        pytest.skip(f'the slides test needs the book extra (pip install -e ".[book]"): no {_module}',
                    allow_module_level=True)
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)
DRIVER = next((shutil.which(n) for n in ("chromedriver", "chromium-driver") if shutil.which(n)), None)
if not (CHROMIUM and DRIVER):
    pytest.skip("the slides test needs Chromium and its driver (apt-get install chromium "
                "chromium-driver)", allow_module_level=True)

from selenium import webdriver                                      # noqa: E402
from selenium.webdriver.chrome.service import Service                # noqa: E402

DECK_REPORT_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  for (let waited = 0; window.MathJax && !ready() && waited < 30000; waited += 100) {
    await new Promise(ok => setTimeout(ok, 100));
  }
  if (ready()) { await MathJax.startup.promise; }
  const images = Array.from(document.images);
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(ok => { img.onload = img.onerror = ok; setTimeout(ok, 10000); })));
  const text = (document.querySelector(".slides") || document.body).cloneNode(true);
  text.querySelectorAll("pre, code, mjx-container").forEach(node => node.remove());
  return {
    images: images.map(img => ({src: img.getAttribute("src"), width: img.naturalWidth})),
    text: text.textContent,
    math: document.querySelectorAll("mjx-container").length,
    slides: document.querySelectorAll(".slides section").length,
    reveal: typeof Reveal !== "undefined" && Reveal.isReady(),
  };
})().then(done, err => done({error: String(err)}));
"""


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("slides")
    done = subprocess.run([sys.executable, str(ROOT / "book" / "slides.py"), str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "could not fetch reveal.js" in done.stderr:
        pytest.skip(done.stderr.strip().splitlines()[-1])       # no npm, or no registry
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def reports(decks, tmp_path_factory) -> dict[str, dict]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,800", "--allow-file-access-from-files",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    out = {}
    try:
        for name in CHAPTERS + ["index"]:
            driver.get((decks / f"{name}.html").as_uri())
            report = driver.execute_async_script(DECK_REPORT_JS)
            report["console"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            out[name] = report
    finally:
        driver.quit()
    return out


def test_every_deck_opens_without_console_errors(reports):
    for name, report in reports.items():
        assert "error" not in report, (name, report.get("error"))
        assert report["console"] == [], (name, report["console"])
    for name in CHAPTERS:
        assert reports[name]["reveal"], f"{name}: reveal.js did not start"


def test_every_image_loads_and_every_figure_is_shown(reports):
    for name in CHAPTERS:
        report = reports[name]
        assert all(i["width"] > 0 for i in report["images"]), (name, report["images"])
        named = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", (ROOT / "chapters" / f"{name}.md").read_text())
        shown = {i["src"] for i in report["images"]}
        assert set(named) <= shown, (name, set(named) - shown)


def test_math_is_typeset(reports):
    for name in CHAPTERS:
        text = (ROOT / "chapters" / f"{name}.md").read_text()
        report = reports[name]
        if "$" in text:
            assert report["math"] > 0, f"{name}: no math typeset"
        assert not re.search(r"\\\(|\\\[", report["text"]), f"{name}: raw TeX left on a slide"


def test_one_slide_per_section_at_least(reports):
    for name in CHAPTERS:
        sections = len(re.findall(r"^## ", (ROOT / "chapters" / f"{name}.md").read_text(), re.M))
        assert reports[name]["slides"] >= sections + 1, name

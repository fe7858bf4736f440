"""The course site, built in quick mode and opened page by page in headless Chromium.

Builds the site with ``python book/build.py --quick --strict`` (every notebook executed with
TINYGAN_QUICK=1, every Sphinx warning an error) into a temporary folder, serves it on
127.0.0.1, and opens every page in Debian's headless Chromium through its chromedriver. The
browser is told that no other host exists, so a page that fetches anything from the network
(a CDN's MathJax, a web font) fails the test. On every page:

- the browser console holds no error;
- every image has loaded (``naturalWidth > 0``);
- no raw ``$...$`` or ``\\(...\\)`` is left in the text (MathJax typeset all the math);
- every link to another page of the site resolves, fragment included;

and across the site: each chapter links its notebook and each notebook its chapter, the
"next" links walk chapter 1, notebook 1, chapter 2, ... in order, and search finds a word.
A screenshot of each chapter's and notebook's first screen is kept in
``BUILD/site-screenshots/`` (BUILD is ``$TINYGAN_SITE_BUILD_DIR`` when set, else a pytest
temporary folder, printed in the test output).

Skips, with the reason, when the book extra (sphinx, myst-nb, selenium) or Chromium and its
driver are missing; CI (.ci/run) installs both and sets TINYGAN_REQUIRE_SITE=1, under which a
missing piece fails the test instead.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.md"))
BUILD_TIMEOUT_S = 1500
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver", "chromium-driver")



def _missing(reason: str) -> None:
    """Skip locally; fail where the test must run (TINYGAN_REQUIRE_SITE=1, as .ci/run sets)."""
    if os.environ.get("TINYGAN_REQUIRE_SITE", "").strip() not in ("", "0"):
        pytest.fail(f"TINYGAN_REQUIRE_SITE is set, but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


for _module in ("sphinx", "myst_nb", "sphinx_book_theme", "selenium"):
    if importlib.util.find_spec(_module) is None:
        _missing(f'the course site test needs the book extra (pip install -e ".[book]"): no {_module}')
CHROMIUM = next((shutil.which(n) for n in CHROMIUM_NAMES if shutil.which(n)), None)
DRIVER = next((shutil.which(n) for n in DRIVER_NAMES if shutil.which(n)), None)
if not (CHROMIUM and DRIVER):
    _missing("the course site test needs Chromium and its driver "
             "(apt-get install chromium chromium-driver)")

from selenium import webdriver                                      # noqa: E402
from selenium.webdriver.chrome.service import Service                # noqa: E402

# Runs in the page after load: wait for MathJax, make every image load, then report.
PAGE_REPORT_JS = r"""
const done = arguments[arguments.length - 1];
(async () => {
  // MathJax loads deferred: until it has started, window.MathJax is only its configuration
  const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;
  if (document.querySelector(".math")) {
    for (let waited = 0; !ready() && waited < 30000; waited += 100) {
      await new Promise(ok => setTimeout(ok, 100));
    }
    if (ready()) { await MathJax.startup.promise; }
  }
  const images = Array.from(document.images);
  for (const img of images) { img.loading = "eager"; }
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(ok => { img.onload = img.onerror = ok; setTimeout(ok, 10000); })));
  const text = document.body.cloneNode(true);
  text.querySelectorAll("pre, code, script, style, mjx-container, textarea, .highlight")
      .forEach(node => node.remove());
  return {
    images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
    text: text.textContent,
    links: Array.from(document.querySelectorAll("a[href]"), a => a.href),
    math: document.querySelectorAll("mjx-container").length,
  };
})().then(done, err => done({error: String(err)}));
"""
RAW_MATH = re.compile(r"\$\$|\$[^\s$][^$\n]*\$|\\\(|\\\[")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site in quick mode; return the build folder (the site is BUILD/html)."""
    build_dir = Path(os.environ.get("TINYGAN_SITE_BUILD_DIR") or tmp_path_factory.mktemp("book"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "book" / "build.py"), "--quick", "--strict",
         "--build-dir", str(build_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, f"the site build failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    print(done.stdout.strip().splitlines()[-1])
    return build_dir


@pytest.fixture(scope="module")
def server(site):
    """The built site served on 127.0.0.1 (fonts and scripts load as on a real host)."""
    handler = functools.partial(_QuietHandler, directory=str(site / "html"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:   # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 # no other host exists: a page that reaches for a CDN gets a console error
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _pages(html: Path) -> list[str]:
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts)


@pytest.fixture(scope="module")
def reports(site, server, browser) -> dict[str, dict]:
    """Open every page once; return what each showed, and keep the screenshots."""
    html = site / "html"
    shots = site / "site-screenshots"
    shots.mkdir(exist_ok=True)
    out = {}
    for page in _pages(html):
        # the theme keeps the sidebar's scroll position across pages in sessionStorage:
        # forget it, so each page (and its screenshot) opens as a first visit would
        browser.execute_script("try { window.sessionStorage.clear() } catch (e) {}")
        browser.get(f"{server}/{page}")
        report = browser.execute_async_script(PAGE_REPORT_JS)
        report["console"] = [entry["message"] for entry in browser.get_log("browser")
                             if entry["level"] == "SEVERE"]
        stem = Path(page).stem
        if page.startswith(("chapters/", "notebooks/")) and re.match(r"\d\d_", stem):
            browser.execute_script("window.scrollTo(0, 0)")
            browser.save_screenshot(str(shots / f"{page.split('/')[0]}-{stem}.png"))
        out[page] = report
    print(f"screenshots: {shots}")
    return out


def test_every_page_was_opened(reports):
    for name in CHAPTERS:
        assert f"chapters/{name}.html" in reports, f"no page for chapter {name}"
        assert f"notebooks/{name}.html" in reports, f"no page for notebook {name}"
    for page, report in reports.items():
        assert "error" not in report, f"{page}: the page script failed: {report.get('error')}"


def test_no_console_errors(reports):
    bad = {page: r["console"] for page, r in reports.items() if r["console"]}
    assert not bad, f"console errors: {bad}"


def test_every_image_loaded(reports):
    bad = {page: [i["src"] for i in r["images"] if i["width"] == 0] for page, r in reports.items()}
    bad = {page: srcs for page, srcs in bad.items() if srcs}
    assert not bad, f"images that did not load: {bad}"
    pictures = sum(len(reports[f"notebooks/{n}.html"]["images"]) for n in CHAPTERS)
    assert pictures >= len(CHAPTERS), f"only {pictures} pictures in the notebooks' outputs"


def test_chapter_figures_are_shown(reports):
    """Every image a chapter's Markdown names is an image on its page (and loaded, above)."""
    for name in CHAPTERS:
        text = (ROOT / "chapters" / f"{name}.md").read_text(encoding="utf-8")
        named = re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text)
        shown = [Path(urlparse(i["src"]).path).name for i in reports[f"chapters/{name}.html"]["images"]]
        missing = [n for n in named if Path(n).name not in shown]
        assert not missing, f"chapter {name}: figures not on its page: {missing}"


def test_math_is_typeset(reports):
    bad = {}
    for page, report in reports.items():
        raw = RAW_MATH.findall(report["text"])
        if raw:
            bad[page] = raw[:5]
    assert not bad, f"math left untypeset: {bad}"
    for name in ("03_the_math", "08_other_losses"):
        assert reports[f"chapters/{name}.html"]["math"] > 10, f"{name}: almost no typeset math"


def test_internal_links_resolve(site, server, reports):
    html = site / "html"
    broken = []
    for page, report in reports.items():
        for href in report["links"]:
            if not href.startswith(server):
                continue
            url, fragment = urldefrag(href)
            target = html / unquote(urlparse(url).path).lstrip("/")
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page} -> {href}")
            elif fragment and target.suffix == ".html":
                anchors = re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8"))
                if unquote(fragment) not in anchors:
                    broken.append(f"{page} -> {href} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_chapters_and_notebooks_link_each_other(server, reports):
    for name in CHAPTERS:
        chapter, notebook = f"chapters/{name}.html", f"notebooks/{name}.html"
        assert any(urldefrag(h)[0] == f"{server}/{notebook}" for h in reports[chapter]["links"]), \
            f"{chapter} does not link {notebook}"
        assert any(urldefrag(h)[0] == f"{server}/{chapter}" for h in reports[notebook]["links"]), \
            f"{notebook} does not link {chapter}"


def test_navigation_follows_the_chapters(site):
    """Following each page's "next" link from the front page: chapter 1, notebook 1, chapter 2..."""
    html = site / "html"
    page, order = "chapters/README.html", []
    for _ in range(200):
        text = (html / page).read_text(encoding="utf-8")
        found = re.search(r'<link rel="next"[^>]*href="([^"]+)"', text)
        if not found:
            break
        page = os.path.normpath(os.path.join(os.path.dirname(page), unquote(found.group(1))))
        order.append(Path(page).with_suffix("").as_posix())
    walked = [p for p in order if re.match(r"(chapters|notebooks)/\d\d_", p)]
    expected = [f"{kind}/{name}" for name in CHAPTERS for kind in ("chapters", "notebooks")]
    assert walked == expected, f"navigation order {walked}"


def test_search_finds_a_word(server, browser):
    browser.get(f"{server}/search.html?q=discriminator")
    found = browser.execute_async_script(r"""
        const done = arguments[arguments.length - 1];
        const start = Date.now();
        (function poll() {
          const hits = document.querySelectorAll("#search-results li, ul.search li");
          if (hits.length || Date.now() - start > 20000) { done(hits.length); }
          else { setTimeout(poll, 200); }
        })();""")
    assert found > 0, "search for 'discriminator' found nothing"
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"console errors on the search page: {errors}"


def test_every_page_states_the_licences(reports):
    """Issue 32: each page's footer names the code's and the text's licences (book/conf.py)."""
    bad = [page for page, r in reports.items() if page != "index.html"     # the redirecting front door
           and not ("MIT licence" in r["text"] and "CC BY 4.0" in r["text"])]
    assert not bad, f"pages without the licence footer: {bad}"

"""The film's HTML page in a real browser: Debian's headless Chromium through selenium.

The page must load with no console error, its slider must move through every frame (by
keyboard, as a person would), and Play must run to the last frame. A screenshot is kept in
build/screenshots/film_page.png for a person to look at.

Skips when chromium, chromedriver or selenium is missing (install: apt-get install chromium
chromium-driver; pip install selenium). Nothing is downloaded: the driver is the system's.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"


def _find(*names: str) -> str | None:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = _find("chromium", "chromium-browser")
DRIVER = _find("chromedriver")


@pytest.fixture
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("headless Chromium not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")      # selenium manager: never download
    profile = tempfile.mkdtemp(prefix="tinygan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                 "--window-size=900,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _make_film(folder: Path) -> tuple[Path, list[int]]:
    from tinygan.gan.build import build_trainer, make_config
    from tinygan.lab.film import attach_film
    trainer = build_trainer(make_config("ring", "ns", "mlp", 0, steps=40, batch_size=64))
    film = attach_film(trainer, str(folder), count=6)
    trainer.train(40, progress=False)
    return Path(film.save()["film_html"]), film.film.steps


def test_film_page_plays_offline_in_chromium(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    page, steps = _make_film(tmp_path)
    browser.get(page.as_uri())
    slider = browser.find_element(By.ID, "slider")
    label = browser.find_element(By.ID, "step")
    image = browser.find_element(By.ID, "frame")

    def state():
        return (int(slider.get_attribute("value")), label.text, image.get_attribute("src"),
                browser.execute_script("return arguments[0].naturalWidth", image))

    index, text, src0, width = state()
    assert index == 0 and text.startswith(f"step {steps[0]} ") and width > 300   # decoded
    assert int(slider.get_attribute("max")) == len(steps) - 1
    slider.click()                                       # focus it, then step with the keyboard
    slider.send_keys(Keys.HOME)
    seen = [state()]
    for _ in range(len(steps) - 1):
        slider.send_keys(Keys.ARROW_RIGHT)
        seen.append(state())
    assert [s[0] for s in seen] == list(range(len(steps)))
    assert [s[1].split()[1] for s in seen] == [str(step) for step in steps]
    assert len({s[2] for s in seen}) == len(steps)       # a different picture at every step
    assert all(s[3] > 300 for s in seen)

    slider.send_keys(Keys.HOME)
    browser.find_element(By.ID, "play").click()
    deadline = time.time() + 20
    while int(slider.get_attribute("value")) < len(steps) - 1 and time.time() < deadline:
        time.sleep(0.1)
    assert int(slider.get_attribute("value")) == len(steps) - 1
    assert browser.find_element(By.ID, "play").text == "Play"   # stopped at the end

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"console errors: {errors}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "film_page.png"))
    assert (SCREENSHOTS / "film_page.png").stat().st_size > 10_000

"""Take docs/lab_jupyterlab.png: the GAN lab in a real JupyterLab, after pressing Play.

    python docs/make_lab_screenshot.py [--seconds 40] [--out docs/lab_jupyterlab.png]
                                       [--penalty r1]

Needs JupyterLab with ipywidgets (pip install -e ".[notebooks]"), selenium, and Debian's
chromium and chromium-driver. It starts its own JupyterLab server on a free local port (root:
notebooks/), opens notebook 13 in headless Chromium, runs its first cells (the lab), presses
Play, waits ``--seconds``, and saves a screenshot of the lab; then stops the server it started.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0, help="how long Play runs")
    parser.add_argument("--out", default=str(ROOT / "docs" / "lab_jupyterlab.png"))
    parser.add_argument("--penalty", help="choose this penalty on D (r1, r2, gp) before Play")
    args = parser.parse_args()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    port, token = free_port(), "tinygan-lab"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OPENBLAS_NUM_THREADS="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
         "--ServerApp.allow_root=True", "--LabApp.news_url=None"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    profile = tempfile.mkdtemp(prefix="tinygan-chromium-")
    driver = None
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(1)
        os.environ.setdefault("SE_OFFLINE", "true")
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                     "--window-size=1280,1150"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")),
                                  options=options)
        driver.get(f"{base}/lab/tree/13_gan_lab.ipynb?token={token}&reset")
        cells = []
        for _ in range(120):
            cells = driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")
            if len(cells) > 5:
                break
            time.sleep(1)
        time.sleep(6)                                 # the kernel starts
        # fold the file browser away, so the lab gets the width
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.CONTROL, "b")
        cells[0].click()
        for _ in range(4):                            # title, imports, text, the lab
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER) \
                .key_up(Keys.SHIFT).perform()
            time.sleep(1.5)
        play = None
        for _ in range(180):
            found = [b for b in driver.find_elements(By.CSS_SELECTOR, ".jupyter-widgets button")
                     if b.text.strip() == "Play"]
            if found:
                play = found[0]
                break
            time.sleep(1)
        if play is None:
            raise SystemExit("the lab's Play button never appeared")
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", play)
        time.sleep(2)
        if args.penalty:   # the dropdown whose options are the penalties
            from selenium.webdriver.support.select import Select
            for element in driver.find_elements(By.CSS_SELECTOR, ".jupyter-widgets select"):
                menu = Select(element)
                if args.penalty in [o.text for o in menu.options]:
                    menu.select_by_visible_text(args.penalty)
                    break
            else:
                raise SystemExit(f"no penalty dropdown offers {args.penalty!r}")
            time.sleep(2)
        play.click()
        time.sleep(args.seconds)
        box = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output .widget-vbox")[0]
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", box)
        for button in driver.find_elements(By.CSS_SELECTOR, ".jp-Notification-Toast button, "
                                                            ".Toastify button"):
            if button.text.strip() == "No":             # the "Jupyter news?" question
                button.click()
        time.sleep(2)
        driver.save_screenshot(args.out)
        for b in driver.find_elements(By.CSS_SELECTOR, ".jupyter-widgets button"):
            if b.text.strip() == "Pause":
                b.click()
        print(f"wrote {args.out}")
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()

"""README's test command on a machine with only the dev extra: the optional packages hidden.

PyTorch, selenium and the book extra (sphinx, myst-nb, ...) are optional: README's
``pip install -e ".[dev]" && python -m pytest -q`` does not install PyTorch or the book extra,
and a learner may lack selenium too. Every test module must still import, and every test
that needs one of them must skip saying which package is missing. Here pytest runs again in a
subprocess with tests/hide_optional.py, which makes those packages unimportable even where
they are installed, so this holds on every run, CI's included (CI's second pass also runs the
whole suite in a fresh virtual environment with only the dev extra: .ci/run).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest_without_optional(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("TINYGAN_REQUIRE_SITE", None)    # CI sets it; here the site test must skip
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.hide_optional",
                           "-p", "no:cacheprovider", "-q", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_every_test_module_imports_without_the_optional_packages():
    run = _pytest_without_optional("--collect-only")
    tail = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    assert re.search(r"\d+ tests? collected", summary), tail
    assert "error" not in summary, tail


def _all_skipped_naming_a_package(run: subprocess.CompletedProcess) -> None:
    tail = run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, tail
    summary = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"=*\s*\d+ skipped(, \d+ deselected)? in [\d.]+s.*", summary), tail
    reasons = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert reasons, tail
    for line in reasons:
        assert re.search(r"torch|PyTorch|sphinx|selenium|Chromium|book extra", line), line


def test_the_tests_that_need_them_skip_saying_which_package():
    # the modules that need an optional package throughout: the site's and the film page's
    # browser tests, the layer-by-layer PyTorch comparisons
    _all_skipped_naming_a_package(_pytest_without_optional(
        "-rs", "tests/test_site.py", "tests/test_film_browser.py",
        "tests/test_torch_compat.py", "tests/test_double_backward_zero_grad.py"))
    # and every test marked as a PyTorch comparison, wherever it is
    _all_skipped_naming_a_package(_pytest_without_optional("-rs", "-m", "torch"))

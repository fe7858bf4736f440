"""The chapters stay true as the code changes.

For every chapter in chapters/: it exists and is listed in chapters/README.md; it has an
"In tinygan" section, an "Exercises" section with 3 to 5 exercises and a "References" section
whose entries name authors and a year; every `tinygan/...` path it cites exists; every
`tinygan.x.y`, `nn.X` or `optim.X` name it cites can be imported; every `tinygan train ...`
command it cites is accepted by the CLI's argument parser; and its ```python blocks, run in
order as one script (like a notebook), finish without error within a timeout. Sketches that are not meant
to run are fenced as ```text.
"""
from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_DIR = ROOT / "chapters"
CHAPTERS = [
    "01_generative_models.md", "02_the_game.md", "03_the_math.md", "04_autograd.md",
    "05_layers.md", "06_mlp_gan_mnist.md", "07_failure_modes.md", "08_other_losses.md",
    "09_conditional_gans.md", "10_dcgan.md", "11_evaluation.md", "12_gan_vs_vae_faq.md",
    "13_gan_lab.md",
    "14_stabilisers_and_dynamics.md",
]
BLOCK_TIMEOUT_S = 90

PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
CITED_PATH = re.compile(r"`(tinygan/[\w/]*?(?:\.py|/))`")
CITED_NAME = re.compile(r"`(tinygan(?:\.\w+)+)")
CITED_LAYER = re.compile(r"`(nn|optim)\.(\w+)")
CITED_COMMAND = re.compile(r"`tinygan ((?:train|sample)\b[^`]*)`")


def _text(name: str) -> str:
    path = CHAPTER_DIR / name
    assert path.exists(), f"chapter {name} is missing from chapters/"
    return path.read_text(encoding="utf-8")


def _section(text: str, title: str) -> str:
    """The body of the level-2 section whose heading starts with ``title``."""
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", text, re.S | re.M)
    return match.group(1) if match else ""


def test_readme_indexes_every_chapter():
    index = (CHAPTER_DIR / "README.md").read_text(encoding="utf-8")
    for name in CHAPTERS:
        assert f"({name})" in index, f"chapters/README.md does not link {name}"
    for target in re.findall(r"\]\(([^)#]+)\)", index):         # every relative link resolves
        if "://" not in target:
            assert (CHAPTER_DIR / target).exists(), f"chapters/README.md links missing {target}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_structure(name):
    text = _text(name)
    assert text.startswith("# "), f"{name}: must start with a '# ' title"
    assert _section(text, "In tinygan").strip(), f"{name}: no '## In tinygan' section"
    exercises = re.findall(r"^\d+\. ", _section(text, "Exercises"), re.M)
    assert 3 <= len(exercises) <= 5, f"{name}: {len(exercises)} exercises, want 3-5"
    refs = re.findall(r"^- (.+)$", _section(text, "References"), re.M)
    assert refs, f"{name}: no '## References' entries"
    for ref in refs:
        # "Surname, I., ... (2014). Title. Venue." - authors, a year in brackets, a title
        assert re.match(r"^[A-Z][\w'\-. ,&]+\((19|20)\d\d[a-z]?\)\. \S.+\.", ref), \
            f"{name}: reference not in 'Authors (Year). Title. Venue.' form: {ref}"
    assert text.count("$$") % 2 == 0, f"{name}: unbalanced $$ display math"
    for target in re.findall(r"\]\(([^)#]+)\)", text):          # relative links resolve
        if "://" not in target:
            assert (CHAPTER_DIR / target).exists(), f"{name} links missing {target}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_cited_code_exists(name):
    text = _text(name)
    for path in CITED_PATH.findall(text):
        assert (ROOT / path).exists(), f"{name} cites {path}, which does not exist"
    for dotted in set(CITED_NAME.findall(text)):
        parts = dotted.split(".")
        # import the longest module prefix, then walk attributes
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                break
            except ModuleNotFoundError:
                continue
        for attr in parts[cut:]:
            assert hasattr(obj, attr), f"{name} cites {dotted}: no attribute {attr!r}"
            obj = getattr(obj, attr)
    for module, attr in set(CITED_LAYER.findall(text)):   # `nn.Linear`, `optim.Adam`
        assert hasattr(importlib.import_module(f"tinygan.{module}"), attr), \
            f"{name} cites {module}.{attr}, which tinygan.{module} does not have"


@pytest.mark.parametrize("name", CHAPTERS)
def test_cited_commands_parse(name):
    """Every `tinygan train ...` / `tinygan sample ...` in the text is a valid command line."""
    commands = CITED_COMMAND.findall(_text(name))
    if not commands:
        pytest.skip(f"{name} cites no tinygan command")
    from tinygan.run.cli import build_parser
    for command in commands:
        try:
            build_parser().parse_args(shlex.split(command))
        except SystemExit:
            pytest.fail(f"{name} cites `tinygan {command}`, which the CLI rejects")


@pytest.mark.parametrize("name", CHAPTERS)
def test_python_blocks_run(name, tmp_path):
    blocks = PYTHON_BLOCK.findall(_text(name))
    if not blocks:
        pytest.skip(f"{name} has no runnable blocks")
    script = tmp_path / (name.replace(".md", ".py"))
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg", TINYGAN_QUICK="1")
    try:
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: its python blocks took longer than {BLOCK_TIMEOUT_S} s")
    assert done.returncode == 0, f"{name}: python blocks failed:\n{done.stderr[-3000:]}"

"""The chapters' figures: every picture a chapter shows exists, every committed picture is
shown somewhere, and chapters/figures/make.py redraws all of them (quick mode, into a
temporary folder) as valid PNGs, the same bytes on a second run."""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_DIR = ROOT / "chapters"
FIGURE_DIR = CHAPTER_DIR / "figures"
MAKE = FIGURE_DIR / "make.py"
IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 300 * 1024


def _chapters() -> list[Path]:
    return sorted(CHAPTER_DIR.glob("[0-9][0-9]_*.md"))


def _references() -> dict[Path, list[tuple[str, str]]]:
    """chapter -> [(alt text, target)] of every Markdown image in it."""
    return {path: IMAGE.findall(path.read_text(encoding="utf-8")) for path in _chapters()}


@functools.lru_cache(maxsize=None)
def _registry() -> dict:
    spec = importlib.util.spec_from_file_location("chapter_figures", MAKE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.FIGURES


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels, from the PNG's IHDR chunk (bytes 16 to 24)."""
    data = path.read_bytes()[:24]
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def _max_width_px() -> int:
    """The widest a figure may be: make.py's page width at its DPI, plus a margin for
    ``bbox_inches="tight"``, which may grow the saved picture by a little (a suptitle, a
    tick label sticking out)."""
    _registry()
    module = sys.modules["chapter_figures"]
    return int((module.PAGE_WIDTH_IN + 0.25) * module.DPI)


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    import matplotlib.image
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50, \
        f"{path}: unexpected image shape {pixels.shape}"
    assert pixels.std() > 0, f"{path} is a blank image"


def test_every_chapter_shows_a_figure_with_a_caption():
    for chapter, images in _references().items():
        assert images, f"{chapter.name} shows no figure"
        lines = chapter.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if IMAGE.search(line):
                assert IMAGE.match(line.strip()), f"{chapter.name}:{i + 1}: an image in a line"
                caption = []                    # the lines after the image, to a blank one
                for next_line in lines[i + 1:]:
                    if not next_line.strip():
                        break
                    assert not re.match(r"\s*([-+*]|\d+\.)\s", next_line), \
                        f"{chapter.name}: a caption line reads as a list item: {next_line!r}"
                    caption.append(next_line.strip())
                assert re.fullmatch(r"\*[^*].*[^*]\*", " ".join(caption)), \
                    f"{chapter.name}:{i + 1}: the image needs an italic caption on the next line"
        for alt, _ in images:
            assert alt.strip(), f"{chapter.name}: an image without alt text"


def test_every_referenced_image_exists():
    for chapter, images in _references().items():
        for _, target in images:
            assert not re.match(r"[a-z]+://|/", target), \
                f"{chapter.name}: {target} must be a relative path (renders on GitHub)"
            path = (chapter.parent / target).resolve()
            assert path.is_file(), f"{chapter.name} shows {target}, which does not exist"
            _check_png(path)


def test_every_committed_figure_is_shown_and_registered():
    shown = {(chapter.parent / target).resolve()
             for chapter, images in _references().items() for _, target in images}
    registered = set(_registry())
    pngs = sorted(FIGURE_DIR.glob("*.png"))
    assert pngs, "no figures committed under chapters/figures/"
    for png in pngs:
        assert png.resolve() in shown, f"{png.name} is in chapters/figures/ but no chapter shows it"
        assert png.stem in registered, f"{png.name} is not made by make.py (no registry entry)"
        assert png.stat().st_size <= MAX_PNG_BYTES, \
            f"{png.name} is {png.stat().st_size // 1024} KB (keep figures under 300 KB)"
    for name in registered:
        assert (FIGURE_DIR / f"{name}.png").is_file(), f"make.py makes {name}, not committed"


def test_every_committed_figure_fits_the_page():
    """The site's text column is about 770 px: a wider figure is shrunk until its panel
    titles cannot be read (issue 31). make.py lays every figure out at most PAGE_WIDTH_IN."""
    limit = _max_width_px()
    too_wide = {png.name: _png_size(png)[0] for png in sorted(FIGURE_DIR.glob("*.png"))
                if _png_size(png)[0] > limit}
    assert not too_wide, f"wider than {limit} px (make.py's PAGE_WIDTH_IN at its DPI): {too_wide}"


def _run_make(out: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    return subprocess.run([sys.executable, str(MAKE), "--quick", "--out", str(out), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_make_quick_draws_every_registered_figure(tmp_path):
    result = _run_make(tmp_path / "all")
    assert result.returncode == 0, result.stderr[-3000:]
    names = set(_registry())
    written = {p.stem for p in (tmp_path / "all").glob("*.png")}
    assert written == names, f"missing: {sorted(names - written)}, extra: {sorted(written - names)}"
    for name in names:
        _check_png(tmp_path / "all" / f"{name}.png")
        width = _png_size(tmp_path / "all" / f"{name}.png")[0]
        assert width <= _max_width_px(), f"{name} is {width} px wide, wider than the page"
    assert not list((tmp_path / "all").glob("*.tmp")), "a temporary file was left behind"
    # fixed seeds: a second run draws the same bytes (a training figure and a computed one)
    again = ["figure1_over_training", "ring_mode_collapse", "bilinear_spiral"]
    result = _run_make(tmp_path / "again", "--only", *again)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in again:
        assert (tmp_path / "again" / f"{name}.png").read_bytes() == \
            (tmp_path / "all" / f"{name}.png").read_bytes(), f"{name} differs between runs"


def test_make_rejects_an_unknown_figure_in_one_line(tmp_path):
    result = _run_make(tmp_path, "--only", "no_such_figure")
    assert result.returncode == 2
    assert "no_such_figure" in result.stderr and "Traceback" not in result.stderr

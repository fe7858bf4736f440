"""Slides for each chapter, built offline from the chapter's own text and figures (reveal.js).

    python book/slides.py OUT_DIR          # OUT_DIR/NN_name.html per chapter, OUT_DIR/index.html

Each chapter becomes one reveal.js deck: its title, then one slide per ``##`` section, a long
section split into vertical sub-slides (down arrow) at paragraph boundaries, so that each
screen holds about ``WORDS_PER_SLIDE`` words; the chapter's figures are copied beside the
decks. Math is typeset by MathJax 3 (SVG output, copied from the PyPI package
sphinx-mathjax-offline, as the site does).

reveal.js is vendored at build time: ``npm pack reveal.js@REVEAL_VERSION`` fetches the
package from the npm registry (npm checks its integrity hash) into a cache folder
(``build/vendor/`` by default), and the three files the decks need are copied from it. Nothing
is fetched when the slides are viewed: open a deck straight from disk.
"""
from __future__ import annotations

import argparse
import html
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
REVEAL_VERSION = "6.0.2"
REVEAL_FILES = {"package/dist/reveal.js": "reveal/reveal.js",
                "package/dist/reveal.css": "reveal/reveal.css",
                "package/dist/theme/white.css": "reveal/white.css",
                "package/LICENSE": "reveal/LICENSE"}
MAX_VENDOR_FILE = 5 * 1024 * 1024
WORDS_PER_SLIDE = 110
NUMBERED = re.compile(r"^\d\d_[a-z0-9_]+$")


def vendor_reveal(cache: Path, out: Path) -> None:
    """Copy reveal.js's files into ``out/reveal/``, from the npm package (fetched once)."""
    tarball = cache / f"reveal.js-{REVEAL_VERSION}.tgz"
    if not tarball.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        if shutil.which("npm") is None:
            raise SystemExit("could not fetch reveal.js: the slides need npm (Node.js), or put "
                             f"reveal.js-{REVEAL_VERSION}.tgz (npm pack reveal.js@{REVEAL_VERSION}) in {cache}")
        fetched = subprocess.run(["npm", "pack", f"reveal.js@{REVEAL_VERSION}", "--pack-destination",
                                  str(cache), "--silent"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
        if fetched.returncode != 0 or not tarball.is_file():
            raise SystemExit(f"could not fetch reveal.js {REVEAL_VERSION} from the npm registry "
                             f"(npm pack: {fetched.stderr.strip()[-300:]})")
    if tarball.is_symlink():
        raise SystemExit(f"{tarball} is a symlink: refusing it")
    with tarfile.open(tarball, "r:gz") as archive:
        for name, target in REVEAL_FILES.items():
            member = archive.getmember(name)       # KeyError names a missing file
            if not member.isfile() or member.size > MAX_VENDOR_FILE:
                raise SystemExit(f"{tarball}: {name} is not a regular file of a sane size")
            destination = out / target
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.extractfile(member).read())


def vendor_mathjax(out: Path) -> None:
    """MathJax 3's single-file TeX-to-SVG component, from sphinx-mathjax-offline."""
    try:
        static = Path(str(importlib.metadata.distribution("sphinx-mathjax-offline")
                          .locate_file("sphinx-mathjax-offline/static")))
    except importlib.metadata.PackageNotFoundError:
        raise SystemExit('the slides need MathJax from the book extra: pip install -e ".[book]"')
    (out / "mathjax").mkdir(parents=True, exist_ok=True)
    shutil.copy2(static / "mathjax" / "tex-svg.js", out / "mathjax" / "tex-svg.js")


def _markdown():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    def math(content: str, options: dict) -> str:
        # MathJax reads \( \) and \[ \]; the TeX is HTML-escaped like any text
        if options.get("display_mode"):
            return f'<div class="math">\\[{html.escape(content)}\\]</div>'
        return f'<span class="math">\\({html.escape(content)}\\)</span>'

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    dollarmath_plugin(md, allow_space=True, allow_digits=True, double_inline=True, renderer=math)
    return md


def _link(match: re.Match) -> str:
    """Links inside a deck: another chapter's .md becomes its deck; other files become text."""
    text, target = match.group(1), match.group(2)
    name = target.split("#")[0]
    if NUMBERED.match(Path(name).stem) and name.endswith(".md") and "/" not in name:
        return f"[{text}]({Path(name).stem}.html)"
    if target.startswith("http"):
        return match.group(0)
    return text


def _chunks(body: str) -> list[str]:
    """A section's Markdown split into screens at blank lines (not inside code or math)."""
    blocks, current, fence = [], [], False
    for line in body.splitlines():
        if line.strip().startswith("```") or line.strip() == "$$":
            fence = not fence
        if not line.strip() and not fence:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    screens, words = [[]], 0
    for block in blocks:
        n = len(block.split())
        if screens[-1] and words + n > WORDS_PER_SLIDE and not block.lstrip().startswith(("-", "|")):
            screens.append([])
            words = 0
        screens[-1].append(block)
        words += n
    return ["\n\n".join(s) for s in screens if s]


def chapter_deck(path: Path, md, figures_used: set[str]) -> tuple[str, str]:
    """(title, HTML of the deck) for chapters/NN_name.md."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", _link, text)
    for figure in re.findall(r"\]\((figures/[^)\s]+)\)", text):
        figures_used.add(figure)
    lines = text.splitlines()
    title = lines[0].lstrip("# ").strip()
    sections, current = [], ["", []]
    for line in lines[1:]:
        if line.startswith("## "):
            sections.append(current)
            current = [line[3:].strip(), []]
        else:
            current[1].append(line)
    sections.append(current)
    slides = [f'<section><h1>{html.escape(title)}</h1>'
              f'<p class="source">tinygan course, chapter {int(path.name[:2])}</p></section>']
    for heading, body in sections:
        screens = _chunks("\n".join(body))
        if not screens:
            continue
        inner = []
        for k, screen in enumerate(screens):
            head = html.escape(heading) + (f" ({k + 1}/{len(screens)})" if len(screens) > 1 else "")
            inner.append(f"<section>{f'<h2>{head}</h2>' if heading else ''}{md.render(screen)}</section>")
        slides.append(inner[0] if len(inner) == 1 else "<section>" + "".join(inner) + "</section>")
    return title, PAGE.format(title=html.escape(title), slides="\n".join(slides))


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="reveal/reveal.css">
<link rel="stylesheet" href="reveal/white.css">
<style>
.reveal {{ font-size: 26px; }}
.reveal h1 {{ font-size: 1.9em; }} .reveal h2 {{ font-size: 1.3em; }}
.reveal .slides section {{ text-align: left; }}
.reveal img {{ max-height: 520px; display: block; margin: 0 auto 0.3em; }}
.reveal pre {{ font-size: 0.6em; width: 100%; }}
.reveal table {{ font-size: 0.75em; }}
.reveal .source {{ color: #666; font-size: 0.8em; }}
.licence {{ position: fixed; bottom: 6px; left: 10px; font-size: 12px; color: #777; }}
</style>
<script>
window.MathJax = {{ tex: {{ inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]] }},
                   svg: {{ fontCache: "global" }}, startup: {{ typeset: true }} }};
</script>
<script defer src="mathjax/tex-svg.js"></script>
</head><body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
<div class="licence">Text and figures: CC BY 4.0, the tinygan authors. Code: MIT.</div>
<script src="reveal/reveal.js"></script>
<script>Reveal.initialize({{ hash: true, slideNumber: true, width: 1280, height: 800, margin: 0.04 }});</script>
</body></html>
"""


def build(out: Path, cache: Path | None = None) -> list[Path]:
    """Write every chapter's deck into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    vendor_reveal(cache or ROOT / "build" / "vendor", out)
    vendor_mathjax(out)
    md = _markdown()
    figures: set[str] = set()
    decks, index = [], []
    for path in sorted(p for p in CHAPTERS.glob("*.md") if NUMBERED.match(p.stem)):
        title, page = chapter_deck(path, md, figures)
        (out / f"{path.stem}.html").write_text(page, encoding="utf-8")
        decks.append(out / f"{path.stem}.html")
        index.append(f'<li><a href="{path.stem}.html">{html.escape(title)}</a></li>')
    for figure in sorted(figures):
        source = CHAPTERS / figure
        if source.is_file() and not source.is_symlink():
            (out / figure).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / figure)
    (out / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        "<title>tinygan slides</title></head><body><h1>tinygan: slides per chapter</h1><ol>"
        + "".join(index) + "</ol><p>Arrows or space to move; Esc for the overview. Text and figures: "
        "CC BY 4.0, the tinygan authors; reveal.js: MIT (reveal/LICENSE).</p></body></html>\n",
        encoding="utf-8")
    return decks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache", type=Path, default=None,
                        help="where the reveal.js package is kept (default build/vendor)")
    args = parser.parse_args(argv)
    decks = build(args.out, args.cache)
    print(f"{len(decks)} decks in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

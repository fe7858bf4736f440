"""Build the notebooks (notebooks/NN_name.ipynb) from their sources (notebooks/src/NN_name.py).

The sources are plain Python in the "percent" format that Jupytext, VS Code and Spyder also
read: a line ``# %%`` starts a code cell, ``# %% [markdown]`` starts a Markdown cell whose
lines are comments (``# `` is stripped). Edit the source, then rebuild.

The .ipynb files are written WITHOUT outputs and with stable cell ids, so a change to a
notebook shows up in ``git diff`` as a change to its code or text only.

    python notebooks/build.py            # rewrite every notebook from its source
    python notebooks/build.py --check    # exit 1 if a notebook differs from its source
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
CELL_MARK = "# %%"
MARKDOWN_MARK = "# %% [markdown]"


def _markdown_text(lines: list[str]) -> str:
    """Comment lines back to Markdown: '# text' -> 'text'; '#' and blank lines -> ''."""
    out = []
    for line in lines:
        if line.startswith("# "):
            out.append(line[2:])
        elif line.strip() in ("#", ""):
            out.append("")
        else:
            raise ValueError(f"a Markdown cell line must start with '# ': {line!r}")
    return "\n".join(out).strip("\n")


def parse_cells(text: str) -> list[tuple[str, str]]:
    """[(kind, source)] for a percent-format script; kind is "code" or "markdown"."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(MARKDOWN_MARK):
            cells.append(("markdown", []))
        elif line.startswith(CELL_MARK):
            cells.append(("code", []))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"text before the first '# %%' marker: {line!r}")
    result = []
    for kind, lines in cells:
        source = _markdown_text(lines) if kind == "markdown" else "\n".join(lines).strip("\n")
        if source:
            result.append((kind, source))
    return result


def build_notebook(source_path: Path) -> nbformat.NotebookNode:
    """The notebook for one source file: outputs empty, execution counts None, ids stable."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source) in enumerate(parse_cells(source_path.read_text())):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = make(source)
        cell.id = f"{source_path.stem[:2]}-{index:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def notebook_text(source_path: Path) -> str:
    return nbformat.writes(build_notebook(source_path), version=4) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; fail if a notebook is out of date")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.py")):
        target = HERE / f"{source.stem}.ipynb"
        text = notebook_text(source)
        if target.exists() and target.read_text() == text:
            continue
        if args.check:
            stale.append(target.name)
        else:
            target.write_text(text)
            print(f"wrote {target.relative_to(HERE.parent)}")
    if stale:
        print(f"out of date (run python notebooks/build.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

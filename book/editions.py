"""The course's editions, from one source per notebook (notebooks/src/NN_name.py).

Used by book/release.py (which writes them) and book/grade.py (which grades against them):

- ``exercises(source)``: every exercise of a notebook, read from its check cells
  (``answer = exercise("4.2", answer, D=...)``): number, answer variable, the context the check
  needs, and the points it is worth;
- ``student_notebook(source)``: the notebook as handed out. Its check cells call
  ``tinygan.course.exercise``, which holds no answer; nothing from notebooks/solutions/ is in it;
- ``instructor_notebook(source)``: the same notebook with each answer cell filled in with the
  reference solution's code, so it runs top to bottom and scores full marks.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"
SOLUTIONS = NOTEBOOKS / "solutions"
CHECK_CALL = re.compile(r'\bexercise\(\s*"(\d+\.\d+)"')

# Checks the student never sees: they run only in the autograder (book/hidden_checks.py).
HIDDEN = {"1.3": 1, "4.2": 1, "5.5": 1, "14.1": 1}


@dataclass
class Exercise:
    """One exercise: where its answer lives and what the check needs."""
    number: str                   # "4.2"
    variable: str                 # the answer cell's variable, "Log1pSquare"
    context: dict[str, str] = field(default_factory=dict)   # check keyword -> notebook expression
    public_points: int = 1
    hidden_points: int = 0

    @property
    def max_points(self) -> int:
        return self.public_points + self.hidden_points


def _load_build():
    spec = importlib.util.spec_from_file_location("tinygan_notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sources() -> list[Path]:
    return sorted(SOURCES.glob("[0-9][0-9]_*.py"))


def source_hash(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def _parse_check(code: str) -> Exercise | None:
    """The exercise a check cell checks, from its ``exercise("N.K", var, **context)`` call."""
    if not CHECK_CALL.search(code):
        return None
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "exercise":
            number = node.args[0].value
            variable = node.args[1].id
            context = {k.arg: ast.get_source_segment(code, k.value) for k in node.keywords}
            return Exercise(number, variable, context, 1, HIDDEN.get(number, 0))
    raise ValueError(f"a check cell without an exercise(...) call: {code[:80]!r}")


def exercises(source: Path) -> list[Exercise]:
    """A notebook's exercises, in order."""
    found = []
    for kind, code in _load_build().parse_cells(source.read_text()):
        if kind == "code":
            ex = _parse_check(code)
            if ex is not None:
                found.append(ex)
    return found


def _stamp(nb, source: Path, edition: str) -> None:
    nb.metadata["tinygan"] = {"edition": edition, "source": f"notebooks/src/{source.name}",
                              "source_sha256": source_hash(source)}


def student_notebook(source: Path):
    """The student edition of one notebook (an nbformat NotebookNode)."""
    nb = _load_build().build_notebook(source)
    _stamp(nb, source, "student")
    return nb


def _solution_code(chapter: int, number: str) -> tuple[str, str]:
    """(definitions, call): the reference solution's source for exercise ``number``: the
    module's imports, the helper definitions its function uses, and the function itself."""
    path = SOLUTIONS / f"ch{chapter:02d}.py"
    text = path.read_text()
    tree = ast.parse(text)
    name = f"exercise_{number.replace('.', '_')}"
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    imports = [ast.get_source_segment(text, n) for n in tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom))]
    wanted, queue = [], [name]
    while queue:                         # the function, and every module-level def it names
        current = queue.pop()
        if current in wanted:
            continue
        wanted.append(current)
        used = {n.id for n in ast.walk(defs[current]) if isinstance(n, ast.Name)}
        queue += [u for u in used if u in defs and u not in wanted]
    order = [n for n in defs if n in wanted]          # the module's own order
    lines = text.splitlines()
    body = "\n\n\n".join("\n".join(lines[defs[n].lineno - 1:defs[n].end_lineno])   # comments kept
                            for n in order)
    return "\n".join(imports), body


def instructor_notebook(source: Path):
    """The instructor edition: each answer cell holds the reference solution's code."""
    import nbformat
    nb = student_notebook(source)
    nb.metadata["tinygan"]["edition"] = "instructor"
    by_variable = {ex.variable: ex for ex in exercises(source)}
    chapter = int(source.name[:2])
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        for variable, ex in by_variable.items():
            if re.search(rf"^{re.escape(variable)} = \.\.\.", cell.source, re.M):
                imports, body = _solution_code(chapter, ex.number)
                function = f"exercise_{ex.number.replace('.', '_')}"
                params = ast.parse(body)
                call_args = ", ".join(f"{k}={v}" for k, v in ex.context.items()
                                      if k in _parameters(params, function))
                cell.source = (f"# Reference solution to exercise {ex.number} "
                               f"(instructor edition; from notebooks/solutions/ch{chapter:02d}.py)\n"
                               f"{imports}\n\n\n{body}\n\n\n"
                               f"{variable} = {function}({call_args})")
                cell.metadata["tinygan"] = {"solution": ex.number}
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def _parameters(tree: ast.Module, function: str) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return [a.arg for a in node.args.args]
    return []


def autograder_spec() -> dict:
    """What book/grade.py needs: per student-edition notebook, its exercises and points."""
    return {"version": 1, "notebooks": {
        f"{s.stem}.ipynb": {"source_sha256": source_hash(s),
                            "exercises": [asdict(e) for e in exercises(s)]}
        for s in sources()}}


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --- leaks: what must never appear in the student edition -------------------------------------
_TRIVIAL_LINE = re.compile(r"^(def |class |return \w+$|pass$|\.\.\.$|@|import |from \S+ import |\"\"\"|#)")


def solution_lines() -> dict[str, str]:
    """{line: where}: every substantive line of the reference solutions (notebooks/solutions/),
    without its comment. Headers, imports and a bare ``return name`` are not solutions."""
    lines = {}
    for path in sorted(SOLUTIONS.glob("ch*.py")):
        for number, raw in enumerate(path.read_text().splitlines(), 1):
            code = raw.split("  #")[0].strip()
            if len(code) < 12 or _TRIVIAL_LINE.match(code):
                continue
            lines[code] = f"{path.name}:{number}"
    return lines


def _number_patterns(value: float) -> set[str]:
    """The ways a number could be written that would give it away (2+ significant digits)."""
    forms = set()
    if float(value).is_integer() and abs(value) < 1e15:
        n = int(value)
        if abs(n) >= 100:
            forms |= {str(n), f"{n:,}"}
        return forms
    for digits in range(2, 8):
        for form in (f"{value:.{digits}g}", f"{value:.{digits - 1}e}"):
            if abs(float(form) - value) <= 1e-3 * abs(value):
                forms.add(form)
                if "e" in form:
                    mantissa, exponent = form.split("e")
                    forms.add(f"{mantissa}e{int(exponent)}")
    return {f for f in forms if sum(c.isdigit() for c in f.split("e")[0]) >= 2}


def _flatten(value) -> list:
    import numpy as np
    if isinstance(value, (str, bool)) or value is None:
        return [value]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [x for v in value for x in _flatten(v)]
    if isinstance(value, (int, float, np.number)):
        return [float(value)]
    return []                                       # a function or class: its lines are checked


def answer_values() -> dict[str, list]:
    """{exercise: flat reference values} for every exercise whose solution needs no notebook
    object (the others depend on a trained model; their checks compute them at run time)."""
    import sys
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import importlib
        values = {}
        for source in sources():
            module = importlib.import_module(f"solutions.ch{int(source.name[:2]):02d}")
            for ex in exercises(source):
                function = getattr(module, f"exercise_{ex.number.replace('.', '_')}")
                if not _needs_context(function):
                    values[ex.number] = _flatten(function())
        return values
    finally:
        sys.path.remove(str(NOTEBOOKS))


def _needs_context(function) -> bool:
    import inspect
    return any(p.default is inspect.Parameter.empty
               for p in inspect.signature(function).parameters.values())


def exercise_section(nb) -> list[str]:
    """The texts a leak could hide in: every cell from the '## Exercises' heading on, every
    check cell anywhere, and the notebook's metadata."""
    texts, inside = [json.dumps(nb.get("metadata", {}))], False
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        inside = inside or (cell["cell_type"] == "markdown" and "## Exercises" in source)
        if inside or CHECK_CALL.search(source):
            texts.append(source)
            texts.append(json.dumps(cell.get("metadata", {})))
            texts.extend(json.dumps(o) for o in cell.get("outputs", []))
    return texts


def leaks(nb, chapter: int, lines: dict[str, str] | None = None,
          values: dict[str, list] | None = None) -> list[str]:
    """Why notebook ``chapter`` would give answers away: a line of a reference solution, or one
    of its exercises' answer values, in its exercises (questions, answer and check cells, their
    outputs), in any check cell, or in the metadata. Empty when it is clean. (The teaching
    cells before the exercises may use the same idioms as a solution: they are the lesson.)"""
    lines = solution_lines() if lines is None else lines
    values = answer_values() if values is None else values
    found = []
    text = "\n".join(exercise_section(nb))
    code_lines = {line.split("  #")[0].strip() for line in text.splitlines()}
    for line, where in lines.items():
        if line in code_lines:
            found.append(f"solution line {where}: {line}")
    for cell in nb["cells"]:       # a check cell that compares by itself holds its expected value
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and CHECK_CALL.search(source) and re.search(r"\bassert\b", source):
            found.append(f"a check cell with its own assert: {source.splitlines()[0]}")
    for number, flat in values.items():
        if int(number.partition(".")[0]) != chapter:
            continue
        strings = [v for v in flat if isinstance(v, str)]
        if len(strings) > 1:
            joined = '", "'.join(strings)
            if joined in text or "".join(strings) in text:
                found.append(f"exercise {number}'s answer sequence {strings}")
        for v in flat:
            if isinstance(v, float):
                for form in _number_patterns(v):
                    if re.search(rf"(?<![\w.]){re.escape(form)}(?![\w.]*\d)", text):
                        found.append(f"exercise {number}'s answer value {v!r} written as {form!r}")
    return found

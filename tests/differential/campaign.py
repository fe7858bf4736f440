"""Run many programs, group the failures by cause, and write the report."""
from __future__ import annotations

import collections
from typing import IO, Iterable

from tests.differential.causes import classify, describe, in_issue
from tests.differential.execute import OUTCOMES, Outcome, run
from tests.differential.generate import generate
from tests.differential.program import Program
from tests.differential.shrink import shrink

LABELS = {"agree": "agree", "both_raise": "both raise",
          "silent": "silent difference (values, dtype, shape, requires_grad, is_leaf, grads)",
          "tinygan_raise": "tinygan raises where PyTorch succeeds",
          "torch_raise": "tinygan succeeds where PyTorch raises (a missing error)",
          "rounding": "float32 rounding: tinygan no farther from the float64 answer than "
                      "PyTorch's float32 (not counted as a difference)",
          "torch_wrong": "PyTorch's gradient is not the derivative: finite differences give "
                         "tinygan's (not counted as a difference)",
          "ill_conditioned": "ill-conditioned: PyTorch's own value moves as far when the "
                             "inputs move by a few units in their last place (not counted "
                             "as a difference)"}


def campaign(seeds: Iterable[int], progress: IO[str] | None = None
             ) -> list[tuple[int, Program, Outcome, str]]:
    """(seed, program, outcome, cause) for each seed; cause is '' for agree/both raise.
    PyTorch runs at its default thread count meanwhile (the cores), which tinygan's
    BatchNorm kernel assumes: a test before may have lowered it (threadpoolctl limits)."""
    import torch
    from tinygan.fast.batchnorm_kernel import threads
    before = torch.get_num_threads()
    torch.set_num_threads(threads())
    results = []
    try:
        for k, seed in enumerate(seeds):
            program = generate(seed)
            outcome = run(program)
            cause = "" if outcome.kind in ("agree", "both_raise") else classify(program, outcome)
            results.append((seed, program, outcome, cause))
            if progress is not None and (k + 1) % 500 == 0:
                print(f"  {k + 1} programs", file=progress, flush=True)
    finally:
        torch.set_num_threads(before)
    return results


def table(results: list[tuple[int, Program, Outcome, str]]) -> str:
    counts = collections.Counter(o.kind for _, _, o, _ in results)
    rows = ["| outcome | programs |", "| --- | ---: |"]
    rows += [f"| {LABELS[k]} | {counts.get(k, 0):,} |" for k in OUTCOMES]
    rows.append(f"| total | {len(results):,} |")
    return "\n".join(rows)


def example(program: Program, outcome: Outcome) -> str:
    small, result = shrink(program, outcome)
    return (f"program {program.seed}, shrunk to {len(small.steps)} steps; {result}\n\n"
            f"```python\n# tinygan\n{small.render('tinygan')}\n```\n"
            f"```python\n# PyTorch\n{small.render('torch')}\n```")


def report(results: list[tuple[int, Program, Outcome, str]], examples: int = 1,
           title: str = "") -> str:
    """The outcome table, a table of causes, then each cause with shrunk examples."""
    parts = [f"## Outcomes ({title})" if title else "## Outcomes", "", table(results), ""]
    by_cause: dict[str, list] = collections.defaultdict(list)
    for seed, program, outcome, cause in results:
        if cause:
            by_cause[cause].append((seed, program, outcome))
    ordered = sorted(by_cause.items(),
                     key=lambda kv: (_group(kv[0], kv[1]), -len(kv[1]), kv[0]))
    parts += ["## Causes", "", "| cause | in the issue | programs | silent | tinygan raises | "
              "PyTorch raises |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for cause, items in ordered:
        kinds = collections.Counter(o.kind for _, _, o in items)
        parts.append(f"| {cause} | {_in_issue(cause)} | {len(items)} | {kinds['silent']} | "
                     f"{kinds['tinygan_raise']} | {kinds['torch_raise']} |")
    for cause, items in ordered:
        rule = describe(cause)
        parts += ["", f"### {cause}", "",
                  (rule.summary + ". " if rule else "") +
                  f"{len(items)} programs; in the issue: {_in_issue(cause)}. Seeds: " +
                  ", ".join(str(s) for s, _, _ in items[:10]) + (" ..." if len(items) > 10
                                                                 else ""), ""]
        for seed, program, outcome in items[:examples]:
            parts += [example(program, outcome), ""]
    return "\n".join(parts)


def _group(cause: str, items: list) -> int:
    """Silent differences first, then tinygan's raises, missing errors, missing API."""
    if cause.startswith(("missing-name", "missing-argument")):
        return 3
    kinds = collections.Counter(o.kind for _, _, o in items)
    kind = kinds.most_common(1)[0][0]
    return ("silent", "tinygan_raise", "torch_raise").index(kind) if kind in (
        "silent", "tinygan_raise", "torch_raise") else 4


def _in_issue(cause: str) -> str:
    return "yes" if in_issue(cause) else "**no**"


def show(seed: int) -> str:
    program = generate(seed)
    outcome = run(program)
    return (f"# program {seed}: {outcome}\n# cause: "
            f"{classify(program, outcome) if outcome.kind not in ('agree', 'both_raise') else '-'}"
            f"\n{program.render('tinygan')}\n\n# PyTorch\n{program.render('torch')}")

"""Long runs from the command line (PyTorch must be installed):

    python -m tests.differential --n 20000              # programs 0..19999
    python -m tests.differential --seed 5000 --n 100    # programs 5000..5099
    python -m tests.differential --show 1234            # one program, both snippets
    python -m tests.differential --n 800 --causes       # the cause names found, one a line
                                                        # (to refresh KNOWN_FAILURES)
    python -m tests.differential --variant wide --n 3000   # unrounded values, longer dims

Prints the outcome table and, per cause, a count and a shrunk example as a tinygan snippet
next to the PyTorch one. ``--markdown FILE`` writes the same as a report.
"""
from __future__ import annotations

import argparse
import sys
import time

from tests.differential import generate
from tests.differential.campaign import campaign, report, show


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.differential",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="first program's seed")
    parser.add_argument("--n", type=int, default=1000, help="how many programs")
    parser.add_argument("--show", type=int, default=None, help="print one program and its outcome")
    parser.add_argument("--examples", type=int, default=1, help="shrunk examples per cause")
    parser.add_argument("--markdown", default=None, help="write the report to this file")
    parser.add_argument("--causes", action="store_true",
                        help="print only the names of the causes found")
    parser.add_argument("--variant", default="default", choices=sorted(generate.VARIANTS),
                        help="how inputs are drawn (generate.Variant)")
    args = parser.parse_args(argv)
    generate.variant = generate.VARIANTS[args.variant]
    if args.show is not None:
        print(show(args.show))
        return 0
    start = time.time()
    results = campaign(range(args.seed, args.seed + args.n), progress=sys.stderr)
    if args.causes:
        print("\n".join(sorted({cause for _, _, _, cause in results if cause})))
        return 0
    text = report(results, examples=args.examples,
                  title=f"{args.n} programs ({args.variant} inputs), seeds {args.seed}.."
                        f"{args.seed + args.n - 1}, "
                        f"{time.time() - start:.0f} s")
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

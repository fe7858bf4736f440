"""Program-level differential testing of tinygan against PyTorch (issue 29).

generate.py  a seeded generator of small programs (3-8 operations) over tinygan's API
program.py   a program: steps of Python text that runs unchanged in both libraries
execute.py   the interpreter and comparator: both runs side by side, every live value
             compared after every step, then gradients and second derivatives
shrink.py    delta debugging down to a smallest program that fails the same way
causes.py    failures named by mechanism, and the known-failure list the CI test allows
campaign.py  many programs, the outcome table and the report (FINDINGS.md)

Importing this package needs no PyTorch; running a program does.
``python -m tests.differential --n 20000`` runs a long campaign.
"""

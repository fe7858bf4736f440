"""Naming the cause of a failure, by mechanism.

``classify(program, outcome)`` returns a cause name for a failure. Until a rule names it, a
failure's cause is its signature, ``unnamed:<kind>:<tag>:<field>``.
"""
from __future__ import annotations

from tests.differential.execute import Outcome
from tests.differential.program import Program


def classify(program: Program, outcome: Outcome) -> str:
    kind, tag, field = outcome.signature()
    return f"unnamed:{kind}:{tag}:{field}"

"""The exit codes of the commands whose core returns a plain report rather than an outcome with its own code."""

from __future__ import annotations

from typing import Any

from autotrainer.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_SKIPPED, EXIT_UNEXPECTED


def bars_exit_code(report: dict[str, Any]) -> int:
    """`bars`: usable bars are 0; too few to train on is 'skipped', as a retrain on them would be."""
    return EXIT_OK if report["enough_to_train"] else EXIT_SKIPPED


def audit_exit_code(report: Any) -> int:
    """`audit`: a feature that looks ahead or leaks the label is bad input, as it fails a retrain."""
    return EXIT_OK if report.clean else EXIT_BAD_INPUT


def notify_exit_code(answers: dict[str, str | None]) -> int:
    """`notify --test`: 0 when every channel took the message; 2 when none is set up; 1 when one failed."""
    if not answers:
        return EXIT_BAD_INPUT
    return EXIT_OK if all(problem is None for problem in answers.values()) else EXIT_UNEXPECTED

"""Exceptions that carry their own exit code, so every failure reaches the scheduler visibly.

Exit codes (documented in the README):
0 published / nothing due, 1 unexpected failure, 2 bad configuration or data (a leaking feature included),
3 candidate rejected (previous model kept), 4 skipped (not enough data, or nothing changed since the last trained run), 5 another run holds the lock,
8 a new pair was published or restored (it IS live) but its event or run record could not be written.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_REJECTED = 3
EXIT_SKIPPED = 4
EXIT_LOCKED = 5
EXIT_UNRECORDED = 8  # 6 and 7 are `auc`'s WARNING and BELOW FLOOR (monitor.py)


class AutotrainerError(Exception):
    """Base class: a failure the tool understands and can explain in one message."""

    exit_code = EXIT_UNEXPECTED


class ConfigError(AutotrainerError):
    """A setting is unknown or has a value outside what is allowed."""

    exit_code = EXIT_BAD_INPUT


class DataError(AutotrainerError):
    """The bars are unusable; the message names the file, row or time and what is wrong."""

    exit_code = EXIT_BAD_INPUT


class LeakageError(AutotrainerError):
    """The look-ahead audit found a feature that uses future bars or leaks the label: nothing is trained."""

    exit_code = EXIT_BAD_INPUT


class InsufficientDataError(AutotrainerError):
    """Too few bars to train on: the run is skipped, not failed."""

    exit_code = EXIT_SKIPPED


class UnchangedInputsError(AutotrainerError):
    """The bars, settings and code are those of the last run that trained: the run is skipped, not failed."""

    exit_code = EXIT_SKIPPED


class ModelStoreError(AutotrainerError):
    """The published models or a backup are missing, corrupt or do not match their manifest."""

    exit_code = EXIT_BAD_INPUT


class LockedError(AutotrainerError):
    """Another retrain or rollback holds the lock."""

    exit_code = EXIT_LOCKED

"""What the commands' --help shows beyond their options: each command's exit codes, and flags without a
value placeholder."""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup

# Each command's exit codes, shown at the end of its --help (one line each, so the help wraps them cleanly).
EXIT_CODES = {
    "retrain": "0 published; 1 internal error (the previous models stay active); 2 bad setting or data, or a "
               "feature that looks ahead (nothing trained or published); 3 candidate rejected (the previous models "
               "stay active); 4 skipped: too few bars, or nothing changed since the last trained run (--force trains); "
               "5 another retrain or rollback holds the lock; 8 published "
               "(it IS live) but its run or event could not be recorded",
    "check": "0 nothing due, or the run published; with --run, otherwise the retrain's own code (see retrain "
             "--help); 2 bad setting or --now",
    "rollback": "0 restored (or listed); 2 refused: no such backup, or it does not verify (nothing changed); "
                "5 another retrain or rollback holds the lock; 8 restored (it IS live) but the event could not be "
                "recorded",
    "history": "0 shown; 2 bad setting, --since or --status",
    "auc": "0 OK; 2 no published model, or a bad setting or source; 6 WARNING (between the floor and "
           "min_auc_threshold); 7 BELOW FLOOR",
    "replay": "0 replayed (or compared); 2 bad setting, date, folder or data; with --compare also fewer than two "
              "configuration files, a missing or malformed one, files that disagree on the bars, or --dask",
    "bars": "0 usable; 2 unusable (the reason is named); 4 fewer than min_bars",
    "audit": "0 clean; 2 a feature looks ahead or leaks the label, or a bad setting or source",
    "notify": "0 every channel took the test message; 1 a channel failed (the reason is shown); 2 no channel "
              "set up, or a bad setting",
}


def epilog(command: str) -> str:
    return f"Exit codes: {EXIT_CODES[command]}."


def _without_flag_placeholder(params: list[Any]) -> list[Any]:
    """Typer's help shows a `<bool>` value placeholder after every on/off flag, although a flag takes no value:
    an empty metavar shows none."""
    for param in params:
        if getattr(param, "is_bool_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_placeholder(super().get_params(ctx))


class Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_placeholder(super().get_params(ctx))

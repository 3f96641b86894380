"""The words operators read for a run's outcome, defined once.

A run's stored `status` mixes two things: what happened to it and, for a published one, how its test AUC
compared with the thresholds (the seed's `success` / `warning`), and it keeps the seed's `rolled_back` for
a rejected candidate because the seed's database column holds it. People read two separate fields
instead: the outcome (published / rejected / failed / skipped / interrupted / running) and the AUC band
(success / warning / below floor). Every command translates here, nowhere else.
"""

from __future__ import annotations

from autotrainer.rules import REJECTED

# Stored status (the database column) -> the outcome word people read.
OUTCOME_OF_STATUS = {"success": "published", "warning": "published", REJECTED: "rejected", "failed": "failed",
                     "skipped": "skipped", "interrupted": "interrupted", "running": "running"}
OUTCOMES = ("published", "rejected", "failed", "skipped", "interrupted", "running")
BANDS = ("success", "warning", "below floor")
# What `history --status` accepts -> the stored statuses it selects: the outcome words, the bands of a
# published run (the old `--status success/warning` keeps working) and the seed's own value.
STATUSES_OF_WORD: dict[str, tuple[str, ...]] = {
    **{word: tuple(s for s, o in OUTCOME_OF_STATUS.items() if o == word) for word in OUTCOMES},
    "success": ("success",), "warning": ("warning",), "rolled_back": (REJECTED,),
}


def outcome(status: str | None) -> str:
    """The outcome word for a stored status ('published' for the seed's success and warning)."""
    return OUTCOME_OF_STATUS.get(status or "", status or "-")


def outcome_text(status: str | None, band: str | None) -> str:
    """'published (AUC warning)', 'rejected (AUC below floor)', 'failed': the outcome, then the band."""
    word = outcome(status)
    return f"{word} (AUC {band})" if band else word

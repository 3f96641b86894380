"""signal_rule = "keep_signalling": a candidate that never trades does not replace a model that does, unless
that model is demonstrably losing (its signals' hit-rate interval wholly below 50%, on the same test bars or live)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from conftest import PUBLISHABLE

from autotrainer.errors import EXIT_OK, EXIT_REJECTED
from autotrainer.history.records import AucCheck
from autotrainer.history.service import History
from autotrainer.jobs.champion import (
    ChampionSignals,
    Comparison,
    champion_signals,
    keep_signalling,
    live_auc_below_floor,
)
from autotrainer.jobs.retrain import retrain
from autotrainer.metrics import signal_stats
from autotrainer.store import pairs as store

RNG = np.random.default_rng(3)
Y = RNG.random(1000) < 0.5
SILENT = signal_stats(Y, np.full(1000, 0.55), 0.6)  # P(up) never clears 0.60 nor falls below 0.40
SIGNALLING = ChampionSignals(120, 0.52, 0.43, 0.61, "on the same 1000 test bars")
LOSING = ChampionSignals(400, 0.40, 0.35, 0.45, "on the same 1000 test bars")


def test_a_silent_candidate_does_not_replace_a_signalling_champion() -> None:
    keep, why = keep_signalling(SILENT, "champ-1", SIGNALLING, None)
    assert keep
    assert ("the candidate gives no BUY or SELL signal on its 1000 test bars at confidence_threshold 0.6, while "
            "champion champ-1 gave 120 BUY/SELL signals on the same 1000 test bars, hit rate 0.520 "
            "[95% CI 0.430-0.610], not demonstrably losing") in why


def test_a_demonstrably_losing_champion_may_be_replaced_on_the_test_bars_or_live() -> None:
    keep, why = keep_signalling(SILENT, "champ-1", LOSING, None)
    assert not keep and "its hit rate lies wholly below 50%" in why
    live = ChampionSignals(300, 0.41, 0.36, 0.47, "on 1500 live bars")
    keep, why = keep_signalling(SILENT, "champ-1", SIGNALLING, live)
    assert not keep and "live: 300 BUY/SELL signals on 1500 live bars, hit rate 0.410 [95% CI 0.360-0.470]" in why


def test_a_champion_whose_live_auc_lies_below_the_floor_may_be_replaced() -> None:
    """The emergency evidence rule's other test: the candidate of the emergency it fired may replace it."""
    below = AucCheck("champ-1", 0.4652, 0.411, 0.5196, 434, "BELOW FLOOR")
    note = live_auc_below_floor(below, 0.52)
    assert note == "its live AUC 0.4652 [95% CI 0.411-0.520] on 434 bars lies wholly below the floor 0.52"
    keep, why = keep_signalling(SILENT, "champ-1", SIGNALLING, None, note)
    assert not keep and why.endswith(f"but {note}, so it may be replaced (rule 'keep_signalling')")
    touching = AucCheck("champ-1", 0.47, 0.42, 0.52, 434, "BELOW FLOOR")  # the interval reaches the floor
    assert live_auc_below_floor(touching, 0.52) is None and live_auc_below_floor(None, 0.52) is None


def test_the_rule_is_silent_when_the_candidate_signals_or_the_champion_never_did() -> None:
    p = np.where(RNG.random(1000) < 0.1, 0.7, 0.5)
    assert keep_signalling(signal_stats(Y, p, 0.6), "champ-1", SIGNALLING, None) is None
    assert keep_signalling(SILENT, "champ-1", ChampionSignals(0, None, None, None, "on the same 1000 test bars"),
                           None) is None
    assert keep_signalling(SILENT, "champ-1", None, None) is None  # nothing known about the champion's signals


def test_without_a_shared_score_the_champions_manifest_says_how_it_signalled() -> None:
    manifest = {"metrics": {"signals": {"signal_buys": 7, "signal_sells": 5, "signal_hit_rate": 0.5,
                                        "signal_hit_rate_low": 0.25, "signal_hit_rate_high": 0.75}}}
    unscored = Comparison("champ-1", 12, None, None, True, "not compared")
    found = champion_signals(unscored, manifest)
    assert found is not None and (found.signals, found.high, found.where) == (12, 0.75, "on its own test slice "
                                                                                         "(its manifest)")
    assert champion_signals(unscored, {"metrics": {}}) is None  # an older manifest: nothing to defend
    damaged = {"metrics": {"signals": {**manifest["metrics"]["signals"], "signal_sells": []}}}
    assert champion_signals(unscored, damaged) is None


def _published_run_id(settings: Any) -> str:
    return store.read_manifest(settings.models_dir)["run_id"]


def test_retrain_keeps_the_signalling_model_records_why_and_off_switches_it(make_settings: Callable[..., Any]) -> None:
    """On the real bars: the champion acts at its own threshold 0.51, the candidate at 0.99 never does."""
    champion_settings = make_settings(**PUBLISHABLE, confidence_threshold=0.51)
    first = retrain(champion_settings, "initial")
    assert first.published and first.record.signal_buys + first.record.signal_sells > 0
    before = store.read_manifest(champion_settings.models_dir)

    silent = make_settings(**PUBLISHABLE, confidence_threshold=0.99)
    kept = retrain(silent, "daily")
    record = kept.record
    assert (record.signal_buys, record.signal_sells) == (0, 0)
    assert not kept.published and kept.exit_code == EXIT_REJECTED and record.status == "rolled_back"
    assert store.read_manifest(silent.models_dir) == before
    assert f"while champion {first.record.run_id} gave" in record.error_message
    assert "a model that never trades does not replace one that does" in record.error_message
    assert "(setting 'signal_rule' = 'keep_signalling')" in record.error_message
    history = History(silent)
    try:
        events = history.view(limit=10).events
    finally:
        history.close()
    assert any(e.kind == "rejection" and e.run_id == record.run_id and "never trades" in e.reason for e in events)

    switched_off = retrain(make_settings(**PUBLISHABLE, confidence_threshold=0.99, signal_rule="off"), "daily")
    assert switched_off.published and switched_off.exit_code == EXIT_OK
    assert _published_run_id(silent) == switched_off.record.run_id


def test_a_champion_losing_live_is_replaced_by_a_silent_candidate(make_settings: Callable[..., Any]) -> None:
    champion_settings = make_settings(**PUBLISHABLE, confidence_threshold=0.51)
    first = retrain(champion_settings, "initial")
    history = History(champion_settings)
    try:
        history.add_auc_check(AucCheck(first.record.run_id, 0.50, 0.47, 0.53, 1500, "WARNING",
                                       signal_count=600, signal_hit_rate=0.42, signal_hit_rate_low=0.38,
                                       signal_hit_rate_high=0.46))
    finally:
        history.close()
    replaced = retrain(make_settings(**PUBLISHABLE, confidence_threshold=0.99), "daily")
    assert replaced.published, replaced.record.error_message
    assert _published_run_id(champion_settings) == replaced.record.run_id

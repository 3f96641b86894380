"""How good is the active model now: its stored metrics, and its AUC on bars that closed after training.

`measure_live` fetches recent bars from the configured source, computes features and regimes through the
same code path as training (`ModelBundle.probabilities`), and scores only bars after the model's training
data ended, on their realised outcomes. Too few such bars gives "not enough new bars yet", never a number
built on noise. Each measurement is recorded (auc_checks) and feeds the emergency rule, with the drift of
the inputs on those bars (models.guard.drift: no labels needed) and the model's expiry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from autotrainer.config import Settings
from autotrainer.history.records import AucCheck
from autotrainer.history.service import History
from autotrainer.rules import auc_band, rounded, threshold_of
from autotrainer.schedule import state as scheduler_state
from autotrainer.schedule.policy import Decision, decide
from autotrainer.store.expiry import expiry
from autotrainer.store.manifest import thresholds_of
from autotrainer.timeutil import iso, utc_now

EXIT_AUC_WARNING = 6
EXIT_AUC_BELOW_FLOOR = 7


# What `auc` prints for each AUC band (UNKNOWN: no AUC to judge).
STATUS_OF_BAND = {"success": "OK", "warning": "WARNING", "below floor": "BELOW FLOOR", None: "UNKNOWN"}


def auc_status(auc: float | None, settings: Settings) -> str:
    """OK at or above `min_auc_threshold`, WARNING down to the floor, BELOW FLOOR under it."""
    return STATUS_OF_BAND[auc_band(auc, settings.publish_floor_auc, settings.min_auc_threshold)]


@dataclass
class AucReport:
    manifest: dict[str, Any]
    taken_now: AucCheck | None  # the measurement `--live` just took (it may have too few bars for a number)
    latest: AucCheck | None  # newest live measurement of this model with a number
    current_auc: float | None
    current_source: str  # "live" or "test"
    status: str  # judged by the thresholds the model was published under
    emergency: Decision
    thresholds: dict[str, Any] = field(default_factory=dict)  # those thresholds (manifest.thresholds_of)
    status_today: str | None = None  # what today's settings would say, when that differs
    live_edge: dict[str, Any] | None = None  # `--live`: the edge after costs of the bars since training
    drift: dict[str, Any] | None = None  # `--live`: the inputs' drift on the bars since training (models.guard)
    expiry: dict[str, Any] = field(default_factory=dict)  # store.expiry.expiry at the moment judged

    @property
    def exit_code(self) -> int:
        return {"WARNING": EXIT_AUC_WARNING, "BELOW FLOOR": EXIT_AUC_BELOW_FLOOR}.get(self.status, 0)


def live_window_bars(settings: Settings) -> int:
    """How many of the newest bars a live measurement reads (and the replay mirrors)."""
    return max(settings.daily_bars, settings.min_live_bars + 1000)


def measure_live(settings: Settings, bundle: Any,
                 now: datetime) -> tuple[AucCheck, dict[str, Any] | None, dict[str, Any]]:
    """Score the active pair on bars that closed after its training data ended: its AUC check (with the drift
    figures), the edge after costs of its signals there (None with too few bars for a number), and the drift."""
    import pandas as pd

    from autotrainer.data.sources import load_bars
    from autotrainer.features.target import make_target
    from autotrainer.models.guard import bins_of, drift as input_drift

    bars = load_bars(settings, live_window_bars(settings))
    matrix, scored = bundle.scored(bars.frame)
    lookahead = int(bundle.manifest.get("lookahead", 1))
    target = make_target(bars.frame, lookahead).loc[scored.index]
    check = live_check(bundle.manifest, scored["time"], target.to_numpy(), scored["p_up"].to_numpy(), settings, now)
    after = (scored["time"] > pd.Timestamp(bundle.manifest["data"]["end"])).to_numpy()
    drift = input_drift(bundle.guard, bins_of(bundle.guard, matrix[after]) if bundle.guard else matrix[after],
                        scored["guard_score"][after] if bundle.guard else [])
    check = with_drift(check, drift)
    return check, live_edge(settings, bundle.manifest, bars, scored, lookahead) if check.auc is not None else None, drift


def with_drift(check: AucCheck, drift: dict[str, Any]) -> AucCheck:
    """The measurement with the drift figures it records (models.guard.drift)."""
    return replace(check, **{key: drift[key] for key in ("drift_bars", "drift_share", "psi_max", "guard_withheld_share")})


def live_edge(settings: Settings, manifest: dict[str, Any], bars: Any, scored: Any, lookahead: int) -> dict[str, Any]:
    """The net edge after costs of the model's signals on the bars after its training data, by the same
    function and costs as a retrain's test slice, at the threshold the bot acts at."""
    import numpy as np
    import pandas as pd

    from autotrainer.data.costs import bar_costs
    from autotrainer.edge import signal_edge

    frame = bars.frame
    costs = bar_costs(frame, settings.point, settings.default_spread_points, bars.symbol_point)
    after = scored[(scored["time"] > pd.Timestamp(manifest["data"]["end"])).to_numpy()]
    p_up = np.full(len(frame), np.nan)
    p_up[frame.index.get_indexer(after.index)] = after["p_up"].to_numpy()
    edge = signal_edge(frame["close"].to_numpy(), costs.spread_points(frame), p_up, threshold_of(manifest),
                       lookahead, costs.point, settings.commission_per_trade, seed=settings.random_seed)
    return {**edge.to_json(), **costs.to_json()}


def live_check(manifest: dict[str, Any], times: Any, target: Any, p_up: Any, settings: Settings,
               now: datetime) -> AucCheck:
    """The measurement itself, on scored bars (time, realised target with NaN where unknown, P(up)): only
    bars after the model's training data count, and below `min_live_bars` of them there is no number."""
    import numpy as np
    import pandas as pd

    from autotrainer.metrics import auc_with_ci, signal_stats

    # As UTC datetime64: numpy compares these several times faster than pandas, and a replay measures hourly.
    stamps = times.to_numpy(dtype="datetime64[ns]")
    data_end = pd.Timestamp(manifest["data"]["end"]).tz_convert("UTC").tz_localize(None)
    after = (stamps > data_end.to_datetime64()) & ~np.isnan(target)
    rows = int(after.sum())
    window = stamps[after]
    start, end = (_utc_iso(window[0]), _utc_iso(window[-1])) if rows else (None, None)
    if rows < settings.min_live_bars:
        return AucCheck(manifest["run_id"], None, None, None, rows, "insufficient", start, end, iso(now) or "")
    result = auc_with_ci(target[after], p_up[after])
    signals = signal_stats(target[after], p_up[after], threshold_of(manifest), calibration=False)  # not kept
    status = auc_status(result.auc, published_under(thresholds_of(manifest, settings), settings))
    return AucCheck(manifest["run_id"], round(result.auc, 6), round(result.low, 6), round(result.high, 6), rows,
                    status, start, end, iso(now) or "", round(signals.coverage, 6),
                    signals.signals, rounded(signals.hit_rate), rounded(signals.hit_rate_low),
                    rounded(signals.hit_rate_high), rounded(signals.brier))


def _utc_iso(stamp: Any) -> str | None:
    import pandas as pd

    return iso(pd.Timestamp(stamp).tz_localize("UTC").to_pydatetime())


def measure(settings: Settings, live: bool = False, now: datetime | None = None) -> AucReport:
    """The active model's AUC and status, optionally measuring it on new bars first (and recording that)."""
    from autotrainer.store.bundle import load_bundle

    now = now or utc_now()
    bundle = load_bundle(settings.models_dir)  # verified; raises ModelStoreError when nothing is published
    manifest = bundle.manifest
    history = History(settings, read_only=not live)  # without --live it only looks
    taken = edge = drift = None
    try:
        if live:
            taken, edge, drift = measure_live(settings, bundle, now)
            history.add_auc_check(taken)
            scheduler_state.refresh_if_unlocked(settings, history)
        latest = history.latest_auc_check(manifest["run_id"])
    finally:
        history.close()
    current, source = (latest.auc, "live") if latest else (manifest["metrics"]["test_auc"], "test")
    emergency = decide(now, scheduler_state.current(settings), settings)
    thresholds = thresholds_of(manifest, settings)
    status = auc_status(current, published_under(thresholds, settings))
    today = auc_status(current, settings)
    return AucReport(manifest, taken, latest, current, source, status, emergency, thresholds,
                     today if today != status else None, edge, drift, expiry(manifest, now))


def published_under(thresholds: dict[str, Any], settings: Settings) -> Settings:
    """Today's settings with the AUC thresholds a model was published under, to judge it by those."""
    return replace(settings, publish_floor_auc=thresholds["floor"],
                   min_auc_threshold=thresholds["min_auc_threshold"])



"""The live bot's side: pick up newly published models safely, and predict exactly as training did.

    from autotrainer.live import ModelWatcher, bars_from_rates, min_bars, predict_latest

    watcher = ModelWatcher("models")
    bundle = None
    while True:
        fresh = watcher.poll()          # a verified pair, only when manifest.json changed; else None
        if fresh is not None:
            bundle = fresh
        if bundle is not None:
            rates = mt5.copy_rates_from_pos("XAUUSD", mt5.TIMEFRAME_M15, 1, min_bars(bundle))  # closed bars
            signal = predict_latest(bundle, bars_from_rates(rates))
            ...

`poll` never returns a pair whose files do not match the manifest it read: while a publish is in
progress (new files moved in, old ones being removed, the manifest being replaced) the read fails
verification and the watcher simply returns None; a later poll picks the new pair up.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autotrainer import store
from autotrainer.errors import ModelStoreError

log = logging.getLogger("autotrainer.live")


class ModelWatcher:
    """Polls `models_dir/manifest.json`; returns a new verified ModelBundle when it changes."""

    def __init__(self, models_dir: str | Path) -> None:
        self.models_dir = Path(models_dir)
        self._seen: str | None = None  # SHA-256 of the manifest of the last bundle handed out

    def poll(self) -> Any:
        """A newly published, verified bundle; None when nothing changed or a publish is still in progress."""
        from autotrainer.model import bundle_from_bytes

        try:
            raw = (self.models_dir / store.MANIFEST).read_bytes()
        except OSError:  # not published yet, or being replaced on Windows
            return None
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self._seen:
            return None
        try:
            manifest = store.parse_manifest(raw, self.models_dir / store.MANIFEST)
            bundle = bundle_from_bytes(self.models_dir, manifest, store.read_verified(self.models_dir, manifest))
        except (ModelStoreError, OSError) as exc:
            log.debug("Models in %s not ready yet (%s); will retry", self.models_dir, exc)
            return None
        self._seen = digest
        log.info("Loaded model %s (test AUC %s)", manifest["run_id"], manifest.get("metrics", {}).get("test_auc"))
        for name in bundle.feature_spec.changed_plugins(manifest.get("feature_spec")):
            log.warning("Feature plugin %s has changed since model %s was trained: its inputs may differ from "
                        "training; retrain or restore the plugin's code", name, manifest["run_id"])
        return bundle


@dataclass(frozen=True)
class Signal:
    """The model's view of the newest bar."""

    time: Any  # pandas Timestamp (UTC) of the bar scored
    p_up: float  # P(next bar closes higher)
    action: str  # BUY / SELL when the probability clears the model's confidence threshold, else HOLD
    regime: str  # most probable regime: low / medium / high (volatility)
    regime_probabilities: dict[str, float]
    model_run_id: str


def predict_latest(bundle: Any, bars: Any) -> Signal:
    """Score the newest bar of `bars` (validated bar schema, UTC times, oldest first) with the bundle.

    Features and regime probabilities go through the same function training used; at least
    `min_bars(bundle)` bars are needed so every indicator and the regime filter's full window exist.
    """
    needed = min_bars(bundle)
    if len(bars) < needed:
        raise ValueError(f"{len(bars)} bars given; the model needs at least {needed} so every indicator and the "
                         f"regime filter's {bundle.regime.lookback}-bar window match training")
    last = bundle.probabilities(bars.iloc[-needed:].reset_index(drop=True)).iloc[-1]
    p_up = float(last["p_up"])
    threshold = float(bundle.manifest.get("confidence_threshold", 0.6))
    action = "BUY" if p_up >= threshold else "SELL" if p_up <= 1.0 - threshold else "HOLD"
    regimes = {name: float(last[f"regime_p_{name}"]) for name in bundle.regime.state_names}
    return Signal(last["time"], p_up, action, max(regimes, key=regimes.__getitem__), regimes, bundle.manifest["run_id"])


def bars_from_rates(rates: Any, server_timezone: str = "Europe/Athens") -> Any:
    """The bot's `mt5.copy_rates_from_pos(...)` result as the validated UTC bars `predict_latest` takes.

    Use the same `server_timezone` autotrainer trains with; the conversion is the MetaTrader 5 source's own.
    Drop the bar that is still forming before predicting (its close is not final).
    """
    from autotrainer.mt5_source import rates_to_bars

    return rates_to_bars(rates, server_timezone, "the bot's MetaTrader 5 rates").frame


def min_bars(bundle: Any) -> int:
    """Bars the bot must pass so the newest bar is computed as in training (to ~1e-8)."""
    from autotrainer.features import FEATURE_MEMORY_BARS, WARMUP_BARS

    return max(FEATURE_MEMORY_BARS, WARMUP_BARS + bundle.regime.lookback)

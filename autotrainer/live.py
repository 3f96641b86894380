"""The live bot's side: pick up newly published models safely, and predict exactly as training did.

    from autotrainer.live import ModelWatcher, bars_from_rates, min_bars, predict_latest

    watcher = ModelWatcher("models", symbol="XAUUSD", timeframe="M15")
    bundle = None
    while True:
        fresh = watcher.poll()          # a verified pair, only when manifest.json changed; else None
        if fresh is not None:
            bundle = fresh
        if bundle is not None:
            rates = mt5.copy_rates_from_pos("XAUUSD", mt5.TIMEFRAME_M15, 1, min_bars(bundle))  # closed bars
            try:
                signal = predict_latest(bundle, bars_from_rates(rates, bundle=bundle))
            except ValueError as exc:   # too few or unusable bars this time: no signal for this bar
                ...

What the bot must catch, function by function:

- `ModelWatcher.poll()` raises nothing. Every problem is logged on the `autotrainer.live` logger and the
  watcher tries again on the next poll; it returns None meanwhile, so the bot keeps the bundle it has.
- `bars_from_rates()` and `predict_latest()` raise ValueError, and only ValueError, for input they cannot
  use: rates that fail the bar checks, fewer than `min_bars(bundle)` bars, a feature plugin failing on
  these bars, a `server_timezone` that contradicts the bundle's. The message says which.
- `min_bars()` raises nothing for a bundle `poll` returned.

Two things make `predict_latest` withhold the signal (action HOLD, the reason in `Signal.withheld`, one
WARNING per model and reason on the `autotrainer.live` logger, never an exception):

- the model has expired: its training data ended more than its manifest's `model_max_age_hours` market hours
  before the newest bar (retrains have been failing or rejected for that long);
- the out-of-distribution guard: the newest bar's inputs lie further outside the training rows' range than
  99% of the validation rows did (`Signal.guard_score` above the pair's threshold). A pair trained before the
  guard existed has none (`guard_score` None) and trades as before.

`poll` never returns a pair whose files do not match the manifest it read: while a publish is in
progress (new files moved in, old ones being removed, the manifest being replaced) the read fails
verification and the watcher returns None; a later poll picks the new pair up. Because that moment is
normal, a pair that does not verify (or no manifest at all) is only logged at WARNING once it has lasted
`patience_polls` (3) polls and `patience_seconds` (5 s) for the same manifest bytes; a problem that
waiting cannot cure (a manifest that is not one, a model for another symbol or timeframe, a feature plugin
the bot cannot import, files that verify but do not load) is a WARNING at once. Each distinct problem is
logged once, however often the bot polls.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autotrainer.errors import AutotrainerError, ModelStoreError
from autotrainer.rules import signal_action, threshold_of
from autotrainer.store import pairs as store
from autotrainer.store.expiry import expiry
from autotrainer.timeutil import DEFAULT_SERVER_TIMEZONE

log = logging.getLogger("autotrainer.live")


class ModelWatcher:
    """Polls `models_dir/manifest.json`; returns a new verified ModelBundle when it changes.

    `symbol` and `timeframe`, when given, are what the bot trades: a pair trained for anything else is
    refused with a warning (the bot keeps its current bundle).
    """

    def __init__(self, models_dir: str | Path, symbol: str | None = None, timeframe: str | None = None,
                 patience_polls: int = 3, patience_seconds: float = 5.0) -> None:
        self.models_dir = Path(models_dir)
        self.symbol, self.timeframe = symbol, timeframe.upper() if timeframe else None
        self.patience_polls, self.patience_seconds = patience_polls, patience_seconds
        self._seen: str | None = None  # SHA-256 of the manifest of the last bundle handed out
        self._trouble: tuple[str, str] | None = None  # (manifest digest, problem) failing since `_since`
        self._since, self._count, self._warned = 0.0, 0, False

    def poll(self) -> Any:
        """A newly published, verified bundle; None when nothing changed, a publish is still in progress or
        the new pair cannot be used (logged). Never raises: it runs inside the bot's trading loop."""
        try:
            return self._poll()
        except Exception as exc:  # noqa: BLE001 - nothing may escape into the bot's loop
            self._problem("", f"unexpected {type(exc).__name__}: {exc}", transient=False)
            return None

    def _poll(self) -> Any:
        from autotrainer.features.plugins import load_plugin
        from autotrainer.store.bundle import bundle_from_bytes

        path = self.models_dir / store.MANIFEST
        try:
            raw = path.read_bytes()
        except OSError as exc:  # not published yet, or being replaced on Windows
            self._problem("", f"no model published (no {path})" if isinstance(exc, FileNotFoundError)
                          else f"{path} cannot be read ({exc})", transient=True)
            return None
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self._seen:
            self._trouble = None
            return None
        try:
            manifest = store.parse_manifest(raw, path)
            refusal = self._refusal(manifest)
            if refusal:
                raise ModelStoreError(refusal)
        except ModelStoreError as exc:
            self._problem(digest, str(exc), transient=False)
            return None
        try:
            contents = store.read_verified(self.models_dir, manifest)
        except (ModelStoreError, OSError) as exc:
            self._problem(digest, f"model {manifest['run_id']} does not verify ({exc})", transient=True)
            return None
        try:
            bundle = bundle_from_bytes(self.models_dir, manifest, contents)
            for name in bundle.feature_spec.plugins:  # one the bot cannot import would fail every prediction
                load_plugin(name)
        except AutotrainerError as exc:
            self._problem(digest, f"model {manifest['run_id']} cannot be served here: {exc}", transient=False)
            return None
        self._seen, self._trouble = digest, None
        log.info("Loaded model %s (test AUC %s)", manifest["run_id"], manifest["metrics"]["test_auc"])
        for name in bundle.feature_spec.changed_plugins(manifest.get("feature_spec")):
            log.warning("Feature plugin %s has changed since model %s was trained: its inputs may differ from "
                        "training; retrain or restore the plugin's code", name, manifest["run_id"])
        return bundle

    def _refusal(self, manifest: dict[str, Any]) -> str | None:
        """Why a pair trained for another instrument must not be served (None when it may)."""
        trained = (manifest.get("symbol"), str(manifest.get("timeframe") or "").upper() or None)
        expected = (self.symbol, self.timeframe)
        if all(want is None or want == got for want, got in zip(expected, trained)):
            return None
        return (f"model {manifest['run_id']} was trained for {trained[0] or '?'} {trained[1] or '?'}, but this "
                f"watcher expects {self.symbol or 'any symbol'} {self.timeframe or 'any timeframe'}; not loaded")

    def _problem(self, digest: str, problem: str, transient: bool) -> None:
        """Log a problem once: at once if waiting cannot cure it, else once it has lasted the patience."""
        key = (digest, "transient" if transient else problem)  # a publish in progress changes the text, not the bytes
        now = time.monotonic()
        if key != self._trouble:
            self._trouble, self._since, self._count, self._warned = key, now, 0, False
        self._count += 1
        if self._warned:
            return
        if transient and (self._count < self.patience_polls or now - self._since < self.patience_seconds):
            log.debug("Models in %s not ready yet (%s); will retry", self.models_dir, problem)
            return
        self._warned = True
        log.warning("Models in %s: %s; the bot keeps the model it has (if any), and this watcher keeps trying",
                    self.models_dir, problem)


@dataclass(frozen=True)
class Signal:
    """The model's view of the newest bar."""

    time: Any  # pandas Timestamp (UTC) of the bar scored
    p_up: float  # P(next bar closes higher)
    action: str  # BUY / SELL when the probability clears the model's confidence threshold, else HOLD
    regime: str  # most probable regime: low / medium / high (volatility)
    regime_probabilities: dict[str, float]
    model_run_id: str
    withheld: str | None = None  # why no BUY/SELL may be given on this bar (model expired, inputs unlike training)
    guard_score: float | None = None  # the newest bar's distance outside the training range (None: no guard)
    model_age_hours: float | None = None  # market hours from the end of the training data to this bar


def predict_latest(bundle: Any, bars: Any) -> Signal:
    """Score the newest bar of `bars` (validated bar schema, UTC times, oldest first) with the bundle.

    Features and regime probabilities go through the same function training used; at least
    `min_bars(bundle)` bars are needed so every indicator and the regime filter's full window exist.
    ValueError when the bars cannot be scored (too few, or a feature plugin fails on them).
    """
    needed = min_bars(bundle)
    if len(bars) < needed:
        raise ValueError(f"{len(bars)} bars given; the model needs at least {needed} so every indicator and the "
                         f"regime filter's {bundle.regime.lookback}-bar window match training")
    try:
        last = bundle.scored(bars.iloc[-needed:].reset_index(drop=True), guard_rows=1)[1].iloc[-1]
    except AutotrainerError as exc:  # a plugin failing on these bars, a column it no longer returns
        raise ValueError(f"the newest bar cannot be scored: {exc}") from exc
    p_up = float(last["p_up"])
    regimes = {name: float(last[f"regime_p_{name}"]) for name in bundle.regime.state_names}
    score = float(last["guard_score"]) if "guard_score" in last.index else None
    age = expiry(bundle.manifest, last["time"].to_pydatetime())
    reason = _withheld(bundle, age, score)
    action = "HOLD" if reason else signal_action(p_up, threshold_of(bundle.manifest))
    return Signal(last["time"], p_up, action, max(regimes, key=regimes.__getitem__), regimes, bundle.manifest["run_id"],
                  reason, score, age["age_market_hours"])


_warned: set[tuple[str, str]] = set()  # (model, kind of reason) already logged: one warning, not one per bar


def _withheld(bundle: Any, age: dict[str, Any], score: float | None) -> str | None:
    """Why no BUY/SELL may be given on this bar (None: the signal stands); warns once per model and reason."""
    run_id = bundle.manifest["run_id"]
    if age["expired"]:
        kind, reason = "expired", (f"model {run_id} expired: its training data ended {age['age_market_hours']:g} market "
                                   f"hours before this bar, more than its model_max_age_hours "
                                   f"{age['model_max_age_hours']:g} (since {age['expired_since']}); retrain it")
    elif score is not None and bundle.guard is not None and score > bundle.guard["threshold"]:
        kind, reason = "guard", (f"inputs unlike the training data: guard score {score:.3f} above the threshold "
                                 f"{bundle.guard['threshold']:.3f} of model {run_id}")
    else:
        return None
    if (run_id, kind) not in _warned:
        _warned.add((run_id, kind))
        log.warning("No signal: %s%s", reason, "" if kind == "expired" else " (further such bars are not logged)")
    return reason




def bars_from_rates(rates: Any, server_timezone: str | None = None, bundle: Any = None) -> Any:
    """The bot's `mt5.copy_rates_from_pos(...)` result as the validated UTC bars `predict_latest` takes.

    Pass `bundle=` and the broker clock is the one the model was trained with (its manifest's
    `server_timezone`), so training and serving cannot convert with different clocks; a `server_timezone`
    that contradicts it is a ValueError. The conversion is the MetaTrader 5 source's own. Drop the bar that
    is still forming before predicting (its close is not final). ValueError when the rates are unusable.
    """
    from autotrainer.data.server_clock import rates_to_bars

    trained = (bundle.manifest.get("settings") or {}).get("server_timezone") if bundle is not None else None
    if trained and server_timezone and server_timezone != trained:
        raise ValueError(f"server_timezone {server_timezone!r} contradicts model {bundle.manifest['run_id']}, "
                         f"trained with server_timezone {trained!r}; pass bundle= alone")
    try:
        return rates_to_bars(rates, trained or server_timezone or DEFAULT_SERVER_TIMEZONE,
                             "the bot's MetaTrader 5 rates").frame
    except AutotrainerError as exc:
        raise ValueError(str(exc)) from exc


def min_bars(bundle: Any) -> int:
    """Bars the bot must pass so the newest bar is computed as in training (to ~1e-8)."""
    from autotrainer.features import FEATURE_MEMORY_BARS, WARMUP_BARS

    return max(FEATURE_MEMORY_BARS, WARMUP_BARS + bundle.regime.lookback)

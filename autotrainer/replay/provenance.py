"""What makes a replay reproducible: the bars it read (with their file's fingerprint), the settings that differ
from the defaults, the rules in force and the code's version, recorded beside its numbers.

The settings come from `Settings.public_dict`, the same snapshot every manifest records (addresses and
credentials are left out there), and the rules a candidate is judged by from `published_thresholds`, as a
manifest records them; the code from `recipe.package_digest` and `library_versions`, as a retrain's recipe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autotrainer import __version__
from autotrainer.config import Settings
from autotrainer.jobs.recipe import package_digest
from autotrainer.masking import mask_password
from autotrainer.replay.simulate import REPLAY_READ_BARS, ReplayRun
from autotrainer.store.manifest import library_versions, published_thresholds
from autotrainer.store.pairs import sha256_file
from autotrainer.timeutil import iso

# Settings a replay overrides with its own folder (models, history, log) and SQLite database, or never uses (the
# dashboard card and notifications are a live run's): what the operator set for them does not shape a replay,
# so they are not listed as differences.
REDIRECTED = ("home", "models_dir", "data_dir", "log_file", "database", "dashboard_metrics_file", "notify_on",
              "notify_timeout_seconds", "telegram_api_url", "telegram_chat_id")


def provenance(run: ReplayRun) -> dict[str, Any]:
    """The `source`, `settings`, `rules`, `version`, `versions` and `code_digest` keys of a replay's summary."""
    return {"source": source(run), "settings": changed_settings(run.settings), "rules": rules(run),
            "version": __version__, "versions": library_versions(), "code_digest": package_digest()}


def source(run: ReplayRun) -> dict[str, Any]:
    """Where the bars came from and which they were: a file's path and SHA-256 (another run can check it holds
    the same bytes), or the MetaTrader 5 terminal and its server; the clock they were stamped in; the range."""
    from autotrainer.data.bundled import SAMPLE_PATH
    from autotrainer.data.sources import read_bars, resolve_source

    settings = run.settings
    named = {"symbol": settings.symbol, "timeframe": settings.timeframe}
    resolved = resolve_source(settings)
    if resolved == "mt5":  # a terminal's history moves on: record what the replay scored, not a second read
        return named | {"path": "mt5", "sha256": None, "server": settings.mt5_server or "the terminal's own",
                        "server_clock": settings.server_timezone, "bars": len(run.times),
                        "first_bar": iso(run.times.iloc[0].to_pydatetime()),
                        "last_bar": iso(run.times.iloc[-1].to_pydatetime()),
                        "bars_counted": "feature rows the replay scored (the terminal is not read twice)"}
    path = SAMPLE_PATH if resolved == "sample" else Path(resolved)
    bars = read_bars(settings, REPLAY_READ_BARS)  # a file reads the same twice: its clock and range as validated
    return named | {"path": mask_password(str(path)), "sha256": sha256_file(path), "server_clock": bars.server_clock,
                    "bars": len(bars.frame), "first_bar": iso(bars.start.to_pydatetime()),
                    "last_bar": iso(bars.end.to_pydatetime()), "bars_counted": "every bar of the file"}


def changed_settings(settings: Settings) -> dict[str, Any]:
    """Every setting whose value differs from its default (the manifest's snapshot: no address, no credential),
    the source's path masked in case it is a URL."""
    defaults = Settings().public_dict()
    changed = {key: value for key, value in settings.public_dict().items()
               if key not in REDIRECTED and value != defaults.get(key)}
    if "source" in changed:
        changed["source"] = mask_password(str(changed["source"]))
    return changed


def rules(run: ReplayRun) -> dict[str, Any]:
    """The rules in force: how candidates were judged and published, when retrains were due, how signals were
    taken and charged."""
    settings = run.settings
    return published_thresholds(settings) | {
        "floor_rule": settings.floor_rule, "emergency_rule": settings.emergency_rule, "edge_rule": settings.edge_rule,
        "signal_rule": settings.signal_rule, "skip_unchanged": settings.skip_unchanged,
        "min_signals": settings.min_signals, "auto_retrain_on_low_auc": settings.auto_retrain_on_low_auc,
        "daily_retrain_hour_wib": settings.daily_retrain_hour_wib, "weekend_retrain": settings.weekend_retrain,
        "min_hours_between_retrain": settings.min_hours_between_retrain,
        "emergency_min_hours": settings.emergency_min_hours, "lookahead": settings.lookahead,
        "commission_per_trade": settings.commission_per_trade, "point": run.costs.point, **run.costs.to_json()}

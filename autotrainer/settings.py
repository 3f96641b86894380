"""Every setting autotrainer has: its type, default, help text and the rules its value must follow.

Names and defaults follow the seed (`models_dir`, `min_auc_threshold`, ...) so operators recognise them. Where a
value comes from (file, environment, flags) and how it is checked is `config.py`'s job. Light on imports on
purpose: `autotrainer check` loads this on its fast path.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autotrainer.errors import ConfigError
from autotrainer.masking import database_kind, notify_url_secrets, url_secrets
from autotrainer.rules import DEFAULT_CONFIDENCE_THRESHOLD
from autotrainer.timeutil import DEFAULT_SERVER_TIMEZONE

TIMEFRAME_MINUTES = {"M1": 1, "M5": 5, "M15": 15, "M30": 30, "H1": 60, "H4": 240, "D1": 1440}
TRAINING_TYPES = ("initial", "daily", "weekend", "emergency")
# What a notification can be about (setting `notify_on`): a run's outcome, an emergency run, a rollback, a blocked
# retrain, the live model past `model_max_age_hours`.
NOTIFY_KINDS = ("failed", "rejected", "emergency", "rollback", "blocked", "expired", "published")
# A feature plugin is named like an entry point: "package.module:function".
PLUGIN_RE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def _setting(default: Any, help: str, **rules: Any) -> Any:
    return field(default=default, metadata={"help": help, **rules}, repr=not rules.get("secret", False))


@dataclass(frozen=True)
class Settings:
    """Every knob of the tool, with the seed's defaults."""

    home: Path = _setting(Path("."), "the folder relative paths are resolved against (AUTOTRAINER_HOME or --home, "
                                     "else the current directory); not a setting of the file", internal=True)
    models_dir: Path = _setting(Path("models"), "where the active model pair, manifest and backups live")
    data_dir: Path = _setting(Path("data"), "run history, fallback files, lock and state")
    log_file: str = _setting("logs/autotrainer.log", "rotating log of every run's lines ('' to switch off)", optional=True)
    lock_timeout_seconds: float = _setting(5.0, "how long a second retrain/rollback waits for the lock before exit 5",
                                           min=0.0, max=3600.0)
    symbol: str = _setting("XAUUSD", "broker symbol to train on (suffixes like XAUUSDm are just the symbol)")
    timeframe: str = _setting("M15", "bar timeframe", choices=tuple(TIMEFRAME_MINUTES))
    source: str = _setting(
        "auto",
        "'mt5' (the MetaTrader 5 terminal), 'sample' (bundled real XAUUSD M15 bars), a path to a bar file "
        "(CSV/TSV/TXT, optionally .gz/.zip, or Parquet), or 'auto': mt5 when the MetaTrader5 package is installed, else sample",
    )
    server_timezone: str = _setting(
        DEFAULT_SERVER_TIMEZONE,
        "the broker's server clock the bars are stamped in: an IANA name (most MT5 brokers run UTC+2 winter / "
        "UTC+3 summer = Europe/Athens), 'UTC', a fixed offset like '+03:00', or a zone plus a shift like "
        "'America/New_York+07:00' for brokers that change clocks with US daylight saving",
    )
    daily_retrain_hour_wib: int = _setting(5, "hour (WIB, UTC+7) of the daily retrain window", min=0, max=23)
    retrain_window_minutes: int = _setting(30, "the window is the retrain hour plus/minus this many minutes", min=1, max=180)
    weekend_retrain: bool = _setting(True, "deep retrain on Saturday and Sunday")
    min_hours_between_retrain: float = _setting(20.0, "minimum hours between scheduled retrains", min=0.0, max=168.0)
    emergency_min_hours: float = _setting(4.0, "minimum hours since the last retrain before an emergency one", min=0.0, max=168.0)
    backup_models: bool = _setting(True, "back the active pair up before replacing it")
    backups_kept: int = _setting(5, "newest backups to keep", min=1, max=1000)
    use_db: bool = _setting(True, "record runs in the database (false: files only)")
    database_url: str = _setting(
        "", "SQLAlchemy URL, e.g. postgresql+psycopg2://user:pass@host:5432/db; empty = SQLite in data_dir/autotrainer.db",
        optional=True,
    )
    min_auc_threshold: float = _setting(0.65, "test AUC at or above this is a success; below it is a WARNING", min=0.5, max=1.0)
    publish_floor_auc: float = _setting(
        0.52, "a candidate with test AUC below this floor is rejected (was 'rollback_auc_threshold': nothing is rolled "
        "back, the candidate is simply not published)", min=0.0, max=1.0)
    auto_retrain_on_low_auc: bool = _setting(True, "run an emergency retrain when the active model's AUC is low")
    emergency_rule: str = _setting(
        "evidence", "when an emergency retrain is due: 'evidence' = the active model's live AUC interval lies wholly "
        "below publish_floor_auc, or its live signal hit rate interval wholly below 50%; 'seed' = its AUC "
        "(live, else test) is below min_auc_threshold, which honest AUCs of about 0.51 always are",
        choices=("evidence", "seed"))
    drift_emergency_share: float = _setting(
        0.0, "also call an emergency retrain when at least this share of the model's inputs drifted (population "
        "stability index above 0.2) on the bars since training, as the newest `auc --live` measured it; 0 = off",
        min=0.0, max=1.0)
    model_max_age_hours: float = _setting(
        72.0, "the bot gives no BUY/SELL signal from a model whose training data ended more than this many market "
              "hours ago (weekends and holidays not counted; written into the manifest); 0 = no limit",
        min=0.0, max=100_000.0)
    champion_rule: str = _setting(
        "delong", "how a candidate is judged against the active model on the same bars: 'delong' rejects it only "
        "when the paired DeLong test shows it worse (one-sided p below champion_alpha); 'tolerance' rejects it "
        "whenever its AUC is below the champion's minus champion_tolerance (the plain rule, which decides on noise)",
        choices=("delong", "tolerance"))
    signal_rule: str = _setting(
        "keep_signalling", "'keep_signalling': a candidate that gives no BUY/SELL signal on its test bars at "
        "confidence_threshold does not replace an active model that signals, unless that model's signal hit rate "
        "interval lies wholly below 50% on the same test bars or live; 'off': AUC and champion_rule alone decide",
        choices=("keep_signalling", "off"))
    champion_alpha: float = _setting(0.05, "'delong' rule: reject a candidate only when it is worse with one-sided "
                                     "p below this", min=0.0001, max=0.5)
    champion_tolerance: float = _setting(0.0, "a candidate may trail the active model's AUC on the same bars by this much",
                                         min=0.0, max=0.5)
    champion_min_rows: int = _setting(200, "fewest shared out-of-sample test bars for a champion comparison", min=20,
                                      max=1_000_000)
    min_live_bars: int = _setting(200, "fewest new bars `auc --live` scores before it reports a number", min=20,
                                  max=1_000_000)
    initial_bars: int = _setting(8000, "bars for the first ever training", min=100, max=1_000_000)
    initial_rounds: int = _setting(50, "boosting rounds for the first ever training", min=1, max=10_000)
    daily_bars: int = _setting(8000, "bars for a daily retrain", min=100, max=1_000_000)
    daily_rounds: int = _setting(50, "boosting rounds for a daily retrain", min=1, max=10_000)
    weekend_bars: int = _setting(15000, "bars for a weekend deep retrain", min=100, max=1_000_000)
    weekend_rounds: int = _setting(80, "boosting rounds for a weekend deep retrain", min=1, max=10_000)
    emergency_bars: int = _setting(8000, "bars for an emergency retrain", min=100, max=1_000_000)
    emergency_rounds: int = _setting(50, "boosting rounds for an emergency retrain", min=1, max=10_000)
    min_bars: int = _setting(1000, "fewer bars than this and the run is skipped", min=300, max=1_000_000)
    train_ratio: float = _setting(0.7, "chronological share of rows before the test slice", min=0.5, max=0.95)
    validation_ratio: float = _setting(0.2, "share of the training part kept for early stopping", min=0.05, max=0.5)
    early_stopping_rounds: int = _setting(5, "stop when validation AUC has not improved for this many rounds", min=1, max=1000)
    embargo_bars: int = _setting(0, "minimum gap between slices; the gap is never below lookahead + longest feature window", min=0, max=10_000)
    lookahead: int = _setting(1, "target horizon in bars: 1 means 'does the next bar close higher'", min=1, max=100)
    hmm_regimes: int = _setting(3, "HMM states, named by volatility", min=2, max=6)
    hmm_lookback: int = _setting(500, "bars the forward filter sees, exactly as the live bot does", min=50, max=5000)
    hmm_max_iter: int = _setting(30, "bound on HMM EM iterations", min=1, max=1000)
    confidence_threshold: float | str = _setting(
        DEFAULT_CONFIDENCE_THRESHOLD,
        "probability the bot needs to act on a signal (model metadata), or 'auto': the threshold of a fixed grid "
        "with the best net edge on the validation slice among those with min_signals signals",
        min=0.5, max=1.0, word="auto")
    xgb_max_depth: int = _setting(4, "XGBoost tree depth", min=1, max=16)
    xgb_learning_rate: float = _setting(0.1, "XGBoost learning rate (eta)", min=0.001, max=1.0)
    random_seed: int = _setting(42, "seed for every random choice, so runs are reproducible", min=0, max=2**31 - 1)
    # --- Features: the built-in set and the operator's own functions (issue 7) ---
    builtin_features: bool = _setting(True, "compute the built-in features (false: only the plugins' columns and the regime)")
    features: tuple[str, ...] = _setting(
        (), "extra feature functions, 'package.module:function', run after the built-ins and audited for look-ahead",
        item_pattern=PLUGIN_RE,
    )

    # --- The edge of the signals after costs, and the rules that use evidence (issue 17) ---
    commission_per_trade: float = _setting(0.0, "cost of a round trip beyond the spread, in price units",
                                           min=0.0, max=1_000_000.0)
    point: float = _setting(0.0, "price of one spread point; unset: MetaTrader 5's symbol_info().point, or for "
                            "files the prices' decimals (2 decimals: 0.01)", min=0.0, max=1_000_000.0, positive=True)
    default_spread_points: float = _setting(14.0, "spread in points for bars without a spread column (14: the "
                                            "median of the bundled XAUUSD M15 bars)", min=0.0, max=1_000_000.0)
    edge_rule: str = _setting("no_loss", "'no_loss': reject a candidate whose test-slice edge after costs is "
                              "demonstrably negative (its interval wholly below 0); 'off': the edge is reported only",
                              choices=("off", "no_loss"))
    floor_rule: str = _setting("point", "'point': test AUC below publish_floor_auc rejects; 'evidence': only "
                               "a test AUC whose 95% interval lies wholly below it rejects",
                               choices=("point", "evidence"))
    skip_unchanged: bool = _setting(True, "skip a run whose bars, settings and code equal those of the last run "
                                    "that trained (it would train a byte-identical model); 'retrain --force' "
                                    "trains anyway")
    min_signals: int = _setting(30, "fewest validation signals a threshold needs for confidence_threshold = 'auto'",
                                min=1, max=1_000_000)

    # --- Bar sources: the MetaTrader 5 terminal, and checks every source's bars pass (issue 3) ---
    # AUTOTRAINER_MT5_PATH / _LOGIN / _PASSWORD / _SERVER set these like any other setting.
    mt5_path: str = _setting("", "terminal64.exe to start or attach to (empty: whichever running terminal the "
                             "package finds; needed when more than one terminal is installed)",
                             optional=True)
    mt5_login: int = _setting(0, "trading account number (0: the account the terminal is logged in to)", min=0, max=2**63 - 1)
    mt5_password: str = _setting("", "password for mt5_login; never logged, echoed or recorded", secret=True,
                                 optional=True)
    mt5_server: str = _setting("", "trade server of mt5_login, e.g. 'MetaQuotes-Demo'", optional=True)
    mt5_timeout_ms: int = _setting(60_000, "how long initialize() may wait for the terminal", min=1000, max=600_000)
    mt5_attempts: int = _setting(3, "tries for a transient MetaTrader 5 failure (terminal starting, history loading)", min=1, max=10)
    mt5_retry_seconds: float = _setting(2.0, "wait before the first retry; doubled for each further one", min=0.0, max=300.0)
    max_bar_age_hours: float = _setting(
        48.0, "refuse to train when the newest bar is older than this many market hours (weekends and holidays "
        "do not count)", min=0.25, max=100_000.0)
    allow_stale_data: bool = _setting(False, "train even when the newest bar is older than max_bar_age_hours")
    check_server_clock: bool = _setting(
        True, "check server_timezone against the 17:00 New York weekly close of FX and metals; turn off for "
        "symbols that close at another time")

    # --- The bot's dashboard and notifications (issue 19) ---
    dashboard_metrics_file: str = _setting(
        "data/model_metrics.json", "the bot dashboard's 'Model Insights' file, rewritten for the live model after "
        "every publish and rollback ('' to switch off)", optional=True)
    notify_on: tuple[str, ...] = _setting(
        ("failed", "rejected", "emergency", "rollback", "blocked", "expired"), "what is worth a message: any of "
        + ", ".join(NOTIFY_KINDS) + " (blocked: a guard kept a due retrain from running; expired: the live model is "
        "past 'model_max_age_hours' and the bot gives no signal)", item_choices=NOTIFY_KINDS)
    notify_urls: tuple[str, ...] = _setting((), "Apprise URLs of other services to notify (e.g. 'discord://...', "
                                            "'json://host/path'); secrets: never logged or recorded", secret=True)
    telegram_bot_token: str = _setting("", "the bot's Telegram token; TELEGRAM_BOT_TOKEN, as the bot reads it, "
                                       "when unset", secret=True, optional=True)
    telegram_chat_id: str = _setting("", "the chat to message; TELEGRAM_CHAT_ID, as the bot reads it, when unset",
                                     optional=True)
    telegram_api_url: str = _setting("https://api.telegram.org", "the Bot API server (a self-hosted one: its base URL)")
    notify_timeout_seconds: float = _setting(5.0, "longest a notification may hold a run up; then it gives up with "
                                             "a warning", min=0.1, max=60.0)

    def bars_and_rounds(self, training_type: str) -> tuple[int, int]:
        """The seed's table: how many bars and boosting rounds each training type uses."""
        if training_type not in TRAINING_TYPES:
            raise ConfigError(f"training type {training_type!r} is not one of {', '.join(TRAINING_TYPES)}")
        return getattr(self, f"{training_type}_bars"), getattr(self, f"{training_type}_rounds")

    @property
    def fixed_confidence_threshold(self) -> float:
        """The number set, or under 'auto' the default: what 'auto' falls back to when no grid threshold has
        min_signals signals on the validation slice."""
        if isinstance(self.confidence_threshold, str):
            return DEFAULT_CONFIDENCE_THRESHOLD
        return float(self.confidence_threshold)

    @property
    def timeframe_minutes(self) -> int:
        return TIMEFRAME_MINUTES[self.timeframe]

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-able values, for manifests (copied into backups, events and the history).

        The database address and the MetaTrader 5 account are left out, not masked: a manifest travels, and
        a mask misses forms nobody foresaw. What kind of database it was, and whether an account was set, stay.
        """
        public = {k: str(v) if isinstance(v, Path) else v
                  for k, v in dataclasses.asdict(self).items() if k not in UNRECORDED}
        return public | {"database": database_kind(self.database_url), "mt5_login_set": bool(self.mt5_login),
                         "mt5_password_set": bool(self.mt5_password)}

    def secrets(self) -> set[str]:
        """Every credential these settings hold, for the filter that keeps them out of logs and output."""
        found = url_secrets(self.database_url) | {self.mt5_password, self.telegram_bot_token}
        found |= {part for url in (*self.notify_urls, self.telegram_api_url) for part in notify_url_secrets(url)}
        return {text for text in found if text} | ({str(self.mt5_login)} if self.mt5_login else set())


# Settings no manifest, run record or event ever holds: addresses and credentials.
UNRECORDED = ("database_url", "mt5_login", "mt5_password", "notify_urls", "telegram_bot_token", "telegram_chat_id",
              "telegram_api_url")
SETTING_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")}

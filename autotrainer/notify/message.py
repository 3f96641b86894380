"""The messages, as HTML in the bot's own Telegram style: an emoji and a bold title, sections of
tree-connected lines with values in <code>, a WIB time at the end. Every value is escaped."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from autotrainer.history import words
from autotrainer.history.records import RunRecord, dashboard_columns
from autotrainer.timeutil import WIB, utc_now

TITLES = {
    "failed": ("\u274c", "RETRAIN FAILED"),
    "rejected": ("\u26d4", "MODEL REJECTED"),
    "published": ("\u2705", "MODEL PUBLISHED"),
    "emergency": ("\U0001f6a8", "EMERGENCY RETRAIN"),
    "rollback": ("\u23ea", "MODEL ROLLED BACK"),
    "blocked": ("\u23f8\ufe0f", "RETRAIN BLOCKED"),
    "expired": ("\u231b", "MODEL EXPIRED"),
    "test": ("\U0001f514", "AUTOTRAINER TEST"),
}
BRANCH, LAST = "\u251c", "\u2514"  # the bot's tree connectors
LONGEST_TEXT = 700  # a reason beyond this is cut: Telegram takes at most 4096 characters a message


def code(value: Any) -> str:
    return f"<code>{escape(str(value))}</code>"


def section(title: str, items: list[str]) -> str:
    """A bold title and its lines joined by tree connectors, as the bot's `_build_section` draws them."""
    lines = [f"<b>{escape(title)}</b>"]
    lines += [f"{LAST if i == len(items) - 1 else BRANCH} {item}" for i, item in enumerate(items)]
    return "\n".join(lines)


def compose(kind: str, subtitle: str, sections: list[str], now: datetime | None = None) -> str:
    """The whole message: title line, sections, and the time in WIB."""
    emoji, title = TITLES[kind]
    when = (now or utc_now()).astimezone(WIB).strftime("%Y-%m-%d %H:%M")
    body = "\n\n".join(s for s in sections if s)
    return f"{emoji} <b>{title}</b> {escape(subtitle)}\n\n{body}\n\n\u23f0 {when} WIB"


def _text(value: str) -> str:
    value = value if len(value) <= LONGEST_TEXT else value[:LONGEST_TEXT] + "..."
    return f"<i>{escape(value)}</i>"


def _auc(record: RunRecord) -> str:
    if record.test_auc is None:
        return "Test AUC: <code>-</code>"
    interval = ("" if record.test_auc_low is None or record.test_auc_high is None
                else f" (95% CI {record.test_auc_low:.4f}-{record.test_auc_high:.4f})")
    return f"Test AUC: {code(f'{record.test_auc:.4f}')}{escape(interval)}"


def run_message(record: RunRecord, kind: str) -> str:
    """A retrain: run id, type, outcome, test AUC with its interval, the edge verdict, duration, reason."""
    outcome = words.outcome_text(record.status, record.auc_band)
    duration = "-" if record.duration_seconds is None else f"{record.duration_seconds:.1f}s"
    run = [f"ID: {code(record.run_id)}", f"Type: {code(record.training_type)} ({escape(record.trigger)})",
           f"Outcome: {code(outcome)}", f"Duration: {code(duration)}"]
    model = [_auc(record), f"Edge: {code(record.edge_verdict or '-')}",
             f"Samples: {code(record.sample_count or '-')} | Features: {code(record.feature_count or '-')}"]
    why = [f"Trigger: {_text(dashboard_columns(record)['trigger_reason'] or '-')}"]
    if record.error_message:
        why.append(f"Reason: {_text(record.error_message)}")
    return compose(kind, f"{record.symbol} {record.timeframe}".strip(),
                   [section("Run", run), section("Model", model), section("Why", why)])


def rollback_message(manifest: dict[str, Any], backup: str, reason: str, replaced: str | None) -> str:
    """A rollback: the pair that is live again, from which backup, and why."""
    metrics = manifest.get("metrics") or {}
    auc = metrics.get("test_auc")
    restored = [f"Run: {code(manifest.get('run_id'))}", f"Backup: {code(backup)}",
                f"Test AUC: {code('-' if auc is None else f'{auc:.4f}')}",
                f"Replaced pair kept in: {code(replaced or '-')}"]
    subtitle = f"{manifest.get('symbol', '')} {manifest.get('timeframe', '')}".strip()
    return compose("rollback", subtitle, [section("Restored", restored), section("Why", [_text(reason or "-")])])


def blocked_message(hold: str, reason: str, next_window: datetime) -> str:
    """A due retrain a guard kept from running: which guard, its words, and the next window."""
    items = [f"Guard: {code(hold)}", f"Reason: {_text(reason)}",
             f"Next window: {code(next_window.astimezone(WIB).strftime('%Y-%m-%d %H:%M') + ' WIB')}"]
    return compose("blocked", "", [section("Held back", items)])


def expired_message(run_id: str, expiry: dict[str, Any]) -> str:
    """The live model is past `model_max_age_hours`: which model, since when, and that the bot is not trading."""
    since = datetime.fromisoformat(expiry["expired_since"]).astimezone(WIB).strftime("%Y-%m-%d %H:%M") + " WIB"
    age = f"{expiry['age_market_hours']:g} market hours"
    items = [f"Model: {code(run_id)}", f"Expired since: {code(since)}",
             f"Age: {code(age)} (limit {code(expiry['model_max_age_hours'])})",
             "The bot gives no BUY/SELL until a new model is published"]
    return compose("expired", "", [section("No tradeable model", items)])


def test_message(home: str, symbol: str, notify_on: tuple[str, ...], channels: list[str]) -> str:
    """`notify --test`: what is set up, so the operator sees the message arrive where it should."""
    items = [f"Home: {code(home)}", f"Symbol: {code(symbol)}", f"Notify on: {code(', '.join(notify_on) or '-')}",
             f"Channels: {code(', '.join(channels))}"]
    return compose("test", "", [section("Set-up", items)])

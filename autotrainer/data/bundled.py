"""The bars shipped inside the package: the default source on a machine without MetaTrader 5.

15,000 real XAUUSD M15 bars from an MT5 demo account (2025-06-24 -> 2026-02-11 broker time; see NOTICE).
A module of its own, importing nothing, so the bot's side can probe a manifest's features without settings.
"""

from pathlib import Path

SAMPLE_PATH = Path(__file__).with_name("sample") / "xauusd_m15_mt5demo.csv.gz"
SAMPLE_SYMBOL = "XAUUSD"
SAMPLE_TIMEFRAME = "M15"
# The sample's daily break sits at 00:00-01:00 server time and moves with EU daylight saving
# (UTC+3 in summer, UTC+2 in winter): the usual MT5 "New York close" clock. The week of 2025-10-27,
# between the EU and US clock changes, shows it follows the EU dates (the clock check confirms it).
SAMPLE_SERVER_TIMEZONE = "Europe/Athens"

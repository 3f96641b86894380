"""Bars in, checked, in UTC: sources (MetaTrader 5, files, the bundled sample), formats, clocks, market hours."""

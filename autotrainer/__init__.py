"""autotrainer: keeps a live MetaTrader 5 gold bot's XGBoost signal and HMM regime models retrained,
validated and safely published. Kept import-free so `autotrainer check` starts fast."""

__version__ = "0.1.0"

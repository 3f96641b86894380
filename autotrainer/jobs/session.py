"""The settings of one command-line invocation, with what every command needs before it starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autotrainer.config import Settings, load_settings
from autotrainer.logs import keep_secret


def open_settings(config: Path | None, overrides: dict[str, Any], home: Path | None,
                  plugins: bool = True) -> Settings:
    """Load the settings, keep their credentials out of every line shown, and (unless `plugins` is False:
    `check` with nothing due must not import the feature libraries) let plugins in the home folder import."""
    settings = load_settings(config, overrides, home=home)
    keep_secret(settings.secrets())
    if plugins:
        plugins_from_home(settings)
    return settings


def plugins_from_home(settings: Settings) -> None:
    """Feature plugins kept in the home folder import from any working directory."""
    from autotrainer.features.plugins import import_from_home

    import_from_home(settings.home)

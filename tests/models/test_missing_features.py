"""Which features a manifest needs that this version cannot compute: the built-in set is computed on the
bundled bars once a process, and answers as computing it each time does."""

from __future__ import annotations

from autotrainer.features.plugins import FeatureSpec
from autotrainer.models import inputs


def test_the_builtin_columns_are_those_computed_on_the_bundled_bars() -> None:
    for builtin in (True, False):
        assert list(inputs._builtin_columns(builtin)) == inputs._computed_columns(FeatureSpec(builtin=builtin))
    assert inputs._builtin_columns(True) is inputs._builtin_columns(True)  # computed once


def test_a_builtin_manifest_misses_only_what_no_version_computes() -> None:
    columns = list(inputs._builtin_columns(True))
    manifest = {"feature_spec": {"builtin": True, "plugins": [], "plugin_sources": {}},
                "regime": {"states": ["low", "high"]}, "features": [*columns, "regime_p_low", "orderflow_v9"]}
    assert inputs.missing_features(manifest) == ["orderflow_v9"]
    assert inputs.missing_features({**manifest, "feature_spec": {"builtin": "yes"}})[0].startswith("its feature set")

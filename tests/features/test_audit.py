"""The look-ahead audit on the real bundled bars: the built-ins pass, every classic leak is caught and named."""

from __future__ import annotations

import json
from typing import Iterator

import pandas as pd
import plugin_examples
import pytest
from hypothesis import given, settings, strategies as st

from autotrainer import features as builtin_features
from autotrainer.errors import ConfigError, LeakageError
from autotrainer.features import WARMUP_BARS, audit
from autotrainer.features.audit import LEAK_AUC, Cuts, audit_features, require_clean, uniform_cuts
from autotrainer.features.plugins import BUILTIN, FeatureSpec

# How the test suite audits the built-ins: their code changes only with a release, so it is proven here far
# more thoroughly than a retrain can afford to (eight dropped-bar runs probe about 1,000 of 15,000 bars).
THOROUGH = Cuts(uniform=12, events=12, drop_passes=8)


def spec_with(*plugins: str, builtin: bool = True) -> FeatureSpec:
    return FeatureSpec(builtin=builtin, plugins=tuple(f"plugin_examples:{name}" for name in plugins))


def daily_windows(frame: pd.DataFrame, step: int = 250) -> list[pd.DataFrame]:
    """Every daily retrain's 8,000 bars, the newest bar moving `step` bars at a time through the bundled bars."""
    return [frame.iloc[end - 8000:end].reset_index(drop=True) for end in range(8000, len(frame) + 1, step)]


@pytest.fixture(scope="module")
def daily(sample_frame: pd.DataFrame) -> pd.DataFrame:
    """The 8,000 newest bars: what a daily retrain audits."""
    return sample_frame.iloc[-8000:].reset_index(drop=True)


@pytest.fixture
def sparse_leak() -> Iterator[dict]:
    """SPARSE_LEAK as the examples define it (about 1% of bars), restored after the test."""
    saved = dict(plugin_examples.SPARSE_LEAK)
    yield plugin_examples.SPARSE_LEAK
    plugin_examples.SPARSE_LEAK.update(saved)


def test_builtin_features_pass_a_thorough_audit_of_all_bundled_bars(sample_frame: pd.DataFrame) -> None:
    report = audit_features(sample_frame, FeatureSpec(), lookahead=1, builtin_cuts=THOROUGH)
    assert report.clean and report.look_ahead == [] and report.label_leaks == []
    assert len(report.columns) >= 77 and {c.producer for c in report.columns} == {BUILTIN}
    assert all(c.causal and c.cuts >= 20 and c.differing_values == 0 and c.probed_bars > 900 for c in report.columns)
    assert 0.4 < report.strongest.auc < 0.6  # honest features of gold M15 are weak, nowhere near a leak
    assert report.compared_values > 10_000_000 and report.probed_bars > 900


def test_builtin_features_pass_the_audit_a_daily_retrain_runs(daily: pd.DataFrame) -> None:
    report = audit_features(daily, FeatureSpec(), lookahead=1)
    assert report.clean
    assert report.bars == 8000 and report.auc_rows == 2000 and 1 <= len(report.cuts) <= 3
    assert 60 <= report.probed_bars <= 75  # one dropped-bar run: a bar in about 118
    assert all(c.probed_bars == report.probed_bars for c in report.columns)
    assert "no label leak" in report.summary() and f"{report.probed_bars} probed bars" in report.summary()


def test_a_leak_on_one_bar_in_a_hundred_is_caught_on_every_daily_window(
    sample_frame: pd.DataFrame, sparse_leak: dict
) -> None:
    # The leak: `shift(-1)` on ~1% of bars, the past return elsewhere. A few exact cuts found it in
    # 2 of 27 windows; the dropped-bar runs must find it in all of them, and say it reads one bar ahead.
    assert sparse_leak["share"] == 0.01
    for window in daily_windows(sample_frame):
        report = audit_features(window, spec_with("sparse_future_return", builtin=False), lookahead=1)
        (column,) = report.look_ahead
        assert column.name == "ret_1_sparse" and column.lookahead_bars == 1, window["time"].iloc[-1]
        assert 0.4 < column.auc < 0.6  # invisible to the target-leak test: only truncation shows it
        assert column.producer == "plugin_examples:sparse_future_return" and "1 ahead of t" in column.why
        assert 0 < column.jumped_bars < column.probed_bars / 20  # the dropped bars show it is sparse


def test_honest_features_are_never_flagged_on_any_daily_window(sample_frame: pd.DataFrame) -> None:
    # The dropped-bar runs compare recomputations on other bars than the full one; only exact prefixes may
    # condemn a column, so built-ins with long memory and honest plugins pass everywhere.
    for window in daily_windows(sample_frame):
        report = audit_features(window, spec_with("causal_feature", "boolean_flag"), lookahead=1)
        assert report.clean, (window["time"].iloc[-1], report.failure_message())
        assert all(c.probed_bars >= 60 for c in report.columns)


def test_a_sparse_leak_inside_the_builtins_is_caught_by_the_thorough_audit(
    sample_frame: pd.DataFrame, sparse_leak: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A regression in built-in code: `ret_1` reads the next bar on ~1% of bars.
    monkeypatch.setattr(builtin_features, "technical_features",
                        plugin_examples.leak_into_ret_1(builtin_features.technical_features))
    for window in daily_windows(sample_frame, step=1750):
        report = audit_features(window, FeatureSpec(), lookahead=1, builtin_cuts=THOROUGH)
        assert [(c.name, c.lookahead_bars) for c in report.look_ahead] == [("ret_1", 1)], window["time"].iloc[-1]
        assert report.look_ahead[0].producer == BUILTIN


def test_suspects_from_dropped_bars_are_decided_by_exact_prefixes_only(
    daily: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the contamination baseline switched off every probed value that moved is a suspect, including those
    # of a 200-bar mean that merely still remembers an earlier dropped bar: the confirming prefixes clear them
    # (the verdict stays clean), the budget bounds the cost, and the unconfirmed probes are not counted.
    monkeypatch.setattr(audit, "CONTAMINATION_RATIO", 0.0)
    report = audit_features(daily, spec_with("causal_feature", builtin=False), lookahead=1)
    assert report.clean
    columns = {c.name: c for c in report.columns}
    short, long = columns["momentum_2"], columns["dist_mean_200"]
    assert long.cuts == short.cuts <= 4 + 12 + audit.MAX_CONFIRMATIONS and long.cuts > 4
    assert short.probed_bars > 500 and long.probed_bars < short.probed_bars / 2
    assert f"{long.probed_bars:,} probed bars" in long.why


def test_the_same_bars_are_always_audited_the_same_way(daily: pd.DataFrame, sparse_leak: dict) -> None:
    spec = spec_with("causal_feature", "sparse_future_return")
    first, again = (audit_features(daily, spec, lookahead=1).to_dict() for _ in range(2))
    assert first == again  # dropped bars and confirming cuts follow from the bars' fingerprint
    assert first["probed_bars"] > 500 and not first["clean"]


@pytest.mark.parametrize(
    ("plugin", "columns", "bars_ahead"),
    [
        ("next_bar_volume", ["volume_next_ratio"], 1),
        ("centred_mean", ["centred_mean_21"], 10),
        ("order_block_at_formation", ["ob_formed", "ob_formed_top", "ob_formed_bottom"], None),
    ],
)
def test_features_that_use_future_bars_are_caught_and_named(
    daily: pd.DataFrame, plugin: str, columns: list[str], bars_ahead: int | None
) -> None:
    report = audit_features(daily, spec_with("causal_feature", plugin), lookahead=1)
    assert [c.name for c in report.look_ahead] == columns  # and nothing else: the honest columns pass
    for column in report.look_ahead:
        assert column.producer == f"plugin_examples:{plugin}"
        assert column.differing_values > 0 and not column.whole_series
        assert pd.Timestamp(report.first_bar) <= pd.Timestamp(column.first_difference) <= pd.Timestamp(report.last_bar)
        assert "changes when later bars are removed" in column.why
        if bars_ahead is not None:
            assert column.lookahead_bars == bars_ahead
    with pytest.raises(LeakageError) as err:
        require_clean(report)
    assert err.value.exit_code == 2
    assert all(name in str(err.value) for name in columns)
    assert f"plugin_examples:{plugin}" in str(err.value)


def test_order_block_stamped_where_it_formed_is_caught_on_every_daily_window(sample_frame: pd.DataFrame) -> None:
    # The leak shows only where a later break confirms a block, so uniform cuts alone can miss it; the cuts
    # placed at the function's own events must catch it whatever day the window ends on.
    spec = spec_with("order_block_at_formation", builtin=False)
    for end in range(8000, 15001, 700):
        window = sample_frame.iloc[end - 8000:end].reset_index(drop=True)
        report = audit_features(window, spec, lookahead=1)
        assert {c.name for c in report.look_ahead} == {"ob_formed", "ob_formed_top", "ob_formed_bottom"}, end


def test_feature_equal_to_the_future_return_is_caught_by_the_target_leak_test(daily: pd.DataFrame) -> None:
    report = audit_features(daily, spec_with("future_return", "inverted_future_return"), lookahead=1)
    leaks = {c.name: c for c in report.label_leaks}
    assert set(leaks) == {"future_return", "minus_future_return"}
    assert leaks["future_return"].auc > LEAK_AUC and leaks["minus_future_return"].auc < 1 - LEAK_AUC
    assert "probable label leak" in leaks["future_return"].why and "inverted" in leaks["minus_future_return"].why
    assert "probable label leak(s): future_return" in report.failure_message()
    honest = [c for c in report.columns if c.producer == BUILTIN]
    assert not any(c.label_leak for c in honest)


def test_scaling_with_statistics_of_the_whole_series_is_caught(daily: pd.DataFrame) -> None:
    report = audit_features(daily, spec_with("globally_scaled_close"), lookahead=1)
    (column,) = report.look_ahead
    assert column.name == "close_zscore_all" and column.whole_series
    assert "whole series" in column.why


@settings(max_examples=12, deadline=None)
@given(column=st.sampled_from(["close", "high", "tick_volume"]), bars_ahead=st.integers(1, 400))
def test_reading_any_bar_ahead_is_caught_with_its_distance(
    sample_frame: pd.DataFrame, column: str, bars_ahead: int
) -> None:
    plugin_examples.SHIFT.update(column=column, bars_ahead=bars_ahead)
    report = audit_features(sample_frame.iloc[:3000], spec_with("configured_shift", builtin=False), lookahead=1)
    assert [(c.name, c.lookahead_bars) for c in report.look_ahead] == [("shifted", bars_ahead)]


@settings(max_examples=12, deadline=None)
@given(column=st.sampled_from(["close", "low", "spread"]), bars_back=st.integers(0, 400))
def test_reading_bars_behind_is_never_flagged(sample_frame: pd.DataFrame, column: str, bars_back: int) -> None:
    plugin_examples.SHIFT.update(column=column, bars_ahead=-bars_back)
    report = audit_features(sample_frame.iloc[:3000], spec_with("configured_shift", builtin=False), lookahead=1)
    assert report.clean


def test_a_function_whose_columns_depend_on_the_history_length_is_a_config_error(daily: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="columns_depend_on_length' returned other columns on the first"):
        audit_features(daily, spec_with("columns_depend_on_length"), lookahead=1)


def test_a_function_that_fails_on_bars_with_gaps_says_the_audit_dropped_them(daily: pd.DataFrame) -> None:
    with pytest.raises(ConfigError) as err:
        audit_features(daily, spec_with("rejects_missing_bars", builtin=False), lookahead=1)
    message = str(err.value)
    assert "'plugin_examples:rejects_missing_bars' failed on" in message and "a bar is missing" in message
    assert "in the look-ahead audit, on the bars with" in message and "single bars dropped" in message


def test_cuts_are_spread_over_the_rows_after_warmup() -> None:
    cuts = uniform_cuts(8000, 3)
    assert cuts == [WARMUP_BARS + 1975, WARMUP_BARS + 3950, WARMUP_BARS + 5925]
    assert uniform_cuts(300, 12)[0] > WARMUP_BARS and uniform_cuts(300, 12)[-1] < 300


def test_report_is_plain_json_with_a_reason_for_every_column(daily: pd.DataFrame) -> None:
    report = audit_features(daily, spec_with("causal_feature", "next_bar_volume"), lookahead=1)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["clean"] is False and data["bars"] == 8000
    by_name = {c["name"]: c for c in data["columns"]}
    assert by_name["volume_next_ratio"]["causal"] is False and by_name["volume_next_ratio"]["lookahead_bars"] == 1
    assert by_name["momentum_2"]["ok"] is True and by_name["momentum_2"]["cuts"] >= 4
    assert by_name["momentum_2"]["probed_bars"] > 500 and data["probed_bars"] >= by_name["momentum_2"]["probed_bars"]
    assert all(c["why"] for c in data["columns"])

"""The server-clock check judges each weekly close once a process: the verdicts it looks up are the ones a
fresh evaluation of every close gives, on real bars, for windows that share some closes and not others."""

from __future__ import annotations

import pandas as pd
import pytest

from autotrainer.data import server_clock
from autotrainer.data.server_clock import (
    COMMON_CLOCKS,
    FIXED_CLOCKS,
    WEEKEND,
    _closes_at_17,
    _friday_close,
    _verdicts,
    check_server_clock,
    server_to_utc,
    utc_to_server,
)
from autotrainer.errors import DataError


def _fresh(closing: pd.Series, server_ends: pd.Series, spec: str, minutes: int) -> dict[str, pd.Series]:
    """Every close judged from scratch, as the check did before it remembered verdicts."""
    expected = _friday_close(closing + pd.Timedelta(minutes=minutes))
    clocks = [spec, *COMMON_CLOCKS, *FIXED_CLOCKS]
    return {clock: _closes_at_17(server_ends, clock, expected, "test") for clock in clocks}


def _misread(sample_frame: pd.DataFrame, spec: str) -> pd.Series:
    """The bundled bars' times as a source reads them when they were stamped in Europe/Athens (the sample's
    clock) and the setting says `spec`: right for Athens, wrong in every week or only some for others."""
    return server_to_utc(utc_to_server(sample_frame["time"], "Europe/Athens"), spec, "test")


def _reference(times: pd.Series, spec: str) -> tuple[str, str, tuple[str, ...]]:
    """The check as it was written before it remembered verdicts, for its outcome word for word."""
    starts = times.reset_index(drop=True)
    closing = starts[(starts.shift(-1) - starts) >= WEEKEND]
    server_ends = utc_to_server(closing, spec) + pd.Timedelta(minutes=15)
    at_17 = _fresh(closing, server_ends, spec, 15)
    ours, total = int(at_17[spec].sum()), len(closing)
    best = max(at_17, key=lambda clock: int(at_17[clock].sum()))
    if at_17[best].sum() > ours and at_17[best].sum() >= 2:
        differ = ", ".join(f"{t:%Y-%m-%d}" for t in closing[at_17[best] & ~at_17[spec]].iloc[:3])
        return "error", (
            f"bars: with server_timezone {spec!r} only {ours} of {total} weekly closes (the last bar before each "
            f"weekend) end at 17:00 New York time, where FX and metals close; the others mostly end at "
            f"{server_clock._usual_close(server_ends[~at_17[spec]], spec, 'bars')}. {best!r} puts "
            f"{int(at_17[best].sum())} of {total} at 17:00 (it differs in the weeks of {differ}). Set "
            f"server_timezone = {best!r}, or check_server_clock = false if this symbol closes at another time"), ()
    note = f"server clock {spec!r}: {ours} of {total} weekly closes at 17:00 New York (the others closed early)"
    if ours * 2 < total:
        return "ok", note, (f"bars: could not confirm server_timezone {spec!r}: only {ours} of {total} weekly closes "
                            f"fall at 17:00 New York and no common broker clock does better",)
    return "ok", note if ours < total else f"server clock {spec!r}: all {total} weekly closes at 17:00 New York", ()


def _outcome(times: pd.Series, spec: str) -> tuple[str, str, tuple[str, ...]]:
    try:
        check = check_server_clock(times, spec, 15, "bars")
    except DataError as exc:
        return "error", str(exc), ()
    return "ok", check.note, tuple(check.warnings)


@pytest.mark.parametrize("spec", ["UTC", "Europe/Athens", "America/New_York+07:00", "+03:00"])
def test_remembered_verdicts_equal_a_fresh_judgement(sample_frame: pd.DataFrame, spec: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_clock, "_VERDICTS", {})
    times = _misread(sample_frame, spec)
    for start in range(0, len(times) - 3000, 1500):  # overlapping windows: some closes seen before, some new
        window = times.iloc[start:start + 4000]
        starts = window.reset_index(drop=True)
        closing = starts[(starts.shift(-1) - starts) >= WEEKEND]
        server_ends = utc_to_server(closing, spec) + pd.Timedelta(minutes=15)
        clocks, remembered = _verdicts(closing, server_ends, spec, 15, "test")
        fresh = _fresh(closing, server_ends, spec, 15)
        assert clocks == list(fresh)
        for column, verdict in enumerate(fresh.values()):
            assert remembered[:, column].tolist() == verdict.tolist()
        warm = _outcome(window, spec)
        assert warm == _reference(window, spec)  # the same note, warnings or refusal, word for word
        monkeypatch.setattr(server_clock, "_VERDICTS", {})
        assert _outcome(window, spec) == warm
    assert server_clock._VERDICTS  # the verdicts were kept for the next run


def test_a_series_judged_up_front_leaves_its_windows_only_lookups(sample_frame: pd.DataFrame,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """What a replay does: every weekly close of all its bars judged in one batch, then each run's window
    checked against them, with the same outcome as a check that judged the window itself."""
    monkeypatch.setattr(server_clock, "_VERDICTS", {})
    times = _misread(sample_frame, "America/New_York+07:00")
    server_clock.remember_weekly_closes(times, "America/New_York+07:00", 15, "bars")
    judged = dict(server_clock._VERDICTS)
    outcomes = [_outcome(times.iloc[end - 3000:end], "America/New_York+07:00") for end in range(3000, len(times), 700)]
    assert server_clock._VERDICTS == judged  # nothing new to judge
    assert outcomes == [_reference(times.iloc[end - 3000:end], "America/New_York+07:00")
                        for end in range(3000, len(times), 700)]
    monkeypatch.setattr(server_clock, "_VERDICTS", {})
    assert outcomes == [_outcome(times.iloc[end - 3000:end], "America/New_York+07:00")
                        for end in range(3000, len(times), 700)]
    assert any(kind == "error" for kind, _, _ in outcomes) and any(kind == "ok" for kind, _, _ in outcomes)
    server_clock.remember_weekly_closes(times, "Mars/Olympus", 15, "bars")  # a clock that does not parse: no raise

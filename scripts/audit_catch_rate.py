"""How often the look-ahead audit catches a sparse leak, on the bundled real bars.

    python scripts/audit_catch_rate.py [--windows N] [--bars N]

A leak that reads the next bar (`shift(-1)`) on a small share of bars and is honest elsewhere is planted
(a) in a plugin (`tests/plugin_examples.py:sparse_future_return`) and (b) inside the built-ins (their
`ret_1` column, by wrapping the TA-Lib producer), on N evenly spaced windows of the newest bars with a
different choice of leaking bars in each. Each window is audited as a retrain would, with the audit's
settings before issue 12 (exact prefixes only) and with today's; the table counts the windows caught.
The "before" settings reproduce the audit of main before issue 12 report for report. Prints Markdown;
speed is measured by scripts/bench.py.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import plugin_examples  # noqa: E402  (tests/ holds the example plugins)

from autotrainer import features as builtin_features  # noqa: E402
from autotrainer.config import load_settings  # noqa: E402
from autotrainer.data.sources import load_bars  # noqa: E402
from autotrainer.features.audit import Cuts, audit_features  # noqa: E402
from autotrainer.features.plugins import FeatureSpec  # noqa: E402

SHARES = (0.01, 0.005, 0.001)
CONFIGURATIONS: dict[str, dict[str, Cuts]] = {
    "before (exact prefixes only)": {"builtin_cuts": Cuts(uniform=3), "plugin_cuts": Cuts(uniform=12, events=12)},
    "after (with dropped bars)": {},
}
PLUGIN = FeatureSpec(builtin=False, plugins=("plugin_examples:sparse_future_return",))


@contextmanager
def leak_in_builtins() -> Iterator[None]:
    """The built-ins with `ret_1` replaced by the next bar's return on the bars SPARSE_LEAK picks."""
    honest = builtin_features.technical_features
    builtin_features.technical_features = plugin_examples.leak_into_ret_1(honest)
    try:
        yield
    finally:
        builtin_features.technical_features = honest


def caught(window: pd.DataFrame, where: str, config: dict[str, Cuts]) -> bool:
    """Whether the audit flags the planted column."""
    if where == "plugin":
        report = audit_features(window, PLUGIN, 1, **config)
        column = "ret_1_sparse"
    else:
        with leak_in_builtins():
            report = audit_features(window, FeatureSpec(), 1, **config)
        column = "ret_1"
    return column in {c.name for c in report.look_ahead}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=28, help="windows per cell (default 28)")
    parser.add_argument("--bars", type=int, default=8000, help="bars per window (default 8,000: a daily retrain)")
    args = parser.parse_args()
    frame = load_bars(load_settings(None, {"source": "sample"}, env={}), 15_000).frame
    ends = np.linspace(args.bars, len(frame), args.windows).round().astype(int)
    windows = [frame.iloc[end - args.bars:end].reset_index(drop=True) for end in ends]
    print(f"{args.windows} windows of {args.bars:,} bars (newest bars ending {ends[1] - ends[0]} bars apart), "
          "leaking bars drawn afresh in each\n")
    for label, config in CONFIGURATIONS.items():
        clean = audit_features(windows[0], FeatureSpec(plugins=("plugin_examples:causal_feature",)), 1, **config)
        checked = {c.producer: (c.cuts, c.probed_bars) for c in clean.columns}
        print(f"- {label}: " + "; ".join(f"{'plugin' if ':' in producer else producer}: {cuts} exact prefix(es) and "
                                         f"{probed} probed bars" for producer, (cuts, probed) in checked.items()))
    print("\n| leak in | share of bars leaking | " + " | ".join(CONFIGURATIONS) + " |")
    print("|---|---|" + "---|" * len(CONFIGURATIONS))
    for where in ("plugin", "built-ins"):
        for share in SHARES:
            cells = []
            for label, config in CONFIGURATIONS.items():
                hits = 0
                for salt, window in enumerate(windows):
                    plugin_examples.SPARSE_LEAK.update(share=share, salt=salt)
                    hits += caught(window, where, config)
                cells.append(f"{hits}/{len(windows)} ({hits / len(windows):.0%})")
            print(f"| {where} | {share:.1%} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

"""The 3-state Gaussian HMM regime model: fit with hmmlearn, serve with a windowed forward filter.

Why not `model.predict()`: Viterbi (and forward-backward) over the whole series uses future bars. The
regime feature at bar t is the forward-filtered state probability over the `lookback` bars ending at t,
exactly what the live bot computes from its own window. States are re-ordered by volatility after every
fit and named (low / medium / high), so "high" means the same thing before and after a retrain.
The model is stored as plain JSON parameters; serving needs only numpy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.features import OBSERVATION_COLUMNS

FORMAT = "autotrainer-hmm/1"
HMM_TOLERANCE = 1e-3
PROBABILITY_FLOOR = 1e-9
RESCALE_EVERY = 8  # steps between rescaling the filter's products (windowed_filter)


@dataclass
class RegimeModel:
    """Gaussian HMM parameters with states ordered from the calmest to the most volatile."""

    state_names: list[str]
    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray
    covars: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    lookback: int
    fit_info: dict[str, Any]

    @property
    def feature_names(self) -> list[str]:
        return [f"regime_p_{name}" for name in self.state_names]

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT,
            "state_names": self.state_names,
            "observation_columns": list(OBSERVATION_COLUMNS),
            "lookback": self.lookback,
            "startprob": self.startprob.tolist(),
            "transmat": self.transmat.tolist(),
            "means": self.means.tolist(),
            "covars": self.covars.tolist(),
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
            "fit_info": self.fit_info,
        }, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "RegimeModel":
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} file (format {data.get('format')!r})")
        if tuple(data["observation_columns"]) != OBSERVATION_COLUMNS:
            raise ValueError(f"observes {data['observation_columns']}, this version computes {list(OBSERVATION_COLUMNS)}")
        arrays = {k: np.asarray(data[k], dtype="float64") for k in ("startprob", "transmat", "means", "covars", "center", "scale")}
        if (arrays["transmat"] <= 0).any() or (arrays["startprob"] <= 0).any():
            raise ValueError("transition or start probabilities contain zeros; the forward filter needs them positive")
        return cls(state_names=list(data["state_names"]), lookback=int(data["lookback"]), fit_info=data["fit_info"], **arrays)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "RegimeModel":
        return cls.from_json(path.read_text(encoding="utf-8"))


def state_names(count: int) -> list[str]:
    """Stable names by volatility rank."""
    return {2: ["low", "high"], 3: ["low", "medium", "high"]}.get(count, [f"vol_{i + 1}" for i in range(count)])


def observations(features: pd.DataFrame) -> np.ndarray:
    """The raw (unscaled) HMM observations for each row."""
    values = features[list(OBSERVATION_COLUMNS)].to_numpy(dtype="float64").copy()
    values[:, 1] = np.log(np.maximum(values[:, 1], 1e-12))
    return values


def fit_regime_model(features: pd.DataFrame, n_states: int, lookback: int, max_iter: int, seed: int) -> RegimeModel:
    """Fit on the given (training) rows only; bounded EM iterations and a fixed seed for reproducibility."""
    from hmmlearn.hmm import GaussianHMM

    raw = observations(features)
    center, scale = raw.mean(axis=0), raw.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    x = (raw - center) / scale
    hmm = GaussianHMM(n_components=n_states, covariance_type="full", n_iter=max_iter, tol=HMM_TOLERANCE,
                      random_state=seed, init_params="", params="stmc", implementation="scaling")
    _initialise(hmm, x)
    hmm.fit(x)
    history = list(hmm.monitor_.history)
    order = np.argsort(hmm.means_[:, 1])  # by mean log-volatility: calm first
    return RegimeModel(
        state_names=state_names(n_states),
        startprob=_floored(hmm.startprob_[order]),
        transmat=_floored(hmm.transmat_[np.ix_(order, order)]),
        means=hmm.means_[order],
        covars=hmm.covars_[order],
        center=center,
        scale=scale,
        lookback=lookback,
        fit_info={"iterations": int(hmm.monitor_.iter),
                  "converged": len(history) > 1 and abs(history[-1] - history[-2]) < HMM_TOLERANCE,
                  "log_likelihood": float(history[-1]) if history else None,
                  "rows": int(len(x))},
    )


def _floored(probabilities: np.ndarray) -> np.ndarray:
    """No exact zeros: EM can drive a transition to 0, and a filter that meets an observation only that
    transition explains would divide 0 by 0. A floor of 1e-9 keeps every row of the filter defined."""
    floored = np.maximum(probabilities, PROBABILITY_FLOOR)
    return floored / floored.sum(axis=-1, keepdims=True)


def _initialise(hmm: Any, x: np.ndarray) -> None:
    """Deterministic start: one state per volatility quantile, sticky transitions.

    hmmlearn's default k-means start often lands in a degenerate optimum here (two states with the same
    volatility flipping every bar); starting from quantiles gives persistent, volatility-ordered regimes.
    """
    k, dims = hmm.n_components, x.shape[1]
    rank = np.argsort(np.argsort(x[:, 1], kind="stable"), kind="stable") * k // len(x)
    stay = 0.95
    hmm.startprob_ = np.full(k, 1.0 / k)
    hmm.transmat_ = np.full((k, k), (1 - stay) / (k - 1)) + np.eye(k) * (stay - (1 - stay) / (k - 1))
    hmm.means_ = np.array([x[rank == s].mean(axis=0) for s in range(k)])
    hmm.covars_ = np.array([np.cov(x[rank == s].T) + 1e-6 * np.eye(dims) for s in range(k)])


def _log_emissions(model: RegimeModel, x: np.ndarray) -> np.ndarray:
    """log N(x | mean_k, cov_k) for every row and state."""
    n, k = len(x), len(model.means)
    out = np.empty((n, k))
    for s in range(k):
        chol = np.linalg.cholesky(model.covars[s])
        solved = np.linalg.solve(chol, (x - model.means[s]).T)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        out[:, s] = -0.5 * ((solved ** 2).sum(axis=0) + log_det + x.shape[1] * np.log(2 * np.pi))
    return out


def regime_probabilities(model: RegimeModel, features: pd.DataFrame) -> pd.DataFrame:
    """P(state at t | the `lookback` observations ending at t), for every row (fewer at the very start)."""
    x = (observations(features) - model.center) / model.scale
    log_b = _log_emissions(model, x)
    emission = np.exp(log_b - log_b.max(axis=1, keepdims=True))  # per-row constants cancel on normalising
    alpha = windowed_filter(model.startprob, model.transmat, emission, model.lookback)
    return pd.DataFrame(alpha, index=features.index, columns=model.feature_names)


def windowed_filter(startprob: np.ndarray, transmat: np.ndarray, emission: np.ndarray, lookback: int) -> np.ndarray:
    """The forward filter of every row's own window, started afresh from the prior at the window's first row.

    Row t's window starts at s = max(0, t - lookback + 1) and its filtered state is proportional to
    (prior * e_s) M_{s+1} ... M_t, with M_j = transmat * e_j (the transition, then the emission of row j).
    Filtering each window from its start costs `lookback` steps per row. Instead the rows are cut into blocks of
    `lookback`: a window ending in block b starts in block b-1 (or at block b's first row), so its product is a
    suffix of block b-1 times a prefix of block b. One walk of `lookback` steps takes every block's prefixes and
    (transposed, so they too grow by a product on the right) suffixes at once, one batched 3x3 product a step:
    5x faster on a daily retrain's 8,000 rows than stepping every window, and the same up to rounding (products
    of positive numbers: ~1e-15 apart, tests/models/test_regime.py). The products are rescaled to sum 1 every
    RESCALE_EVERY steps, which the final normalisation undoes: between two, a product loses at most a factor of
    PROBABILITY_FLOOR a step (the likeliest state's emission is 1), far from underflowing.
    """
    n, k = emission.shape
    size = min(lookback, n)
    blocks = -(-n // size)
    later = blocks - 1  # blocks whose windows start in the block before
    padded = np.ones((blocks * size, k))  # rows past the end only pad the last block; their results are dropped
    padded[:n] = emission
    e = padded.reshape(blocks, size, k).transpose(1, 0, 2)  # e[i, b]: row b * size + i
    prior = startprob * e  # a window starting at that row: the prior times its emission
    # walk[i, b] for b < blocks: M_{b*size+1} ... M_{b*size+i} (the identity at i = 0), block b's prefix.
    # walk[i, blocks + b]: (M_{(b+1)*size-i} ... M_{(b+1)*size})^T, block b's suffix from row size-i on,
    # ending at the first row of block b+1.
    step = np.empty((size, blocks + later, k, k))
    step[:, :blocks] = transmat * e[:, :, None, :]
    step[1:, blocks:] = e[:0:-1, :-1, :, None] * transmat.T
    walk = np.empty_like(step)
    walk[0, :blocks] = np.eye(k)
    walk[0, blocks:] = (transmat * e[0, 1:, None, :]).transpose(0, 2, 1)
    for i in range(1, size):
        np.matmul(walk[i - 1], step[i], out=walk[i])
        if i % RESCALE_EVERY == 0:
            walk[i] /= walk[i].sum(axis=(1, 2), keepdims=True)
    prefix, suffix = walk[:, :blocks], walk[:, blocks:]
    alpha = np.empty((size, blocks, k))
    alpha[:, 0] = prior[0, 0] @ prefix[:, 0]  # the first block's windows all start at row 0
    if later:
        # row i < size-1 of block b: its window starts at row i+1 of block b-1; row size-1 starts at block b's first
        head = np.einsum("ibk,ibjk->ibj", prior[1:, :-1], suffix[size - 2::-1])
        alpha[: size - 1, 1:] = np.einsum("ibk,ibkj->ibj", head, prefix[: size - 1, 1:])
        alpha[size - 1, 1:] = np.einsum("bk,bkj->bj", prior[0, 1:], prefix[size - 1, 1:])
    alpha = alpha.transpose(1, 0, 2).reshape(blocks * size, k)[:n]
    return alpha / alpha.sum(axis=1, keepdims=True)


def regime_shares(probabilities: pd.DataFrame) -> dict[str, float]:
    """Share of rows whose most probable regime is each state (for the run's output)."""
    winners = probabilities.to_numpy().argmax(axis=1)
    names = [c.removeprefix("regime_p_") for c in probabilities.columns]
    return {name: float((winners == i).mean()) for i, name in enumerate(names)}

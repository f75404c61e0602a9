"""Requests' token shapes as a distribution: what a server is offered when traffic is not one fixed shape.

Issue 23: capacity at a p95 SLO under a length distribution differs from capacity at the mean shape — long requests
hold KV and stall others' decode — so the simulator draws each request's prompt and output from the workload's
empirical joint distribution (the pairs stay together: a long RAG prompt with a short answer is one request), and the
API's expected cost is the same expectation on the other side. A fixed shape is the one-point mix.

Shared prefixes: `cached_in` is, per point, how many leading prompt tokens a warm prompt cache serves (a system
prompt, a document several questions share). The API bills those at its cache price; a self-hosted engine skips
their prefill when its own cache holds them (vLLM's automatic prefix caching, llama-server's slot reuse) — the
simulator decides which requests hit (`simulate`). `n_prefixes` is how many distinct prefixes those requests share
(each request with a prefix draws one uniformly): the first request of each prefix computes it, later ones reuse
its KV blocks while they stay cached. None: unknown (a usage log says which tokens the provider served from its
cache, not how many distinct prefixes there were) — then every cached span is taken as a hit, as the provider saw
it, and its KV is counted per request (not shared): the hit rate of the log, with no memory saving claimed.

Pure: arrays in, arrays out; the seed makes every draw reproducible and the same at every offered rate (common
random numbers, as `simulate.poisson_arrivals`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from planner.core.errors import InputError

UNSHARED = -2  # prefix id of a request whose cached span hits but whose prefix count is unknown (`n_prefixes` None)
NO_PREFIX = -1
LENGTH_SEED_OFFSET = 104_729  # the length draws' generator is seeded apart from the arrivals' (same seed, other stream)


MIN_REPLAY_GAPS = 20  # fewer logged gaps say little about a burst pattern: arrivals stay Poisson


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of `values` each counted `weights` times (the lower value at a tie, as numpy's 'inverted_cdf')."""
    order = np.argsort(values, kind="stable")
    v, cum = values[order], np.cumsum(weights[order])
    return [float(v[min(np.searchsorted(cum, q * cum[-1]), v.size - 1)]) for q in qs]


@dataclass(frozen=True, eq=False)
class RequestMix:
    """An empirical joint distribution of (prompt tokens, output tokens, cached prompt tokens), weighted points.

    Build with `fixed` or `from_arrays` (which merges equal points and checks the numbers). Hashable by value, with
    the hash computed once: the simulator's cache keys on it.
    """

    tokens_in: tuple[int, ...]
    tokens_out: tuple[int, ...]
    cached_in: tuple[int, ...]
    weights: tuple[float, ...]  # sum to 1
    n_prefixes: int | None = None
    label: str = ""
    arrival_gaps: tuple[float, ...] | None = None  # a log's inter-arrival gaps in order, mean 1 (`arrivals`); None: Poisson
    _key: tuple = field(init=False, repr=False)

    _hash: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        key = (self.tokens_in, self.tokens_out, self.cached_in, self.weights, self.n_prefixes, self.arrival_gaps)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RequestMix) and self._key == other._key

    @classmethod
    def fixed(cls, tokens_in: float, tokens_out: float, cached_in: float = 0.0) -> RequestMix:
        """Every request the same shape (the one-point mix); lengths rounded to whole tokens, at least 1. Cached: the
        dashboard asks for the same shape at every volume or price change."""
        n_in = max(1, round(tokens_in))
        return _fixed_mix(n_in, max(1, round(tokens_out)), min(round(cached_in), n_in))

    @classmethod
    def from_arrays(cls, tokens_in, tokens_out, *, weights=None, cached_in=None, n_prefixes: int | None = None,
                    label: str = "", arrival_gaps=None) -> RequestMix:
        """Points (one per request or per bucket, `weights` requests each) → the merged, normalised mix. Lengths are
        rounded to whole tokens; a prompt or output under 1 token, a cached span longer than its prompt, a negative or
        all-zero weight is refused (field named). `arrival_gaps`: a log's inter-arrival gaps in arrival order (any
        unit: they are scaled to mean 1), replayed instead of Poisson arrivals (`arrivals`)."""
        t_in = np.rint(np.asarray(tokens_in, float)).astype(np.int64).ravel()
        t_out = np.rint(np.asarray(tokens_out, float)).astype(np.int64).ravel()
        c_in = np.zeros_like(t_in) if cached_in is None else np.rint(np.asarray(cached_in, float)).astype(np.int64).ravel()
        w = np.ones(t_in.size) if weights is None else np.asarray(weights, float).ravel()
        if not (t_in.size == t_out.size == c_in.size == w.size) or t_in.size == 0:
            raise InputError(f"need as many prompt lengths, output lengths, cached spans and weights, at least one "
                             f"(got {t_in.size}, {t_out.size}, {c_in.size}, {w.size})", field="lengths")
        if t_in.min() < 1 or t_out.min() < 1:
            raise InputError("every request needs at least 1 prompt token and 1 output token", field="lengths")
        if c_in.min() < 0 or np.any(c_in > t_in):
            raise InputError("a cached span must be between 0 and its request's prompt length", field="lengths.cached_in")
        if not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
            raise InputError("weights must be finite, non-negative and not all zero", field="lengths.weights")
        if n_prefixes is not None and n_prefixes < 1:
            raise InputError(f"must be at least 1, or unknown (got {n_prefixes})", field="lengths.n_prefixes")
        gaps = None
        if arrival_gaps is not None:
            g = np.asarray(arrival_gaps, float).ravel()
            if g.size < MIN_REPLAY_GAPS:
                raise InputError(f"need at least {MIN_REPLAY_GAPS} gaps to replay (got {g.size})", field="lengths.arrival_gaps")
            if not np.all(np.isfinite(g)) or g.min() < 0 or g.sum() <= 0:
                raise InputError("gaps must be finite and non-negative, not all zero", field="lengths.arrival_gaps")
            mean = float(g.mean())  # scaled to mean 1 once: a rebuilt mix (scaled, or read back from a plan file) is equal
            gaps = tuple(float(x) for x in (g if abs(mean - 1.0) < 1e-9 else g / mean))
        keys, inverse = np.unique(np.stack([t_in, t_out, c_in]), axis=1, return_inverse=True)
        merged = np.bincount(inverse.ravel(), weights=w, minlength=keys.shape[1])
        keep = merged > 0
        keys, merged = keys[:, keep], merged[keep]
        return cls(tuple(int(x) for x in keys[0]), tuple(int(x) for x in keys[1]), tuple(int(x) for x in keys[2]),
                   tuple(float(x) for x in merged / merged.sum()), n_prefixes, label, gaps)

    def scaled(self, f_in: float, f_out: float, cached_in=None) -> RequestMix:
        """Every request's prompt × f_in and output × f_out (at least 1 token), cached spans × f_in or as given per
        point (clipped to the prompt); the weights, prefix count and arrivals stay: a what-if that moves a mean."""
        t_in = np.maximum(1, np.rint(np.asarray(self.tokens_in) * f_in))
        cached = np.asarray(self.cached_in, float) * f_in if cached_in is None else np.asarray(cached_in, float)
        return RequestMix.from_arrays(t_in, np.maximum(1, np.rint(np.asarray(self.tokens_out) * f_out)), weights=self.weights,
                                      cached_in=np.minimum(np.rint(cached), t_in), n_prefixes=self.n_prefixes, label=self.label,
                                      arrival_gaps=self.arrival_gaps)

    # -- moments ----------------------------------------------------------------------------------------------------
    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (np.asarray(self.tokens_in, float), np.asarray(self.tokens_out, float), np.asarray(self.cached_in, float),
                np.asarray(self.weights, float))

    @property
    def is_fixed(self) -> bool:
        return len(self.weights) == 1

    @property
    def mean_in(self) -> float:
        t_in, _, _, w = self._arrays()
        return float(t_in @ w)

    @property
    def mean_out(self) -> float:
        _, t_out, _, w = self._arrays()
        return float(t_out @ w)

    @property
    def cached_fraction(self) -> float:
        """Cached prompt tokens ÷ prompt tokens, in expectation (what the API's cache price applies to)."""
        t_in, _, c_in, w = self._arrays()
        return float(c_in @ w / (t_in @ w))

    @property
    def max_tokens(self) -> int:
        """The longest request (prompt + output): what must fit one sequence's KV."""
        return int(max(a + b for a, b in zip(self.tokens_in, self.tokens_out, strict=True)))

    def expected_cacheable_tokens(self, min_cacheable_tokens: float = 0.0) -> float:
        """Expected cached prompt tokens a request bills at the cache price, counting only spans at least
        `min_cacheable_tokens` long (a provider does not cache a shorter prefix: it is billed as plain input)."""
        _, _, c_in, w = self._arrays()
        return float((c_in * (c_in >= min_cacheable_tokens) * (c_in > 0)) @ w)

    def quantile(self, which: str, q: float) -> float:
        """A weighted quantile of the prompt ('in') or output ('out') lengths (the lower value at a tie)."""
        values = np.asarray(self.tokens_in if which == "in" else self.tokens_out, float)
        return weighted_quantiles(values, np.asarray(self.weights), (q,))[0]

    def describe(self) -> str:
        if self.is_fixed:
            shape = f"{self.tokens_in[0]:,} → {self.tokens_out[0]:,} tokens"
        else:
            shape = (f"{len(self.weights):,} shapes: prompt mean {self.mean_in:,.0f} (p95 {self.quantile('in', 0.95):,.0f}), "
                     f"output mean {self.mean_out:,.0f} (p95 {self.quantile('out', 0.95):,.0f})")
        if any(self.cached_in):
            shape += (f", {self.cached_fraction:.0%} of prompt tokens in shared prefixes "
                      + (f"({self.n_prefixes:,} distinct)" if self.n_prefixes else "(distinct prefixes unknown: every cached span "
                         "taken as a hit, its KV not shared)"))
        if self.arrival_gaps is not None:
            shape += (f"; arrivals replayed from {len(self.arrival_gaps):,} logged gaps (their CV {self.gap_cv:.2f}; Poisson's is "
                      "1.00)")
        return shape

    @property
    def gap_cv(self) -> float | None:
        """Coefficient of variation of the replayed inter-arrival gaps (1 for Poisson, above 1 burstier); None: Poisson."""
        return None if self.arrival_gaps is None else float(np.std(self.arrival_gaps))  # their mean is 1

    def arrivals(self, rate_per_s: float, n: int, seed: int = 0) -> np.ndarray | None:
        """n arrival times at `rate_per_s` replaying the logged gaps in order: from a start the seed picks (seed 0: the
        log's first), wrapping around, the window's gaps scaled so it arrives at exactly `rate_per_s` on average — the
        log's bursts and lulls at the offered rate. None without logged gaps (the caller draws Poisson arrivals).
        Lengths are drawn independently of the timing (`draw`): a burst of long requests in the log is not kept."""
        if self.arrival_gaps is None:
            return None
        if rate_per_s <= 0 or n < 1:
            raise InputError("arrivals: rate and request count must be positive")
        g = np.asarray(self.arrival_gaps)
        window = g[((seed * 7_919) % g.size + np.arange(n)) % g.size]
        mean = window.mean()
        return np.cumsum(window / mean if mean > 0 else np.ones(n)) / rate_per_s

    # -- draws ------------------------------------------------------------------------------------------------------
    def draw(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """n requests' (prompt tokens, output tokens, cached span, prefix id): ids 0…n_prefixes−1 for requests with a
        cached span, `UNSHARED` when the prefix count is unknown, `NO_PREFIX` without one. A fixed mix draws nothing
        random, so its runs are the fixed-shape runs exactly."""
        rng = np.random.default_rng(seed + LENGTH_SEED_OFFSET)
        if self.is_fixed:
            t_in, t_out, c_in = (np.full(n, v[0], np.int64) for v in (self.tokens_in, self.tokens_out, self.cached_in))
        else:
            idx = rng.choice(len(self.weights), size=n, p=np.asarray(self.weights))
            t_in, t_out, c_in = (np.asarray(v, np.int64)[idx] for v in (self.tokens_in, self.tokens_out, self.cached_in))
        if self.n_prefixes is None:
            pid = np.where(c_in > 0, UNSHARED, NO_PREFIX)
        else:
            # a generator of its own: the first m of n draws are the m draws, whatever n (a run cut short is a prefix)
            pick = np.random.default_rng(seed + LENGTH_SEED_OFFSET + 1).integers(0, self.n_prefixes, n)
            pid = np.where(c_in > 0, pick, NO_PREFIX)
        return t_in, t_out, c_in, pid.astype(np.int64)


@lru_cache(maxsize=4096)
def _fixed_mix(n_in: int, n_out: int, cached: int) -> RequestMix:
    return RequestMix.from_arrays([n_in], [n_out], cached_in=[cached], label=f"{n_in} → {n_out} tokens")

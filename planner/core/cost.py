"""Cost of serving a monthly request volume: self-hosted replicas vs a per-token API. Pure and vectorised.

Every function takes numpy-broadcastable arrays, so a grid of 10⁶ scenarios (model × hardware × volume
× SLO) is one call. Conventions: a month is 730 hours (24 × 365 / 12, the cloud providers' convention);
prices are US dollars; token prices are per token.
"""
from __future__ import annotations

import numpy as np

from planner.core.errors import InputError
from planner.core.units import HOURS_PER_MONTH, SECONDS_PER_MONTH


def checked(name: str, value, *, allow_zero: bool = False, upper: float | None = None) -> np.ndarray:
    """Validate an input: finite, positive (or non-negative), optionally bounded; names the field on error."""
    a = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: must be a finite number (got NaN or infinity)")
    if allow_zero:
        if np.any(a < 0):
            raise InputError(f"{name}: must be >= 0 (got {a.min():g})")
    elif np.any(a <= 0):
        raise InputError(f"{name}: must be > 0 (got {a.min():g})")
    if upper is not None and np.any(a > upper):
        raise InputError(f"{name}: must be <= {upper:g} (got {a.max():g})")
    return a


def api_cost_per_request(tokens_in, tokens_out, usd_per_input_token, usd_per_output_token,
                         cached_fraction=0.0, usd_per_cached_input_token=None):
    """n_in·p_in + n_out·p_out, with the cached share of the input billed at the cache-read price."""
    n_in = checked("tokens_in", tokens_in, allow_zero=True)
    n_out = checked("tokens_out", tokens_out, allow_zero=True)
    p_in = checked("usd_per_input_token", usd_per_input_token, allow_zero=True)
    p_out = checked("usd_per_output_token", usd_per_output_token, allow_zero=True)
    f = checked("cached_fraction", cached_fraction, allow_zero=True, upper=1.0)
    p_cache = p_in if usd_per_cached_input_token is None else checked("usd_per_cached_input_token", usd_per_cached_input_token, allow_zero=True)
    return n_in * (1.0 - f) * p_in + n_in * f * p_cache + n_out * p_out


def replica_monthly_usd(usd_per_hour):
    """Always-on rented replica."""
    return checked("usd_per_hour", usd_per_hour, allow_zero=True) * HOURS_PER_MONTH


def wall_power_w_per_gpu(purchase_includes, power_w, server_power_w_per_gpu):
    """The power an owned GPU's energy is priced at: its server's maximum power ÷ its GPUs where the price buys a
    server share (a DGX H100 draws 10.2 kW max for 8 GPUs, 1,275 W each, not the GPU's 700 W), the card's own where
    the price buys the card alone (data/SOURCES.md, onprem.csv)."""
    return server_power_w_per_gpu if purchase_includes == "server_share" else power_w


def onprem_replica_monthly_usd(purchase_usd, amortisation_years, power_w, pue, usd_per_kwh):
    """Owned hardware: straight-line amortisation plus energy at the wall (power × PUE), always on."""
    capex = checked("purchase_usd", purchase_usd, allow_zero=True) / (checked("amortisation_years", amortisation_years) * 12.0)
    kwh = checked("power_w", power_w, allow_zero=True) / 1000.0 * checked("pue", pue) * HOURS_PER_MONTH
    return capex + kwh * checked("usd_per_kwh", usd_per_kwh, allow_zero=True)


def monthly_capacity_requests(capacity_rps, peak_to_avg=1.0, max_utilisation=1.0):
    """Requests a month one replica absorbs when it is sized for the peak: cap × util × seconds ÷ peak-to-average."""
    cap = checked("capacity_rps", capacity_rps)
    ratio = checked("peak_to_avg", peak_to_avg)
    if np.any(ratio < 1):
        raise InputError(f"peak_to_avg: must be >= 1 (peak load is at least the average; got {ratio.min():g})")
    util = checked("max_utilisation", max_utilisation, upper=1.0)
    return cap * util * SECONDS_PER_MONTH / ratio


def replicas_needed(requests_per_month, capacity_rps, peak_to_avg=1.0, max_utilisation=1.0, min_replicas=1):
    """ceil(peak load ÷ per-replica capacity at the SLO), never below `min_replicas` (always on)."""
    volume = checked("requests_per_month", requests_per_month, allow_zero=True)
    per_replica = monthly_capacity_requests(capacity_rps, peak_to_avg, max_utilisation)
    floor = checked("min_replicas", min_replicas, allow_zero=True)
    # tiny relative slack so 2.0000000001 (float noise of an exact multiple) is not a third replica
    return np.maximum(np.ceil(volume / per_replica * (1 - 1e-12)), floor)


def diurnal_shape(peak_to_avg: float, hours: int = 24, peak_hour: float = 14.0) -> np.ndarray:
    """A 24-hour demand shape with mean 1 and maximum `peak_to_avg`: a sinusoid peaking at `peak_hour` (a stated model
    of daily traffic, not a measurement; pass your own hourly shape where you have one). Above 2 × average the trough
    would go negative, so the shape is clipped at 0 and rescaled to keep its mean and peak."""
    p = float(checked("peak_to_avg", peak_to_avg))
    if p < 1:
        raise InputError(f"peak_to_avg: must be >= 1 (got {p:g})")
    wave = np.cos(2 * np.pi * (np.arange(hours) + 0.5 - peak_hour) / hours)
    wave = wave / wave.max()  # the sampled peak is exactly the peak

    def shape(c: float) -> np.ndarray:  # level c, amplitude p − c (so the peak is p), clipped at zero demand
        return np.maximum(0.0, c + (p - c) * wave)
    lo, hi = -1e9, 1.0  # mean(shape) rises with c: bisect for mean 1 (c = 1 exactly when no hour is clipped)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if shape(mid).mean() < 1 else (lo, mid)
    out = shape((lo + hi) / 2)
    out = out / out.mean()
    if out.max() < 0.99 * p:
        raise InputError(f"peak_to_avg: a {hours}-hour daily wave cannot peak at {p:g}× its average (at most {out.max():.3g}×); "
                         "give the hourly demand shape instead")
    return out


def autoscaled_monthly_usd(requests_per_month, capacity_rps, usd_per_hour, shape, max_utilisation=1.0, min_replicas=1):
    """Scale to demand: each hour of the day runs max(min_replicas, ceil(that hour's rate ÷ (capacity × utilisation)))
    replicas; the month is 730 h of that day. `shape` = hourly demand ÷ average (mean 1). Vectorised over volumes.

    Compare `replicas_needed` (always on, sized for the peak): the two agree when the shape is flat.
    """
    volume = checked("requests_per_month", requests_per_month, allow_zero=True)
    cap = checked("capacity_rps", capacity_rps)
    util = checked("max_utilisation", max_utilisation, upper=1.0)
    shape = checked("shape", shape, allow_zero=True)
    if abs(shape.mean() - 1) > 1e-6:
        raise InputError(f"shape: hourly demand must average 1 (got {shape.mean():.4g}); divide it by its mean")
    rate = np.asarray(volume, float)[..., None] / SECONDS_PER_MONTH * shape  # requests/s in each hour
    replicas = np.maximum(np.ceil(rate / (np.asarray(cap)[..., None] * util) * (1 - 1e-12)), min_replicas)
    return replicas.mean(axis=-1) * checked("usd_per_hour", usd_per_hour, allow_zero=True) * HOURS_PER_MONTH


def break_even(capacity_rps, replica_usd_per_month, api_usd_per_request, peak_to_avg=1.0, max_utilisation=1.0, min_replicas=1):
    """Where the monthly curves cross, exactly, from the staircase (no grid search).

    With C the monthly cost of a replica, a the API cost of a request and K the requests a replica absorbs
    a month, self-hosting can only win if a·K > C. Then
      first  = m·C / a               — the first volume at which the API costs as much as m always-on replicas,
      always = max(m, k*)·C / a, k* = ceil(C / (a·K − C)) — the last volume where self-hosting still loses: in step k
               (volumes ((k−1)K, kK]) it loses below k·C/a, which lies inside the step exactly for k ≤ k*.
    Returns (first, always) as arrays; NaN where self-hosting never wins.
    """
    K = monthly_capacity_requests(capacity_rps, peak_to_avg, max_utilisation)
    C = checked("replica_usd_per_month", replica_usd_per_month, allow_zero=True)
    a = checked("api_usd_per_request", api_usd_per_request)
    m = np.maximum(checked("min_replicas", min_replicas, allow_zero=True), 1.0)
    wins = a * K > C
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(wins, m * C / a, np.nan)
        k_star = np.ceil(C / (a * K - C))
        always = np.where(wins, np.maximum(k_star, m) * C / a, np.nan)
    return first, always


def usd_per_million_tokens(usd_per_hour, tok_s):
    """$/1M tokens = ($/h) ÷ (tok/s × 3600) × 10⁶."""
    return checked("usd_per_hour", usd_per_hour, allow_zero=True) / (checked("tok_s", tok_s) * 3600.0) * 1e6

"""Ranking options by volume band and the recommendation sentence, on hand-made cost curves."""
import numpy as np
import pytest

from planner.core.compare import Option, compare
from planner.core.errors import InputError

V = np.array([1e3, 1e4, 1e5, 1e6, 1e7])


def test_bands_follow_the_cheapest_option_and_the_sentence_names_them():
    api = Option("small-api", "api", 1e-3 * V, usd_at_volume=1e3)  # $1 per thousand requests
    frontier = Option("frontier-api", "api", 1e-2 * V, usd_at_volume=1e4)  # never the cheapest
    box = Option("gpu box", "self-hosted", np.array([100.0, 100.0, 100.0, 200.0, 2000.0]), note="5 req/s per replica",
                 best_latency=(0.3, 0.04), usd_at_volume=200.0)
    dead = Option("tiny cpu", "self-hosted", np.full(5, np.nan), note="infeasible: TTFT 9 s alone")
    c = compare(V, [api, frontier, box, dead], requests_per_month=1e6, slo=(2.0, 0.2), tokens=(512, 128))
    # small-api: $1, $10, $100, $1000, $10000 — the box ($100 flat, then $200, $2000) wins from 1e5 (tie goes to the first listed)
    assert [(b.label, b.volume_from, b.volume_to) for b in c.bands] == [("small-api", 1e3, 1e5), ("gpu box", 1e6, 1e7)]
    assert c.infeasible == [dead]
    text = c.recommendation()
    assert text.startswith("Below 1 M requests/month use the API small-api; from 1 M self-host gpu box. Conditions: 512 → 128 tokens")
    assert "TTFT p95 ≤ 2 s and ITL p95 ≤ 0.2 s" in text and "tighter than TTFT 0.3 s / ITL 0.04 s" in text
    at = c.at_volume()
    assert at["option"].tolist() == ["gpu box", "small-api", "frontier-api", "tiny cpu"]
    assert at["usd_per_month"].iloc[0] == 200.0 and np.isnan(at["usd_per_month"].iloc[-1])
    frame = c.frame()
    assert len(frame) == 3 * len(V) and frame.groupby("requests_per_month")["cheapest"].sum().eq(1).all()


def test_nothing_feasible_says_why():
    dead = Option("tiny cpu", "self-hosted", np.full(5, np.nan), note="infeasible: TTFT 9 s alone")
    c = compare(V, [dead], requests_per_month=1e6, slo=(2.0, 0.2), tokens=(512, 128))
    assert c.bands == [] and c.recommendation() == "no option can serve this workload at this SLO: tiny cpu: infeasible: TTFT 9 s alone"
    with pytest.raises(InputError, match="at least one option"):
        compare(V, [], requests_per_month=1e6, slo=(2.0, 0.2), tokens=(512, 128))


def test_the_cost_at_the_volume_is_the_options_own_not_the_nearest_grid_point():
    """Issue 25: at 5e9 requests/month, beyond the grid's 1e7, compare read the 1e7 column (clamped)."""
    api = Option("api", "api", 1e-3 * V, usd_at_volume=5e6)
    c = compare(V, [api], requests_per_month=5e9, slo=(2.0, 0.2), tokens=(512, 128))
    assert c.at_volume()["usd_per_month"].iloc[0] == 5e6 and c.at_volume()["usd_per_request"].iloc[0] == 1e-3
    with pytest.raises(InputError, match="no cost at the workload's own volume"):
        compare(V, [Option("api", "api", 1e-3 * V)], requests_per_month=5e9, slo=(2.0, 0.2), tokens=(512, 128))


def test_flips_inside_the_models_error_merge_into_one_toss_up_band():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    api = Option("api", "api", np.array([5.0, 9.5, 19.0, 30.0]), usd_at_volume=19.0)
    exact = Option("box", "self-hosted", np.array([10.0, 10.0, 20.0, 20.0]), usd_at_volume=20.0)  # no measured error: no merging
    c = compare(v, [api, exact], requests_per_month=3.0, slo=(2.0, 0.2), tokens=(128, 16))
    assert [(b.label, b.volume_from, b.volume_to) for b in c.bands] == [("api", 1.0, 3.0), ("box", 4.0, 4.0)]
    # ±20 %: at 2 ($10 vs $9.50) and 3 ($20 vs $19) the two are closer than the error; at 1 and 4 they are not
    fuzzy = Option("box", "self-hosted", exact.usd_per_month, usd_at_volume=20.0, error_pct=20.0)
    c = compare(v, [api, fuzzy], requests_per_month=3.0, slo=(2.0, 0.2), tokens=(128, 16))
    assert [(b.kind, b.volume_from, b.volume_to, b.members) for b in c.bands] == [
        ("api", 1.0, 1.0, ("api",)), ("toss-up", 2.0, 3.0, ("box", "api")), ("self-hosted", 4.0, 4.0, ("box",))]
    assert c.recommendation().startswith("Below 2 requests/month use the API api; from 2 to 4 it is a toss-up: box or api (within ±20%); "
                                         "from 4 self-host box.")

"""Does one long request slow every short one in a real llama-server more than the step model says?

Why: on the Xeon VMs the issue-23 suite's llama-server length *mixes* came out far more optimistic (two-point mix
+66.5 %, long-tailed +27.7 %) than fixed shapes (128→256 +5.8 %). Reading llama.cpp b0.3.36 suggests two causes the
step model lacks (the engine profile is measured with one unified KV cache; the server runs `-np 8` with one KV stream
per slot): `llama_decode` splits a batch with `split_equal` into ubatches of consecutive slot ids, and within a
ubatch every sequence attends over the longest sequence's cells, padded to 256 (llama-kv-cache.cpp). Then a short
request decoding beside a long one pays the long one's context. The step model charges each sequence its own.

Interleaved: A = four short requests (128 → 96) at once; B = the same while one long request (1,536 → 400) decodes.
For each, the short requests' median inter-token gap, measured, and the engine step model's decode step for that
batch (no server calibration: its per-step offset is the same in A and B, so the difference B − A is the check).

    python benchmarks/llama_server_mixed_context_probe.py [--rounds 2] [--out FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capacity_vs_measured import _tokenizer, exact_prompts, latest_profile, start_server  # noqa: E402

from planner.core.capacity import scheduler_for  # noqa: E402
from planner.core.stepmodel import fit_step_model  # noqa: E402
from planner.formats.files import atomic_write_text  # noqa: E402
from planner.formats.profiles import load_profile  # noqa: E402
from planner.measure.probes.hardware import fingerprint  # noqa: E402
from planner.measure.serving.client import Endpoint, one_request  # noqa: E402

SHORT, SHORT_OUT, LONG, LONG_OUT, N_SHORT = 128, 96, 1536, 400, 4


async def _round(endpoint: Endpoint, shorts, long_prompt, with_long: bool) -> list[float]:
    """The short requests' per-request median gaps (the long one, if any, is decoding before they start)."""
    async with endpoint.client(timeout=600) as client:
        task = None
        if with_long:
            task = asyncio.create_task(one_request(client, endpoint, long_prompt, max_tokens=LONG_OUT, timeout_s=600))
            await asyncio.sleep(8.0)  # its 1,536-token prompt is done (about 5 s here): it decodes from now on
        recs = await asyncio.gather(*(one_request(client, endpoint, p, max_tokens=SHORT_OUT, timeout_s=600) for p in shorts))
        if task is not None:
            long_rec = await task
            if long_rec.outcome != "ok" or len(long_rec.itl_s) < LONG_OUT // 2:
                raise RuntimeError("the long request did not decode beside the short ones")
    if any(r.outcome != "ok" for r in recs):
        raise RuntimeError("a short request failed")
    return [float(np.median(r.itl_s)) for r in recs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    machine = fingerprint()
    path = latest_profile("llama-server", machine.cpu_model)
    profile = load_profile(path)
    step = fit_step_model(profile)
    sched, _ = scheduler_for(profile)
    tok = _tokenizer()
    server = start_server("llama-server", sched)
    got: dict[str, list[float]] = {"A": [], "B": []}
    try:
        endpoint = Endpoint(server.base_url, "smollm2")
        for k in range(args.rounds):
            for cond in ("A", "B"):  # interleaved: the machine's drift hits both alike
                shorts = exact_prompts(tok, N_SHORT, SHORT, seed=7000 + 10 * k + (cond == "B"))
                long_prompt = exact_prompts(tok, 1, LONG, seed=8000 + k)[0]
                got[cond] += asyncio.run(_round(endpoint, shorts, long_prompt, cond == "B"))
                print(f"round {k + 1} {cond}: short requests' median gap {np.median(got[cond][-N_SHORT:]) * 1e3:.1f} ms", flush=True)
    finally:
        server.stop()
    # the step model's decode step at the middle of the short requests' decode (context = prompt + half the output)
    ctx_short = SHORT + SHORT_OUT / 2
    ctx_long = LONG + LONG_OUT / 2  # the long request's context while the short ones decode (roughly its middle)

    a_model = float(step.step_s(N_SHORT, N_SHORT * ctx_short, 0))
    b_model = float(step.step_s(N_SHORT + 1, N_SHORT * ctx_short + ctx_long, 0))
    a, b = float(np.median(got["A"])), float(np.median(got["B"]))
    out = {"cpu_model": machine.cpu_model, "profile": path.name, "rounds": args.rounds,
           "short": [SHORT, SHORT_OUT], "long": [LONG, LONG_OUT], "n_short": N_SHORT,
           "measured_gap_ms": {"A": a * 1e3, "B": b * 1e3, "B_minus_A": (b - a) * 1e3},
           "engine_model_step_ms": {"A": a_model * 1e3, "B": b_model * 1e3, "B_minus_A": (b_model - a_model) * 1e3},
           "per_request_gaps_ms": {k: [g * 1e3 for g in v] for k, v in got.items()}}
    print(json.dumps({k: v for k, v in out.items() if k != "per_request_gaps_ms"}, indent=1))
    if args.out:
        atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

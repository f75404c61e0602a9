"""How much of each prompt a real llama-server takes from its caches (slot reuse and the RAM prompt cache), against
what the simulator assumes for the same requests at the same arrival times.

Why: the issue-23 suite's "4 shared 384-token documents" workload measured a capacity far below the prediction
(+149 %), while "one shared system prompt" matched (+6 %). The latency alone cannot say whether the simulated
cache hits too often or the server's restores cost time; llama-server's own `timings.prompt_n` (prompt tokens it
evaluated) can. Each request goes to `/completion` (non-streaming, `cache_prompt` on, EOS ignored), so the reply
carries the count; the same arrivals and requests go through `simulate()` with the scheduler a plan uses.

    python benchmarks/prompt_cache_probe.py --workload "4 shared 384-token documents + 64 → 16" --rate 0.4 --requests 60

Prints the share of prompt tokens each side took from a cache, the requests that missed, and the TTFT p50/p95 of
both; with `--out FILE`, writes them as JSON.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capacity_vs_measured import _tokenizer, calibrated_model, find_workload, latest_profile, mix_prompts, start_server  # noqa: E402  (the suite's workloads, prompts and server: one home)

from planner.core.capacity import scheduler_for  # noqa: E402
from planner.core.lengths import RequestMix  # noqa: E402
from planner.core.simulate import poisson_arrivals, simulate  # noqa: E402
from planner.core.stepmodel import fit_step_model  # noqa: E402
from planner.core.validation import CapacityValidation  # noqa: E402
from planner.formats.files import atomic_write_text  # noqa: E402
from planner.formats.profiles import load_profile  # noqa: E402
from planner.measure.probes.hardware import fingerprint  # noqa: E402


async def _send(client: httpx.AsyncClient, url: str, at_s: float, t0: float, prompt: str, n_out: int) -> dict:
    await asyncio.sleep(max(0.0, t0 + at_s - time.perf_counter()))
    sent = time.perf_counter()
    r = await client.post(url, json={"prompt": prompt, "n_predict": n_out, "ignore_eos": True, "cache_prompt": True,
                                     "temperature": 0.0}, timeout=600)
    r.raise_for_status()
    body = r.json()
    t = body.get("timings") or {}
    return {"prompt_n": t.get("prompt_n"), "prompt_ms": t.get("prompt_ms"), "predicted_ms": t.get("predicted_ms"),
            "e2e_s": time.perf_counter() - sent,
            "tokens_cached": body.get("tokens_cached"), "id_slot": body.get("id_slot")}


async def _run(base: str, arrivals, prompts, n_out) -> list[dict]:
    url = base.removesuffix("/v1") + "/completion"
    async with httpx.AsyncClient() as client:
        t0 = time.perf_counter()
        return list(await asyncio.gather(*(_send(client, url, a, t0, p.body["prompt"], int(o))
                                           for a, p, o in zip(arrivals, prompts, n_out, strict=True))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, help="a shared-prefix workload of the issue-23 suite (llama-server)")
    ap.add_argument("--rate", type=float, required=True, help="offered requests/s (Poisson, seed 0)")
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--calibration", type=Path, default=None, help="a suite result file whose llama-server calibration to apply")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    found = find_workload("llama-server", args.workload)
    if found is None or not isinstance(found[1], RequestMix) or not any(found[1].cached_in):
        sys.exit(f"--workload: no shared-prefix llama-server workload {args.workload!r} in the suites")
    mix: RequestMix = found[1]
    machine = fingerprint()
    path = latest_profile("llama-server", machine.cpu_model)
    profile = load_profile(path)
    step = fit_step_model(profile)
    sched, _ = scheduler_for(profile)
    if args.calibration:
        cal = CapacityValidation.model_validate_json(args.calibration.read_text()).for_engine("llama-server")
        if cal is not None:
            step, sched = calibrated_model(step, sched, cal)
    tok = _tokenizer()
    prompts, (n_in, n_out, seed, cached, pid) = mix_prompts(tok, mix, args.requests, seed=0, salt=424242)
    arrivals = poisson_arrivals(args.rate, args.requests, seed=0)
    server = start_server("llama-server", sched)
    try:
        got = asyncio.run(_run(server.base_url, arrivals, prompts, n_out))
    finally:
        server.stop()
    sim = simulate(step, sched, arrivals, n_in, n_out, cached, pid)
    evaluated = np.array([g["prompt_n"] for g in got], float)
    # TTFT without streaming: the reply's end less the server's own decode time (its first token ends the prompt)
    ttft = np.array([g["e2e_s"] - g["predicted_ms"] / 1000 for g in got])
    real_cached = n_in - evaluated
    out = {"workload": args.workload, "rate_per_s": args.rate, "requests": args.requests, "slots": sched.max_seqs,
           "cpu_model": machine.cpu_model, "profile": path.name,
           "prompt_tokens": int(n_in.sum()), "shareable_tokens": int(np.minimum(cached, n_in - 1).sum()),
           "measured_cached_tokens": int(real_cached.sum()), "simulated_cached_tokens": int(sim.cached_tokens),
           "measured_misses": int((real_cached < 0.5 * cached).sum()),
           "ttft_p50_s": {"measured": float(np.median(ttft)), "simulated": sim.ttft_pct(50)},
           "ttft_p95_s": {"measured": float(np.percentile(ttft, 95)), "simulated": sim.ttft_pct(95)},
           "measured_prompt_ms_p50_hit": float(np.median([g["prompt_ms"] for g, c in zip(got, real_cached, strict=True) if c > 0] or [np.nan])),
           "measured_prompt_ms_p50_miss": float(np.median([g["prompt_ms"] for g, c in zip(got, real_cached, strict=True) if c <= 0] or [np.nan])),
           "per_request": [{"prefix": int(p), "n_in": int(i), "cached_measured": int(c), "slot": g["id_slot"], "prompt_ms": g["prompt_ms"],
                            "ttft_s": float(m), "ttft_simulated_s": float(s)}
                           for p, i, c, g, m, s in zip(pid, n_in, real_cached, got, ttft, sim.ttft_s, strict=True)]}
    print(json.dumps({k: v for k, v in out.items() if k != "per_request"}, indent=1))
    print("prefix/slot/cached per request:", " ".join(f"{r['prefix']}/{r['slot']}/{r['cached_measured']}" for r in out["per_request"]))
    if args.out:
        atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

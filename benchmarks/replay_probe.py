"""Replay one suite workload on a real llama-server, request by request, against `simulate()` for the same requests
at the same arrival times: where does the time go?

Why: the issue-23 suite's llama-server predictions are optimistic where requests come fast (the two-point length mix
+65 %, 128→16 +21 %; 128→256 at 0.3 req/s +3.5 %), and neither the server's decode step at 1/4/8 sequences nor
padded attention explains it. Each request goes to the server with `cache_prompt` on and EOS ignored; its reply
carries the server's own timings (`prompt_n`: prompt tokens it evaluated, so what came from a cache; `prompt_ms`:
from its prompt's first batch to its first token; `predicted_ms`: from there to its last token). Two modes, same
requests, interleaved round by round on one server:

- `plain`: `/completion` without streaming — the server sends one reply;
- `stream`: `/v1/completions` streaming, the body and parsing the validation bench's load generator uses — the server
  sends a chunk per token and the client parses each, both on the same 2 cores as the engine.

If the streamed runs are slower than the plain ones (and the plain ones match the simulation), the per-token work of
streaming is a cost the offline engine profile never saw.

    python benchmarks/replay_probe.py --workload "two-point 90% 128→16, 10% 512→64" --rate 1.29 --requests 100 \\
        --calibration benchmarks/results/suite23-validation-xeon-20261203.json --out FILE
    python benchmarks/replay_probe.py --workload "4 shared 384-token documents + 64 → 16" --rate 0.392 --requests 60 --modes plain

Prints, per run and for the simulation, TTFT and end-to-end p50/p95, the decode time per token, the prompt time per
evaluated token, and (shared prefixes) the prompt tokens each side took from a cache; `--out FILE` writes them as JSON.
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
from capacity_vs_measured import (  # noqa: E402  (the suite's workloads, prompts and server: one home)
    SUITES,
    _tokenizer,
    calibrated_model,
    exact_prompts,
    find_workload,
    latest_profile,
    mix_prompts,
    only_names,
    start_server,
    workload_name,
)

from planner.core.capacity import scheduler_for  # noqa: E402
from planner.core.lengths import RequestMix  # noqa: E402
from planner.core.simulate import SimResult, poisson_arrivals, simulate  # noqa: E402
from planner.core.stepmodel import fit_step_model  # noqa: E402
from planner.core.validation import CapacityValidation  # noqa: E402
from planner.formats.files import atomic_write_text  # noqa: E402
from planner.formats.profiles import load_profile  # noqa: E402
from planner.measure.probes.hardware import fingerprint  # noqa: E402
from planner.measure.probes.telemetry import LoadMeter  # noqa: E402

MODES = ("plain", "stream")


async def _send(client: httpx.AsyncClient, base: str, mode: str, at_s: float, t0: float, prompt: str, n_out: int) -> dict:
    """One request at its arrival time: client-side TTFT (stream: the first content chunk; plain: the reply's end less
    the server's own decode time), end to end, every gap between chunks, and the server's timings."""
    await asyncio.sleep(max(0.0, t0 + at_s - time.perf_counter()))
    sent = time.perf_counter()
    stamps: list[float] = []
    timings: dict = {}
    if mode == "plain":
        r = await client.post(base.removesuffix("/v1") + "/completion", json={
            "prompt": prompt, "n_predict": n_out, "ignore_eos": True, "cache_prompt": True, "temperature": 0.0}, timeout=600)
        r.raise_for_status()
        timings = r.json().get("timings") or {}
    else:
        body = {"model": "smollm2", "prompt": prompt, "max_tokens": n_out, "stream": True, "temperature": 0.0,
                "stream_options": {"include_usage": True}, "ignore_eos": True}
        async with client.stream("POST", base + "/completions", json=body, timeout=600) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                    continue
                chunk = json.loads(line[5:])
                if any(c.get("text") for c in chunk.get("choices") or []):
                    stamps.append(time.perf_counter())
                timings = chunk.get("timings") or timings
    end = time.perf_counter()
    predicted_ms = timings.get("predicted_ms")
    ttft = (stamps[0] - sent) if stamps else (end - sent - predicted_ms / 1000 if predicted_ms is not None else None)
    return {"ttft_s": ttft, "e2e_s": end - sent, "gaps_s": list(np.diff(stamps)), "prompt_n": timings.get("prompt_n"),
            "prompt_ms": timings.get("prompt_ms"), "predicted_ms": predicted_ms, "predicted_n": timings.get("predicted_n")}


async def _run(base: str, mode: str, arrivals, prompts: list[str], n_out) -> list[dict]:
    async with httpx.AsyncClient(trust_env=False) as client:
        t0 = time.perf_counter()
        return list(await asyncio.gather(*(_send(client, base, mode, a, t0, p, int(o))
                                           for a, p, o in zip(arrivals, prompts, n_out, strict=True))))


def _pct(values, q: float) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.percentile(v, q)) if v else None


def summarize_run(got: list[dict], n_in, n_out, cached) -> dict:
    """What one real run measured: latencies, the server's decode time per token and prompt time per evaluated
    token (medians over requests), and the prompt tokens it took from a cache."""
    n_in, n_out = np.asarray(n_in), np.asarray(n_out)
    gaps = [g for r in got for g in r["gaps_s"]]
    evaluated = np.array([np.nan if r["prompt_n"] is None else r["prompt_n"] for r in got], float)
    decode = [r["predicted_ms"] / 1e3 / (r["predicted_n"] - 1) for r in got if r["predicted_ms"] is not None and (r["predicted_n"] or 0) > 1]
    per_prompt = [r["prompt_ms"] / 1e3 / r["prompt_n"] for r in got if r["prompt_ms"] is not None and r["prompt_n"]]
    out = {"ttft_p50_s": _pct([r["ttft_s"] for r in got], 50), "ttft_p95_s": _pct([r["ttft_s"] for r in got], 95),
           "e2e_p50_s": _pct([r["e2e_s"] for r in got], 50), "e2e_p95_s": _pct([r["e2e_s"] for r in got], 95),
           "itl_p95_s": _pct(gaps, 95) if gaps else None,
           "decode_s_per_token_p50": _pct(decode, 50), "prompt_s_per_evaluated_token_p50": _pct(per_prompt, 50)}
    if np.any(cached):
        real_cached = n_in - evaluated
        out |= {"cached_tokens": int(np.nansum(real_cached)), "misses": int(np.sum(real_cached < 0.5 * np.asarray(cached)))}
    return out


def summarize_sim(sim: SimResult, n_out, cached) -> dict:
    """The same quantities from the simulated run (its decode time per token: end to end less TTFT, per later token)."""
    n_out = np.asarray(n_out)
    many = n_out > 1
    out = {"ttft_p50_s": sim.ttft_pct(50), "ttft_p95_s": sim.ttft_pct(95), "e2e_p50_s": sim.e2e_pct(50), "e2e_p95_s": sim.e2e_pct(95),
           "itl_p95_s": sim.itl_pct(95) if many.any() else None,
           "decode_s_per_token_p50": float(np.median(((sim.e2e_s - sim.ttft_s)[many]) / (n_out[many] - 1))) if many.any() else None}
    if np.any(cached):
        out |= {"cached_tokens": int(sim.cached_tokens)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", required=True, help="a llama-server workload of the suites (a mix's name, or e.g. 128→16)")
    ap.add_argument("--rate", type=float, required=True, help="offered requests/s (Poisson, seed 0)")
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--modes", default="plain,stream", help="plain and/or stream, comma-separated (interleaved per round)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each mode (new prompts every run: caches start cold)")
    ap.add_argument("--calibration", type=Path, default=None, help="a suite result file whose llama-server calibration to apply")
    ap.add_argument("--server-args", default="", help="further llama-server flags for every run, e.g. '--cache-ram 0'")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    names = {workload_name(w) for suite in SUITES.values() for w in suite.get("llama-server", [])}
    try:
        [name] = only_names(args.workload, names)
    except (KeyError, ValueError):
        sys.exit(f"--workload: no llama-server workload {args.workload!r} in the suites (names: {', '.join(sorted(names))})")
    found = find_workload("llama-server", name)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        sys.exit(f"--modes: plain and/or stream (got {args.modes!r})")
    if args.rate <= 0 or args.requests < 2 or args.rounds < 1:
        sys.exit("--rate must be above 0, --requests at least 2 and --rounds at least 1")
    machine = fingerprint()
    path = latest_profile("llama-server", machine.cpu_model)
    profile = load_profile(path)
    step = fit_step_model(profile)
    sched, _ = scheduler_for(profile)
    if args.calibration:
        cal = CapacityValidation.model_validate_json(args.calibration.read_text()).for_engine("llama-server")
        if cal is None:
            sys.exit(f"--calibration: {args.calibration} has no llama-server calibration")
        step, sched = calibrated_model(step, sched, cal)
    tok = _tokenizer()
    arrivals = poisson_arrivals(args.rate, args.requests, seed=0)

    def requests(salt: int):
        """(prompt texts, n_in, n_out, cached, prefix ids): the same lengths every run, new text for each salt."""
        if isinstance(found[1], RequestMix):
            prompts, (n_in, n_out, _, cached, pid) = mix_prompts(tok, found[1], args.requests, seed=0, salt=salt)
        else:
            prompts = exact_prompts(tok, args.requests, found[0], seed=salt)
            n_in, n_out = np.full(args.requests, found[0]), np.full(args.requests, found[1])
            cached, pid = np.zeros(args.requests, int), None
        return [p.body["prompt"] for p in prompts], np.asarray(n_in), np.asarray(n_out), np.asarray(cached), pid

    _, n_in, n_out, cached, pid = requests(424242)
    simulated = simulate(step, sched, arrivals, n_in, n_out, cached, pid)
    sim = summarize_sim(simulated, n_out, cached)
    runs = []
    server = start_server("llama-server", sched, tuple(args.server_args.split()))
    try:
        for k in range(args.rounds):
            for j, mode in enumerate(modes):
                texts, *_ = requests(424242 + 97 * (k * len(modes) + j))
                load = LoadMeter()
                got = asyncio.run(_run(server.base_url, mode, arrivals, texts, n_out))
                runs.append({"mode": mode, "round": k, **summarize_run(got, n_in, n_out, cached),
                             "other_cpu_fraction": load.stop().other_cpu_fraction})
                print(json.dumps(runs[-1]), flush=True)
                runs[-1]["per_request"] = [{k2: r[k2] for k2 in ("ttft_s", "e2e_s", "prompt_n", "prompt_ms", "predicted_ms", "gaps_s")} for r in got]
    finally:
        server.stop()
    out = {"workload": found[0] if isinstance(found[1], RequestMix) else f"{found[0]}→{found[1]}", "rate_per_s": args.rate,
           "requests": args.requests, "slots": sched.max_seqs, "cpu_model": machine.cpu_model, "profile": path.name,
           "calibration": str(args.calibration) if args.calibration else None, "server_args": args.server_args,
           "prompt_tokens": int(n_in.sum()), "simulated": sim, "runs": runs,
           "simulated_gaps_s": {"values": [round(float(v), 6) for v in simulated.itl_values_s], "weights": simulated.itl_weights.tolist()},
           "requests_sent": [{"arrival_s": float(a), "n_in": int(i), "n_out": int(o), "ttft_simulated_s": float(t), "e2e_simulated_s": float(e)}
                             for a, i, o, t, e in zip(arrivals, n_in, n_out, simulated.ttft_s, simulated.e2e_s, strict=True)]}
    print(json.dumps({"simulated": sim}, indent=1))  # per request (`runs[].per_request`, `requests_sent`): in --out
    if args.out:
        atomic_write_text(args.out, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()

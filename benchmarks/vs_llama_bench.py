"""Compare llm-planner's tok/s with llama.cpp's own llama-bench and llama-batched-bench.

Both run the same model with the same threads, built from the llama.cpp source that the installed
llama-cpp-python vendors (its PyPI sdist, built once into the cache). Runs are interleaved A B A B … and
medians compared, because shared machines drift ±10-25% between runs. Target: ratios within ±5%.

    python benchmarks/vs_llama_bench.py [--model X.gguf] [--reps 5] [--threads N] [--concurrency 1,2,4,8]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from statistics import median

from planner.measure.engines.llama_build import llama_cpp_tool
from planner.measure.engines.llama_cpp import EngineSettings, LlamaCppEngine
from planner.measure.gguf.embedded import embedded_model_path


def build_llama_bench() -> Path:
    """llama-bench and llama-batched-bench, built by the package from the vendored llama.cpp (cached by version)."""
    llama_cpp_tool("llama-bench")
    return llama_cpp_tool("llama-batched-bench").parent


INNER_REPS = 3  # each side repeats inside one pair and keeps the median, so one noisy moment cannot decide a pair


def llama_bench(bin_dir: Path, model: Path, threads: int, n_prompt: int, n_gen: int) -> tuple[float, float]:
    out = subprocess.run([str(bin_dir / "llama-bench"), "-m", str(model), "-t", str(threads), "-p", str(n_prompt), "-n", str(n_gen),
                          "-r", str(INNER_REPS), "-o", "json"], check=True, capture_output=True, text=True)
    rows = json.loads(out.stdout)
    pp = next(median(r["samples_ts"]) for r in rows if r["n_prompt"] == n_prompt and r["n_gen"] == 0)
    tg = next(median(r["samples_ts"]) for r in rows if r["n_gen"] == n_gen and r["n_prompt"] == 0)
    return pp, tg


def batched_bench(bin_dir: Path, model: Path, threads: int, n_pp: int, n_tg: int, levels: list[int]) -> dict[int, float]:
    ctx = max(levels) * (n_pp + n_tg) + 256
    out = subprocess.run([str(bin_dir / "llama-batched-bench"), "-m", str(model), "-t", str(threads), "-c", str(ctx), "-b", "512",
                          "-ub", "512", "-npp", str(n_pp), "-ntg", str(n_tg), "-npl", ",".join(map(str, levels)), "-kvu",
                          "--output-format", "jsonl"], check=True, capture_output=True, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return {r["pl"]: r["speed_tg"] for r in rows}


def ours(model: Path, threads: int, n_prompt: int, n_gen: int, poll: int | None = 50) -> tuple[float, float]:
    with LlamaCppEngine(model, EngineSettings(n_ctx=n_prompt + n_gen + 256, n_threads=threads, threadpool_poll=poll)) as e:
        e.clear()  # warm-up, as llama-bench does
        e.prefill(e.random_tokens(n_prompt))
        e.decode_steps(1, start_pos=n_prompt)
        pp, tg = [], []
        for _ in range(INNER_REPS):
            e.clear()
            pp.append(n_prompt / e.prefill(e.random_tokens(n_prompt)))
        for _ in range(INNER_REPS):
            e.clear()
            tg.append(n_gen / float(e.decode_steps(n_gen).sum()))
    return median(pp), median(tg)


def ours_batched(model: Path, threads: int, n_pp: int, n_tg: int, levels: list[int]) -> dict[int, float]:
    out = {}
    with LlamaCppEngine(model, EngineSettings(n_ctx=max(levels) * (n_pp + n_tg) + 256, n_threads=threads, n_seq_max=max(levels))) as e:
        e.prefill(e.random_tokens(16))
        e.decode_steps(4, start_pos=16)
        for c in levels:
            e.clear()
            e.prefill_many([e.random_tokens(n_pp) for _ in range(c)])
            out[c] = c * n_tg / float(e.decode_steps(n_tg, n_streams=c, start_pos=n_pp).sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--gen", type=int, default=128)
    ap.add_argument("--concurrency", default="1,2,4,8")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    bin_dir = build_llama_bench()
    if args.build_only:
        print(bin_dir)
        return
    model = args.model or embedded_model_path()
    levels = [int(x) for x in args.concurrency.split(",")]
    a_pp, a_tg, b_pp, b_tg, d_pp, d_tg = [], [], [], [], [], []
    a_c: dict[int, list[float]] = {c: [] for c in levels}
    b_c: dict[int, list[float]] = {c: [] for c in levels}
    for rep in range(args.reps):
        for (pp_list, tg_list), run in (((a_pp, a_tg), lambda: ours(model, args.threads, args.prompt, args.gen)),
                                        ((b_pp, b_tg), lambda: llama_bench(bin_dir, model, args.threads, args.prompt, args.gen)),
                                        ((d_pp, d_tg), lambda: ours(model, args.threads, args.prompt, args.gen, poll=None))):
            pp, tg = run()
            pp_list.append(pp)
            tg_list.append(tg)
        for c, v in ours_batched(model, args.threads, 128, 32, levels).items():
            a_c[c].append(v)
        for c, v in batched_bench(bin_dir, model, args.threads, 128, 32, levels).items():
            b_c[c].append(v)
        print(f"rep {rep + 1}/{args.reps}: pp {a_pp[-1]:.1f} vs {b_pp[-1]:.1f}, tg {a_tg[-1]:.1f} vs {b_tg[-1]:.1f} "
              f"(no threadpool: pp {d_pp[-1]:.1f}, tg {d_tg[-1]:.1f})", flush=True)
    print(f"\nmodel {model.name}, {args.threads} threads, {args.reps} interleaved repetitions (tok/s medians; ratio = median of per-pair ratios)")
    print("llm-planner attaches a persistent polling threadpool as llama-bench does; 'no threadpool' is llama-cpp-python's default")
    print(f"{'test':<46}{'llm-planner':>12}{'llama.cpp':>12}{'ratio':>8}{'ratio min-max':>16}")
    rows = [(f"pp{args.prompt} vs llama-bench", a_pp, b_pp), (f"tg{args.gen} vs llama-bench", a_tg, b_tg)]
    rows += [(f"pp{args.prompt}, no threadpool vs llama-bench", d_pp, b_pp), (f"tg{args.gen}, no threadpool vs llama-bench", d_tg, b_tg)]
    rows += [(f"aggregate tg, {c} seqs vs llama-batched-bench", a_c[c], b_c[c]) for c in levels]
    for name, a, b in rows:
        ratios = [x / y for x, y in zip(a, b)]
        print(f"{name:<46}{median(a):>12.1f}{median(b):>12.1f}{median(ratios):>8.3f}{min(ratios):>8.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
    main()

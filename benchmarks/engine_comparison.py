"""Which engine should a CPU user run? The same workload through every server the tool can start here, then the
requests/s each sustains at one SLO.

    python benchmarks/engine_comparison.py --measure   # runs the four serving sweeps (about 15 minutes on 2 cores)
    python benchmarks/engine_comparison.py             # the table from the committed profiles

Workload: 128-word prompts → 64 output tokens, concurrency 1 … 16, 32 requests a level; SLO TTFT p95 ≤ 2 s and
ITL p95 ≤ 0.2 s (goodput). Engines: vLLM (bf16, from the embedded GGUF), llama-server (-np 8; Q4_1 and F16) and
llama_cpp.server (one request at a time). One heavy job at a time: the sweeps run one after another.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from planner.core.capacity import engine_comparison
from planner.core.plan import Workload
from planner.core.records import ServingProfile
from planner.formats.profiles import load_profile

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "profiles" / "reference" / "serving"
WORKLOAD = Workload(tokens_in=128, tokens_out=64, ttft_slo_s=2.0, itl_slo_s=0.2)
SWEEP = ["--concurrency", "1,2,4,8,16", "--requests", "32", "--max-tokens", "64", "--prompt-tokens", "128", "--ttft-slo", "2",
         "--itl-slo", "0.2", "--full-sweep", "--profiles-dir", str(OUT)]


def measure() -> None:
    from planner.measure.gguf.embedded import embedded_model_path
    from planner.measure.gguf.quantize import quant_ladder
    f16 = quant_ladder(embedded_model_path(), ("F16",))["F16"]
    runs = [["--engine", "vllm", "--kv-cache-gib", "2"],
            ["--engine", "llama-server", "--parallel", "8", "--n-ctx", "4096"],
            ["--engine", "llama-server", "--parallel", "8", "--n-ctx", "4096", "--model", str(f16)],
            ["--engine", "llama-cpp"]]
    for args in runs:
        print("$ llm-planner serve-profile", " ".join([*args, *SWEEP]), flush=True)
        subprocess.run([sys.executable, "-m", "planner", "serve-profile", *args, *SWEEP], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measure", action="store_true", help="run the sweeps first (writes profiles/reference/serving/)")
    args = ap.parse_args()
    if args.measure:
        measure()
    profiles = [p for p in (load_profile(f) for f in sorted(OUT.glob("*.json"))) if isinstance(p, ServingProfile)]
    table = engine_comparison(profiles, WORKLOAD)
    print(f"workload {WORKLOAD.tokens_in:g} → {WORKLOAD.tokens_out:g} tokens, SLO TTFT p95 ≤ {WORKLOAD.ttft_slo_s:g} s, "
          f"ITL p95 ≤ {WORKLOAD.itl_slo_s:g} s")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()

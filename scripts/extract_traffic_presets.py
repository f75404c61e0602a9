"""Extract the traffic presets (`--traffic <preset>`) from published production traces into data/traffic/.

    python scripts/extract_traffic_presets.py --azure <AzurePublicDataset git dir> --mooncake <Mooncake git dir>

Sources (fetched as git mirrors; only the data is committed, with this script):
- Azure LLM inference trace 2023 (github.com/Azure/AzurePublicDataset, data/AzureLLMInferenceTrace_{code,conv}.csv;
  CC-BY 4.0; Patel et al., "Splitwise", ISCA 2024): one hour of requests to two Azure LLM services on 2023-11-16, each
  with its arrival time, prompt ("context") and generated tokens. Copied row for row, the timestamp as Unix seconds.
- Mooncake FAST'25 conversation trace (github.com/kvcache-ai/Mooncake, FAST25-release/traces/conversation_trace.jsonl;
  Apache-2.0; Qin et al., "Mooncake", FAST 2025): an hour of Kimi's chat requests with arrival offsets (ms), prompt and
  output tokens and the hashes of each prompt's 512-token blocks. `cached_tokens` is what an unbounded prefix cache
  would serve: the leading blocks whose hashes an earlier request of the trace already had (at most the prompt). A
  real cache evicts, so this is the reuse the trace allows, an upper bound. Timestamps are offsets from the trace's
  start (written from the Unix epoch): the clock hour is unknown, and under a day of log none is used.

Writes data/traffic/<preset>.csv (timestamp, prompt_tokens, completion_tokens[, cached_tokens]) and
data/traffic/presets.csv (name, file, what, source, licence, commit, rows).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "traffic"
MOONCAKE_BLOCK = 512  # tokens per hashed block (the trace's README)

AZURE = [
    ("azure-code-2023", "data/AzureLLMInferenceTrace_code.csv",
     "code completion: an hour of an Azure LLM coding service (long prompts, short completions), real arrival times"),
    ("azure-conversation-2023", "data/AzureLLMInferenceTrace_conv.csv",
     "chat: an hour of an Azure LLM conversation service, real arrival times"),
]
AZURE_SOURCE = ("Azure LLM inference trace 2023, github.com/Azure/AzurePublicDataset (Patel et al., Splitwise, ISCA 2024)", "CC-BY-4.0")
MOONCAKE = ("mooncake-conversation-2025", "FAST25-release/traces/conversation_trace.jsonl",
            "long-context chat with shared prefixes: an hour of Kimi's conversation requests, arrival offsets, cached tokens "
            "an unbounded prefix cache would serve (from the trace's 512-token block hashes); its clock ticks every 3 s, too coarse to replay")
MOONCAKE_SOURCE = ("Mooncake FAST'25 traces, github.com/kvcache-ai/Mooncake (Qin et al., Mooncake, FAST 2025)", "Apache-2.0")


def git_show(repo: Path, path: str) -> tuple[str, str]:
    """(the file at HEAD, the HEAD commit) of a git mirror."""
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    text = subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{path}"], check=True, capture_output=True, text=True).stdout
    return text, commit


def azure_rows(text: str) -> list[tuple]:
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        stamp = r["TIMESTAMP"]
        head, _, frac = stamp.partition(".")  # 7 fractional digits: keep microseconds
        t = datetime.strptime(f"{head}.{(frac + '000000')[:6]}", "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
        out.append((f"{t.timestamp():.4f}", int(r["ContextTokens"]), int(r["GeneratedTokens"])))
    return out


def mooncake_rows(text: str) -> list[tuple]:
    seen: set[int] = set()
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        r = json.loads(line)
        lead = 0
        for h in r["hash_ids"]:
            if h not in seen:
                break
            lead += 1
        seen.update(r["hash_ids"])
        n_in = int(r["input_length"])
        out.append((f"{r['timestamp'] / 1000:.3f}", n_in, int(r["output_length"]), min(n_in, lead * MOONCAKE_BLOCK)))
    return out


def write_csv(path: Path, header: list[str], rows: list[tuple]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--azure", type=Path, required=True, help="git dir of a github.com/Azure/AzurePublicDataset mirror")
    ap.add_argument("--mooncake", type=Path, required=True, help="git dir of a github.com/kvcache-ai/Mooncake mirror")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    registry = []
    for name, path, what in AZURE:
        text, commit = git_show(args.azure, path)
        rows = azure_rows(text)
        write_csv(OUT / f"{name}.csv", ["timestamp", "prompt_tokens", "completion_tokens"], rows)
        registry.append((name, f"{name}.csv", what, f"{AZURE_SOURCE[0]}, {path}", AZURE_SOURCE[1], commit, len(rows)))
    name, path, what = MOONCAKE
    text, commit = git_show(args.mooncake, path)
    rows = mooncake_rows(text)
    write_csv(OUT / f"{name}.csv", ["timestamp", "prompt_tokens", "completion_tokens", "cached_tokens"], rows)
    registry.append((name, f"{name}.csv", what, f"{MOONCAKE_SOURCE[0]}, {path}", MOONCAKE_SOURCE[1], commit, len(rows)))
    write_csv(OUT / "presets.csv", ["name", "file", "what", "source", "licence", "commit", "rows"], registry)
    for r in registry:
        print(f"{r[0]}: {r[6]:,} rows ← {r[3]} @ {r[5][:10]}")


if __name__ == "__main__":
    main()

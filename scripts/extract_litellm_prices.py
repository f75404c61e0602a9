"""Extract chat-model API prices from litellm's price database into data/api_prices.csv.

litellm ships `litellm/model_prices_and_context_window_backup.json` inside its wheel. This reads it straight
from the wheel (zip) — litellm is never installed or imported — keeps chat models of the providers worth
planning against, converts per-token prices to USD per 1M tokens, and records the litellm version and date.

    python scripts/extract_litellm_prices.py [--wheel litellm-X.whl] [--out data/api_prices.csv]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from planner.fsutil import atomic_write_json, atomic_write_text  # noqa: E402

MEMBER = "litellm/model_prices_and_context_window_backup.json"
PROVIDERS = {"openai", "anthropic", "gemini", "mistral", "deepseek", "groq", "together_ai", "fireworks_ai", "bedrock", "xai"}
PRICE_KEYS = {
    "input_usd_per_mtok": "input_cost_per_token",
    "output_usd_per_mtok": "output_cost_per_token",
    "cache_read_usd_per_mtok": "cache_read_input_token_cost",
    "cache_write_usd_per_mtok": "cache_creation_input_token_cost",
    "batch_input_usd_per_mtok": "input_cost_per_token_batches",
    "batch_output_usd_per_mtok": "output_cost_per_token_batches",
}
COLUMNS = ["model", "provider", "mode", *PRICE_KEYS, "max_input_tokens", "source", "as_of"]


def fetch_wheel(tmp: str) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "litellm", "-d", tmp],
                   check=True, capture_output=True)
    return next(Path(tmp).glob("litellm-*.whl"))


def per_million(value) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return f"{value * 1e6:.6g}"


def csv_field(value) -> str:
    text = str(value)
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def rows_from(prices: dict, source: str, as_of: str) -> list[list[str]]:
    rows = []
    for name, entry in sorted(prices.items()):
        if not isinstance(entry, dict) or entry.get("mode") != "chat" or entry.get("litellm_provider") not in PROVIDERS:
            continue
        values = {col: per_million(entry.get(key)) for col, key in PRICE_KEYS.items()}
        if not values["input_usd_per_mtok"] or not values["output_usd_per_mtok"]:
            continue
        if entry.get("litellm_provider") == "bedrock" and not re.match(r"^(anthropic|meta|mistral|amazon)\.", name):
            continue  # regional duplicates of the same models
        rows.append([name, entry["litellm_provider"], "chat", *values.values(), str(entry.get("max_input_tokens") or ""), source, as_of])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "api_prices.csv")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        version = re.match(r"litellm-([^-]+)-", wheel.name).group(1)
        with zipfile.ZipFile(wheel) as zf:
            raw = zf.read(MEMBER)
    today = date.today().isoformat()
    source = f"litellm {version} {Path(MEMBER).name}"
    rows = rows_from(json.loads(raw), source, today)
    text = ",".join(COLUMNS) + "\n" + "".join(",".join(csv_field(v) for v in r) + "\n" for r in rows)
    atomic_write_text(args.out, text)
    atomic_write_json(args.out.with_suffix(".meta.json"), {"litellm_version": version, "wheel": wheel.name,
                                                           "json_sha256": hashlib.sha256(raw).hexdigest(),
                                                           "extracted": today, "rows": len(rows), "providers": sorted(PROVIDERS)})
    print(f"{len(rows)} chat models from litellm {version} → {args.out}")


if __name__ == "__main__":
    main()

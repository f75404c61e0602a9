"""Extract chat-model API prices from litellm's price table into data/api_prices.csv.

litellm ships its price table as ``litellm/model_prices_and_context_window_backup.json``
inside every wheel. This script reads that file straight out of the wheel (a zip
archive); litellm is never installed or imported. It keeps the ``mode == "chat"``
entries of the providers worth planning against, converts per-token prices to USD
per 1M tokens (rounded to 6 significant digits) and writes, atomically:

* ``data/api_prices.csv``       one row per model
* ``data/api_prices.meta.json`` litellm version, wheel name, sha256 of the JSON,
                                extraction date, row count, providers kept

Usage::

    python scripts/extract_litellm_prices.py                 # pip-downloads the newest wheel
    python scripts/extract_litellm_prices.py --wheel litellm-1.2.3-py3-none-any.whl
    python scripts/extract_litellm_prices.py --out /tmp/prices.csv --date 2026-11-22

Rows without an input or an output price are skipped. Empty cells mean "litellm has
no such price for this model", never zero.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEMBER = "litellm/model_prices_and_context_window_backup.json"

# litellm_provider values kept. "gemini" is Google's AI Studio API (the one Google
# provider key kept; vertex_ai-* duplicates the same models at the same prices).
PROVIDERS = (
    "openai", "anthropic", "gemini", "mistral", "deepseek", "groq",
    "together_ai", "fireworks_ai", "bedrock", "xai",
)
# Bedrock lists every model once per region; keep the plain model ids only.
BEDROCK_PREFIXES = re.compile(r"^(anthropic|meta|mistral|amazon)\.")

# CSV column -> litellm per-token key
PRICE_KEYS = {
    "input_usd_per_mtok": "input_cost_per_token",
    "output_usd_per_mtok": "output_cost_per_token",
    "cache_read_usd_per_mtok": "cache_read_input_token_cost",
    "cache_write_usd_per_mtok": "cache_creation_input_token_cost",
    "batch_input_usd_per_mtok": "input_cost_per_token_batches",
    "batch_output_usd_per_mtok": "output_cost_per_token_batches",
}
COLUMNS = ["model", "provider", "mode", *PRICE_KEYS, "max_input_tokens", "source", "as_of"]


def download_wheel(dest: str) -> Path:
    """Fetch the newest litellm wheel (no dependencies) into *dest* with pip."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           "litellm", "-d", dest]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wheels = sorted(Path(dest).glob("litellm-*.whl"))
    if not wheels:
        sys.exit(f"pip download left no litellm wheel in {dest}")
    return wheels[-1]


def wheel_version(wheel: Path) -> str:
    match = re.match(r"litellm-([^-]+)-", wheel.name)
    if not match:
        sys.exit(f"{wheel.name}: not a litellm wheel file name")
    return match.group(1)


def read_price_json(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        try:
            return zf.read(MEMBER)
        except KeyError:
            sys.exit(f"{wheel.name} has no {MEMBER}")


def per_million(value) -> str:
    """USD per token -> USD per 1M tokens, 6 significant digits; '' when absent."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return f"{value * 1e6:.6g}"


def build_rows(prices: dict, source: str, as_of: str) -> list[dict[str, str]]:
    rows = []
    for name, entry in sorted(prices.items()):
        if not isinstance(entry, dict) or entry.get("mode") != "chat":
            continue
        provider = entry.get("litellm_provider")
        if provider not in PROVIDERS:
            continue
        if provider == "bedrock" and not BEDROCK_PREFIXES.match(name):
            continue
        row = {col: per_million(entry.get(key)) for col, key in PRICE_KEYS.items()}
        if not row["input_usd_per_mtok"] or not row["output_usd_per_mtok"]:
            continue
        max_in = entry.get("max_input_tokens")
        row.update(model=name, provider=provider, mode="chat", source=source, as_of=as_of,
                   max_input_tokens=str(int(max_in)) if isinstance(max_in, (int, float)) and not isinstance(max_in, bool) else "")
        rows.append(row)
    return rows


def atomic_write(path: Path, text: str) -> None:
    """Write *text* to a temp file beside *path*, then os.replace it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, help="a litellm wheel already on disk (default: pip download the newest)")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "api_prices.csv", help="CSV to write")
    ap.add_argument("--date", default=date.today().isoformat(), help="as_of date to stamp (YYYY-MM-DD, default today)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(tmp)
        version = wheel_version(wheel)
        raw = read_price_json(wheel)

    source = f"litellm {version} {Path(MEMBER).name}"
    rows = build_rows(json.loads(raw), source, args.date)
    if not rows:
        sys.exit("no chat rows extracted; refusing to overwrite the catalog")
    atomic_write(args.out, to_csv(rows))
    meta = {
        "litellm_version": version,
        "wheel": wheel.name,
        "json_member": MEMBER,
        "json_sha256": hashlib.sha256(raw).hexdigest(),
        "extracted": args.date,
        "rows": len(rows),
        "providers": sorted(PROVIDERS),
        "rows_per_provider": {p: sum(r["provider"] == p for r in rows) for p in sorted(PROVIDERS)},
    }
    atomic_write(args.out.with_name(args.out.stem + ".meta.json"), json.dumps(meta, indent=2) + "\n")
    print(f"{len(rows)} chat models from litellm {version} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Extract chat-model API prices from litellm's price table into data/api_prices.csv.

litellm ships its price table as ``litellm/model_prices_and_context_window_backup.json``
inside every wheel. This script reads that file straight out of the wheel (a zip
archive); litellm is never installed or imported. It keeps the ``mode == "chat"``
entries of the providers worth planning against, converts per-token prices to USD
per 1M tokens (rounded to 6 significant digits) and writes, atomically:

* ``data/api_prices.csv``       one row per model
* ``data/api_prices.meta.json`` litellm version, wheel name, sha256 of the JSON,
                                extraction date, row count, providers kept

Two columns are derived from the model key rather than read from litellm:

* ``open_model``       the model card (data/model_cards.csv name) of the open-weights model an
                       API row serves, from the explicit ordered OPEN_MODEL_RULES below; empty for
                       closed models and for open models without a card.
* ``served_precision`` the serving precision where the key says so (``...-FP8``, ``-int8``,
                       Together's ``-Turbo`` = FP8 and ``-Lite`` = INT4); empty = not stated.

Usage::

    python scripts/extract_litellm_prices.py                 # pip-downloads the pinned wheel (LITELLM_VERSION)
    python scripts/extract_litellm_prices.py --litellm-version latest   # the newest wheel instead
    python scripts/extract_litellm_prices.py --wheel litellm-1.2.3-py3-none-any.whl
    python scripts/extract_litellm_prices.py --out /tmp/prices.csv --date 2026-11-22

Rows without an input or an output price are skipped. Empty cells mean "litellm has
no such price for this model", never zero.
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

from planner.formats.files import atomic_write_csv, atomic_write_text  # one atomic writer for the package and its data scripts

ROOT = Path(__file__).resolve().parent.parent
MEMBER = "litellm/model_prices_and_context_window_backup.json"
# The litellm release the committed catalog was read from. Pinned so that a plain re-run
# reproduces the same prices; pass --litellm-version latest (or another version) to move.
LITELLM_VERSION = "1.109.1"

# litellm_provider values kept. "gemini" is Google's AI Studio API (the one Google
# provider key kept; vertex_ai-* duplicates the same models at the same prices).
FIRST_PARTY_AND_CLOUD = (
    "openai", "anthropic", "gemini", "mistral", "deepseek", "xai", "bedrock",
)
# Hosted inference providers that serve open-weights models on their own hardware: the
# like-for-like baselines for self-hosting the same model. Checked against the keys present
# in litellm 1.109.1. Left out on purpose: routers/aggregators that resell other providers
# (aihubmix, vercel_ai_gateway, kyma, inferenceapis, ...), cloud marketplaces (azure_ai,
# databricks, oci, snowflake, watsonx, vertex_ai-*), replicate and gmi (mostly proxied closed
# models), anyscale (public endpoints discontinued), lambda_ai (Inference API winding down,
# announced 2026), providers without prices (featherless_ai), and hyperbolic: litellm 1.109.1 gives
# every hyperbolic Llama/Qwen model, 3B to 405B, the same $0.12 / $0.30 — not a price list a plan
# can trust as a like-for-like baseline until it is checked against the provider.
HOSTED_OPEN_MODEL = (
    "together_ai", "fireworks_ai", "groq", "deepinfra", "nebius", "novita",
    "sambanova", "cerebras", "baseten", "crusoe", "nscale", "ovhcloud", "scaleway", "wandb",
    "friendliai", "cloudflare",
)
PROVIDERS = FIRST_PARTY_AND_CLOUD + HOSTED_OPEN_MODEL
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
COLUMNS = ["model", "provider", "open_model", "served_precision", "mode", *PRICE_KEYS,
           "max_input_tokens", "source", "as_of"]

# litellm key -> model-card name of the open-weights model it serves. Ordered: the first
# pattern that matches the lower-cased key wins, and a rule mapping to "" stops the search
# (fine-tunes, distills, guards, vision/coder variants: not the card's model). Instruct/chat
# variants map to their base card (the architecture, hence the serving cost, is the same).
OPEN_MODEL_RULES: tuple[tuple[str, str], ...] = (
    # Distills whose base model is documented (DeepSeek-R1 model card, "Distilled Models"
    # table: R1-Distill-Llama-70B <- Llama-3.3-70B-Instruct, R1-Distill-Llama-8B <- Llama-3.1-8B;
    # DeepSeek-R1-0528 card: R1-0528-Qwen3-8B <- Qwen3-8B Base). Same architecture as the card;
    # different weights and (reasoning) output lengths.
    (r"deepseek-r1-distill-llama-70b|deepseek-llama3\.3-70b", "Llama-3.3-70B"),
    (r"deepseek-r1-distill-llama-8b", "Llama-3.1-8B"),
    (r"deepseek-r1-0528-(distill-)?qwen3-8b", "Qwen3-8B"),
    (r"distill", ""),  # other distills (Qwen2.5-Math / Qwen2.5 bases): no card, not mapped
    # Third-party fine-tunes, guards and other variants of a carded architecture: not the card's model.
    (r"guard|hermes|euryale|lunaris|stheno|mythomax|nemotron|dobby|cogito|dolphin|snorkel|"
     r"wizardlm|llava|openpipe|sea-lion|abliterat|toppy|zephyr|capybara|openchat|phind|chronos|"
     r"code-?llama|coder|math|omni|vision|(^|[-_/.])vl([-_/.]|$)|deepseek-prover", ""),
    # LoRA-adapter endpoints (Cloudflare "-lora": base model + your adapter; litellm prices them 0)
    # and Fireworks' llama-v3p1-70b-instruct-1b (priced like a <4B model, $0.10/$0.10: not the 70B).
    # Also fireworks llama-v2-70b (not -chat) and llama-v3p1-405b-instruct-long at $0.10 / $0.10: priced like small models,
    # below any 70B/405B host — kept as API rows but not offered as the like-for-like baseline.
    (r"(^|[-_/.])lora([-_/.]|$)|llama-v3p1-70b-instruct-1b|fireworks/models/llama-v2-70b$|llama-v3p1-405b-instruct-long", ""),
    (r"smollm2-135m", "SmolLM2-135M-Instruct"),
    (r"llama-?v?2-7b", "Llama-2-7B"),
    (r"llama-?v?2-13b", "Llama-2-13B"),
    (r"llama-?v?2-70b", "Llama-2-70B"),
    (r"llama-?v?3-8b", "Llama-3-8B"),
    (r"llama-?v?3-70b", "Llama-3-70B"),
    (r"llama-?v?3(\.|p|_|-)1-8b", "Llama-3.1-8B"),
    (r"llama-?v?3(\.|p|_|-)1-70b", "Llama-3.1-70B"),
    (r"llama-?v?3(\.|p|_|-)1-405b", "Llama-3.1-405B"),
    (r"llama-?v?3(\.|p|_|-)3-70b", "Llama-3.3-70B"),
    (r"llama-?4-scout", "Llama-4-Scout-17B-16E"),
    (r"llama-?4-maverick", "Llama-4-Maverick-17B-128E"),
    (r"qwen-?v?2(\.|p)5-7b", "Qwen2.5-7B"),
    (r"qwen-?3-0(\.|p)6b", "Qwen3-0.6B"),
    (r"qwen-?3-4b", "Qwen3-4B"),  # incl. Qwen3-4B-Instruct-2507 (same architecture, new weights)
    (r"qwen-?3-8b", "Qwen3-8B"),
    (r"qwen-?3-14b", "Qwen3-14B"),
    (r"qwen-?3-32b", "Qwen3-32B"),
    (r"qwen-?3-30b-a3b", "Qwen3-30B-A3B"),  # incl. -Instruct/-Thinking-2507
    (r"qwen-?3-235b-a22b", "Qwen3-235B-A22B"),  # incl. -Instruct/-Thinking-2507
    (r"gemma-?3-270m", "Gemma-3-270M"),
    (r"gemma-?3-1b", "Gemma-3-1B"),
    (r"gemma-?3-4b", "Gemma-3-4B"),
    (r"gemma-?3-12b", "Gemma-3-12B"),
    (r"gemma-?3-27b", "Gemma-3-27B"),
    # Mistral-7B-Instruct-v0.2/v0.3 (and v0.2 base) share v0.1's layer shapes (32 layers,
    # d_model 4096, 32 heads / 8 KV heads, FFN 14336); v0.2 drops the sliding window and raises
    # rope_theta / context to 32k, v0.3 grows the vocabulary to 32,768. Mapped to the v0.1 card.
    (r"mistral-7b", "Mistral-7B-v0.1"),
    # Mistral Small 3 (2501), 3.1 (2503) and 3.2 (2506) share the 24B text decoder (40 layers,
    # d_model 5120, 32 / 8 heads, FFN 32768, vocab 131k); 3.1/3.2 add a vision encoder and 128k
    # context. Mapped to the 3.1 card.
    (r"mistral-small-(3\.1|3\.2)-24b|mistral-small-24b-instruct-2501", "Mistral-Small-3.1-24B"),
    (r"mixtral-8x7b", "Mixtral-8x7B-v0.1"),
    (r"mixtral-8x22b", "Mixtral-8x22B-v0.1"),
    # DeepSeek-V3.2 adds sparse attention (DSA): a different attention cost, not the V3 card.
    (r"deepseek[-_]v3(\.|p)2", ""),
    # V3, V3-0324, V3.1 and V3.1-Terminus: the same 671B / 37B-active MoE with MLA.
    (r"deepseek[-_]v3", "DeepSeek-V3"),
    (r"deepseek[-_]r1", "DeepSeek-R1"),  # R1 and R1-0528
    (r"gpt-oss-20b", "gpt-oss-20b"),
    (r"gpt-oss-120b", "gpt-oss-120b"),
)
_OPEN_MODEL_RES = tuple((re.compile(pattern), card) for pattern, card in OPEN_MODEL_RULES)

# Serving precision where the key states it (first match wins). Together AI documents that its
# "Turbo" models are FP8 and its "Lite" models INT4 (docs.together.ai/docs/serverless-models);
# other providers' "turbo"/"fast" suffixes are not a precision and stay unknown.
PRECISION_RULES: tuple[tuple[str, str], ...] = (
    (r"nvfp4|(^|[-_/.])fp4([-_/.]|$)", "fp4"),
    (r"(^|[-_/.])fp8([-_/.]|$)", "fp8"),
    (r"(^|[-_/.])int8([-_/.]|$)", "int8"),
    (r"(^|[-_/.])(int4|awq)([-_/.]|$)", "int4"),
    (r"(^|[-_/.])bf16([-_/.]|$)", "bf16"),
    (r"(^|[-_/.])fp16([-_/.]|$)", "fp16"),
)
_PRECISION_RES = tuple((re.compile(pattern), value) for pattern, value in PRECISION_RULES)
TOGETHER_SUFFIX_PRECISION = {"turbo": "fp8", "lite": "int4"}


def open_model(key: str) -> str:
    """The model card an API key serves ('' for closed models and open models without a card)."""
    low = key.lower()
    for pattern, card in _OPEN_MODEL_RES:
        if pattern.search(low):
            return card
    return ""


def served_precision(key: str, provider: str) -> str:
    """Precision stated by the key ('' = not stated)."""
    low = key.lower()
    for pattern, value in _PRECISION_RES:
        if pattern.search(low):
            return value
    if provider == "together_ai":
        suffix = low.rsplit("-", 1)[-1]
        return TOGETHER_SUFFIX_PRECISION.get(suffix, "")
    return ""


def download_wheel(dest: str, version: str = LITELLM_VERSION) -> Path:
    """Fetch the litellm wheel of *version* ('latest' = newest) without dependencies into *dest*."""
    spec = "litellm" if version == "latest" else f"litellm=={version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           spec, "-d", dest]
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
        row.update(model=name, provider=provider, open_model=open_model(name),
                   served_precision=served_precision(name, provider), mode="chat", source=source, as_of=as_of,
                   max_input_tokens=str(int(max_in)) if isinstance(max_in, (int, float)) and not isinstance(max_in, bool) else "")
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", type=Path, help="a litellm wheel already on disk (default: pip download --litellm-version)")
    ap.add_argument("--litellm-version", default=LITELLM_VERSION,
                    help=f"litellm release to download when no --wheel is given (default {LITELLM_VERSION}; 'latest' = newest)")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "api_prices.csv", help="CSV to write")
    ap.add_argument("--date", default=date.today().isoformat(), help="as_of date to stamp (YYYY-MM-DD, default today)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(tmp, args.litellm_version)
        version = wheel_version(wheel)
        raw = read_price_json(wheel)

    source = f"litellm {version} {Path(MEMBER).name}"
    rows = build_rows(json.loads(raw), source, args.date)
    if not rows:
        sys.exit("no chat rows extracted; refusing to overwrite the catalog")
    atomic_write_csv(args.out, rows, COLUMNS)
    meta = {
        "litellm_version": version,
        "wheel": wheel.name,
        "json_member": MEMBER,
        "json_sha256": hashlib.sha256(raw).hexdigest(),
        "extracted": args.date,
        "rows": len(rows),
        "providers": sorted(PROVIDERS),
        "rows_per_provider": {p: sum(r["provider"] == p for r in rows) for p in sorted(PROVIDERS)},
        "rows_with_open_model": sum(bool(r["open_model"]) for r in rows),
        "open_model_rows": {c: n for c in sorted({r["open_model"] for r in rows} - {""})
                            for n in [sum(r["open_model"] == c for r in rows)]},
        "derived_columns": {
            "open_model": "model-card name from OPEN_MODEL_RULES in scripts/extract_litellm_prices.py",
            "served_precision": "precision stated in the model key (Together AI: -Turbo = fp8, -Lite = int4)",
        },
    }
    atomic_write_text(args.out.with_name(args.out.stem + ".meta.json"), json.dumps(meta, indent=2) + "\n")
    print(f"{len(rows)} chat models from litellm {version} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

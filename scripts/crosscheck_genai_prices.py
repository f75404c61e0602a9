"""Cross-check data/api_prices.csv (litellm) against pydantic's genai-prices; writes data/api_prices_crosscheck.csv.

Source: the genai-prices wheel from PyPI (github.com/pydantic/genai-prices, MIT), pinned to GENAI_PRICES_VERSION. Its
price table ships as generated Python, ``genai_prices/data.py``, read here with ``ast`` (never imported or executed).
The per-model check date ``prices_checked`` exists only in the repository's ``prices/providers/<provider>.yml`` (a
``ModelInfo`` field with ``exclude=True``, dropped from the build), so the wheel has none: ``--checked-from`` a
checkout's prices/providers folder fills ``genai_checked``, only where that YAML's input/output equals the wheel's.

Matching: our provider -> genai provider by PROVIDER_MAP (others skipped; HF-router resellers such as
``huggingface_nebius`` are not the provider). Model ids match exactly, case-insensitively, after removing our
``<provider>/`` prefix, against the genai ``id`` or an ``equals`` alias of its ``match`` clause (top level or in ``or``);
``starts_with``/``contains``/``regex`` clauses are not used. genai's Bedrock ids lose their ``regional.`` prefix.

Prices (USD per 1M tokens), flat only: tiered -> base tier; date-conditional -> in effect on the row's ``as_of``;
time-of-day -> peak rate; request variants (batch, priority, ...) ignored; a price genai omits counts as $0 (as
genai_prices computes it). Each such choice is stated in ``note``. ``agree``: input and output both within 1 %.

    python scripts/crosscheck_genai_prices.py      # pip-downloads the pinned wheel; no check dates
    python scripts/crosscheck_genai_prices.py --wheel genai_prices-0.2.3-py3-none-any.whl --checked-from DIR
"""
from __future__ import annotations

import argparse
import ast
import csv
import datetime as dt
import os
import subprocess
import sys
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GENAI_PRICES_VERSION = "0.2.3"
MEMBER = "genai_prices/data.py"
# our provider (litellm_provider) -> genai-prices provider id
PROVIDER_MAP = {
    "openai": "openai", "anthropic": "anthropic", "gemini": "google", "mistral": "mistral", "deepseek": "deepseek",
    "xai": "x-ai", "bedrock": "aws", "together_ai": "together", "fireworks_ai": "fireworks", "groq": "groq",
    "novita": "novita", "cerebras": "cerebras", "baseten": "baseten", "cloudflare": "cloudflare", "ovhcloud": "ovhcloud",
}
COLUMNS = ["model", "provider", "genai_provider", "genai_model_id", "litellm_input_usd_per_mtok",
           "litellm_output_usd_per_mtok", "genai_input_usd_per_mtok", "genai_output_usd_per_mtok", "input_diff_pct",
           "output_diff_pct", "agree", "genai_checked", "genai_version", "note"]


def _lit(node: ast.AST) -> Any:
    """A data.py expression as plain data: calls -> dicts of their keyword arguments (+ '_type')."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List):
        return [_lit(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_lit(k): _lit(v) for k, v in zip(node.keys, node.values) if k is not None}
    if isinstance(node, ast.Call):
        name, args = ast.unparse(node.func), [_lit(a) for a in node.args]
        if name == "Decimal":
            return Decimal(args[0])
        if name in ("datetime.date", "datetime.time"):
            return (dt.date if name.endswith("date") else dt.time)(*args)
        return {"_type": name, **{k.arg: _lit(k.value) for k in node.keywords if k.arg}}
    return ast.unparse(node)


def read_wheel(wheel: Path) -> tuple[str, list[dict]]:
    """(version, providers) from the wheel's METADATA and data.py."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        version = next(ln.split(":", 1)[1].strip() for ln in zf.read(meta).decode().splitlines() if ln.startswith("Version:"))
        tree = ast.parse(zf.read(MEMBER))
    node = next(n for n in tree.body if isinstance(n, ast.AnnAssign) and ast.unparse(n.target) == "providers")
    return version, _lit(node.value)


def aliases(clause: dict) -> list[str]:
    """The exact ids a match clause names: `equals`, at top level or inside `or`."""
    if "equals" in clause:
        return [clause["equals"]]
    return [a for c in clause.get("or_", clause.get("or", [])) for a in aliases(c)]


def _base(price: Any) -> tuple[Decimal, str]:
    """Flat price of one unit: a TieredPrices' base tier; absent = $0 (genai charges nothing for an unpriced unit)."""
    if isinstance(price, dict):  # TieredPrices
        return Decimal(str(price["base"])), f"tiered: base tier (< {price['tiers'][0]['start']:,} tokens)"
    return (Decimal(0), "unpriced in genai = $0") if price is None else (Decimal(str(price)), "")


def flat_price(prices: Any, on: dt.date) -> tuple[Decimal, Decimal, list[str]]:
    """Input/output $ per Mtok a model's `prices` (wheel or YAML shape) gives on date `on`, and notes on choices made."""
    notes: list[str] = []
    cur = prices
    if isinstance(prices, list):
        timed = [e for e in prices if "start_time" in (e.get("constraint") or {})]  # TimeOfDateConstraint
        dated = [e for e in prices if "start_time" not in (e.get("constraint") or {})]  # none or StartDateConstraint
        active = [e for e in dated if not e.get("constraint") or e["constraint"]["start_date"] <= on]
        cur = (active or dated[:1])[-1]["prices"]  # genai: the last active entry wins
        if len(dated) > 1:
            notes.append(f"date-conditional: price in effect on {on}")
        if future := [e for e in dated if e.get("constraint") and e["constraint"]["start_date"] > on]:
            nxt = future[0]
            notes.append(f"changes on {nxt['constraint']['start_date']} to {_base(nxt['prices'].get('input_mtok'))[0]}"
                         f"/{_base(nxt['prices'].get('output_mtok'))[0]}")
        if timed:
            peak = max([cur] + [e["prices"] for e in timed], key=lambda p: _base(p.get("input_mtok"))[0])
            other = f" (other {_base(cur.get('input_mtok'))[0]}/{_base(cur.get('output_mtok'))[0]})" if peak is not cur else ""
            notes.append(f"time-of-day: peak rate used{other}")
            cur = peak
    (inp, n1), (out, n2) = _base(cur.get("input_mtok")), _base(cur.get("output_mtok"))
    return inp, out, notes + sorted({n for n in (n1, n2) if n})


def load_checked(folder: Path | None) -> dict[tuple[str, str], dict]:
    """(provider id, model id) -> YAML model entry, for entries with `prices_checked`."""
    if folder is None:
        return {}
    import yaml  # a project dependency; only needed for check dates

    out: dict[tuple[str, str], dict] = {}
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text())
        for m in doc.get("models", []):
            if m.get("prices_checked"):
                out[doc["id"], m["id"]] = m
    return out


def pct(ours: float, theirs: Decimal) -> float | None:
    """(theirs - ours) / ours in %; None where ours is 0 and theirs is not."""
    if ours == 0:
        return 0.0 if theirs == 0 else None
    return round((float(theirs) - ours) / ours * 100, 2)


def download_wheel(dest: str) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           f"genai-prices=={GENAI_PRICES_VERSION}", "-d", dest]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return next(Path(dest).glob("genai_prices-*.whl"))


def crosscheck(prices_csv: Path, providers: list[dict], version: str, checked: dict[tuple[str, str], dict]) -> list[dict]:
    index: dict[tuple[str, str], list[dict]] = {}
    for p in providers:
        for m in p.get("models", []):
            ids = {m["id"], m["id"].removeprefix("regional."), *aliases(m["match"])}  # regional.: only in aws ids
            for key in {i.lower() for i in ids}:
                index.setdefault((p["id"], key), []).append(m)
    rows = []
    with prices_csv.open(newline="") as fh:
        for r in csv.DictReader(fh):
            gp = PROVIDER_MAP.get(r["provider"])
            key = r["model"].lower().removeprefix(r["provider"] + "/")
            if gp is None or not (hits := index.get((gp, key))):
                continue
            m = next((h for h in hits if h["id"].lower() == key), hits[0])
            on = dt.date.fromisoformat(r["as_of"]) if r["as_of"] else dt.date.today()
            inp, out, notes = flat_price(m.get("prices") or {}, on)
            if (mid := m["id"].lower().removeprefix("regional.")) != key and not key.endswith("/" + mid):
                notes.insert(0, f"matched alias of {m['id']}")
            if len(hits) > 1:
                notes.append(f"ambiguous: also {', '.join(h['id'] for h in hits if h is not m)}")
            if m.get("price_variants"):
                notes.append("request variants ignored: " + ", ".join(sorted({f"{k}={v}" for pv in m["price_variants"] for k, v in pv["when"].items()})))
            ours_in, ours_out = float(r["input_usd_per_mtok"]), float(r["output_usd_per_mtok"])
            d_in, d_out = pct(ours_in, inp), pct(ours_out, out)
            y = checked.get((gp, m["id"]))
            y_in, y_out, _ = flat_price(y.get("prices") or {}, on) if y else (None, None, [])
            rows.append({
                "model": r["model"], "provider": r["provider"], "genai_provider": gp, "genai_model_id": m["id"],
                "litellm_input_usd_per_mtok": r["input_usd_per_mtok"], "litellm_output_usd_per_mtok": r["output_usd_per_mtok"],
                "genai_input_usd_per_mtok": f"{inp.normalize():f}", "genai_output_usd_per_mtok": f"{out.normalize():f}",
                "input_diff_pct": "" if d_in is None else d_in, "output_diff_pct": "" if d_out is None else d_out,
                "agree": d_in is not None and d_out is not None and abs(d_in) <= 1 and abs(d_out) <= 1,
                "genai_checked": str(y["prices_checked"]) if y and (y_in, y_out) == (inp, out) else "",
                "genai_version": version, "note": "; ".join(notes),
            })
    return rows


def write_csv_atomic(path: Path, rows: list[dict]) -> None:
    """Temp file in the target folder, then os.replace: readers never see a half-written CSV."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheel", type=Path, help=f"genai-prices wheel (default: pip-download {GENAI_PRICES_VERSION} to a temp dir)")
    ap.add_argument("--checked-from", type=Path, help="genai-prices checkout's prices/providers/ (YAML with prices_checked)")
    ap.add_argument("--prices", type=Path, default=ROOT / "data" / "api_prices.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "api_prices_crosscheck.csv")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        version, providers = read_wheel(args.wheel or download_wheel(tmp))
    rows = crosscheck(args.prices, providers, version, load_checked(args.checked_from))
    write_csv_atomic(args.out, rows)
    agree, dated = sum(r["agree"] is True for r in rows), sum(bool(r["genai_checked"]) for r in rows)
    print(f"genai-prices {version}: {len(rows)} rows matched, {agree} agree, {dated} with a check date -> {args.out}")


if __name__ == "__main__":
    main()

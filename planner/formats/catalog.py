"""Dated price and hardware catalogs under data/: loaded and validated in one place.

Every row carries `source` and `as_of`; a row without them is refused, so no number reaches a chart
without provenance. Users may load their own files of the same format (or a litellm-format JSON).
"""
from __future__ import annotations

import dataclasses
import difflib
import io
import math
import os
import types
import typing
from functools import lru_cache
from pathlib import Path

import pandas as pd

from planner.core.cards import ModelCard
from planner.core.cost import onprem_replica_monthly_usd, wall_power_w_per_gpu
from planner.core.deploy import Device
from planner.core.errors import DataError, InputError
from planner.core.matching import gpu_match, norm_name
from planner.core.records import Profile
from planner.core.rows import ApiPriceRow, CacheRuleRow, HardwareRow, InstanceRow, InterconnectRow, OnpremRow, Provenance
from planner.core.units import HOURS_PER_MONTH
from planner.formats.files import parse_json, read_text, resource_root
from planner.formats.schemas import DEFAULT_API_MODEL, SCHEMAS  # noqa: F401 (re-exported: one home, light to import)

DATA_DIR = resource_root() / "data"


def data_dir() -> Path:
    """$LLM_PLANNER_DATA (a folder of catalogs of your own), else the repository's data/."""
    return Path(os.environ.get("LLM_PLANNER_DATA") or DATA_DIR)



def _first_row(mask: pd.Series) -> int:
    """Position of the first True in a column's mask (the row a one-line error names, counted from 0)."""
    return int(mask.to_numpy().nonzero()[0][0])


def validate_catalog(df: pd.DataFrame, kind: str, origin: str) -> pd.DataFrame:
    """Check columns, provenance and numbers; raises DataError naming the file, row and field."""
    schema = SCHEMAS[kind]
    needed = schema["key"] + schema["numeric"] + schema["text"] + ["source", "as_of"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {missing}; expected the {kind} format (see data/SOURCES.md)")
    df = df.copy()
    for col in ("source", "as_of"):
        blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if blank.any():
            row = _first_row(blank)
            raise DataError(f"{origin}: row {row + 2} has no '{col}'; every catalog row needs a source and a date")
    dates = pd.to_datetime(df["as_of"].astype(str), format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        row = _first_row(dates.isna())
        raise DataError(f"{origin}: row {row + 2} field 'as_of' must be a date YYYY-MM-DD (got {df['as_of'].iloc[row]!r})")
    future = dates > pd.Timestamp.now()
    if future.any():
        row = _first_row(future)
        raise DataError(f"{origin}: row {row + 2} field 'as_of' is in the future ({df['as_of'].iloc[row]}); use the date the source was read")
    for col in schema["numeric"] + [c for c in schema.get("optional_numeric", []) if c in df.columns]:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = df[col].notna() & values.isna()
        if bad.any():
            row = _first_row(bad)
            raise DataError(f"{origin}: row {row + 2} field '{col}' is not a number ({df[col].iloc[row]!r})")
        if (values < 0).any():
            row = _first_row(values < 0)
            raise DataError(f"{origin}: row {row + 2} field '{col}' is negative")
        if values.isin([math.inf, -math.inf]).any():
            row = _first_row(values.isin([math.inf, -math.inf]))
            raise DataError(f"{origin}: row {row + 2} field '{col}' is infinite ({df[col].iloc[row]!r}); give a finite number or leave it empty")
        if col in schema.get("positive", []) and (values == 0).any():
            row = _first_row(values == 0)
            why = "nothing is free: give the price, or leave it empty (unknown)" if "usd" in col else "a size or speed of 0 is not physical; leave it empty if unknown"
            raise DataError(f"{origin}: row {row + 2} field '{col}' is 0 — {why}")
        df[col] = values
    for col, allowed in schema.get("choices", {}).items():
        bad = ~df[col].isin(allowed)
        if bad.any():
            row = _first_row(bad)
            raise DataError(f"{origin}: row {row + 2} field '{col}' must be one of {', '.join(allowed)} (got {df[col].iloc[row]!r})")
    if kind == "onprem":  # a price that buys a server share pays for the host's power too: without it energy is low by ~45 %
        short = (df["purchase_includes"] == "server_share") & df["server_power_w_per_gpu"].isna()
        if short.any():
            row = _first_row(short)
            raise DataError(f"{origin}: row {row + 2} field 'server_power_w_per_gpu' is empty but purchase_includes is server_share; "
                            "give the server's maximum power ÷ its GPUs (the host's power is part of what the price buys)")
    for col in schema["required_numeric"]:
        if df[col].isna().any():
            row = _first_row(df[col].isna())
            raise DataError(f"{origin}: row {row + 2} field '{col}' is empty but required")
    key = schema["key"][0]
    dup = df[key].duplicated()
    if dup.any():
        raise DataError(f"{origin}: duplicate {key} {df[key][dup].iloc[0]!r}; keep one row per {key}")
    return df


def load_catalog(kind: str, path: str | Path | None = None) -> pd.DataFrame:
    if kind not in SCHEMAS:
        raise InputError(f"catalog kind '{kind}' is unknown; use one of {sorted(SCHEMAS)}")
    path = Path(path) if path else data_dir() / f"{kind}.csv"
    frame = _load_cached(kind, str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0).copy()
    if kind == "instances":  # owned hardware is rented from yourself: priced by amortisation + energy, listed beside the clouds
        frame = pd.concat([frame, onprem_instances_frame()], ignore_index=True)
    return frame


ONPREM_PROVIDER = "on-prem"
ONPREM_GPU_COUNTS = (1, 2, 4, 8)


def onprem_instances_frame() -> pd.DataFrame:
    """data/onprem.csv as instance rows ("onprem-8x-NVIDIA H100 SXM 80GB", provider "on-prem"): an hourly price of
    straight-line amortisation plus energy at the wall (`cost.onprem_replica_monthly_usd` ÷ 730 h) per GPU. Rows
    without a purchase price, amortisation, power, PUE or energy price are left out (unknown is not free)."""
    path = data_dir() / "onprem.csv"
    if not path.exists():
        return pd.DataFrame(columns=["instance"])
    return _onprem_instances(str(path.resolve()), path.stat().st_mtime).copy()


@lru_cache(maxsize=4)
def _onprem_instances(path: str, mtime: float) -> pd.DataFrame:
    rows = []
    for _, r in _load_cached("onprem", path, mtime).iterrows():
        watts = wall_power_w_per_gpu(r["purchase_includes"], r["power_w"], r["server_power_w_per_gpu"])
        values = [r["purchase_usd"], r["amortisation_years"], watts, r["pue"], r["usd_per_kwh"]]
        if any(pd.isna(v) for v in values):
            continue
        per_gpu_hour = float(onprem_replica_monthly_usd(*values)) / HOURS_PER_MONTH
        what = ("a server share: the 8-GPU server's price and its maximum power ÷ 8, host included" if r["purchase_includes"] == "server_share"
                else "the GPU card alone: no host server in the price or the power — add your own host's share")
        for n in ONPREM_GPU_COUNTS:
            rows.append({"instance": f"onprem-{n}x-{r['hardware']}", "provider": ONPREM_PROVIDER, "region": None, "accelerator": r["hardware"],
                         "accelerator_count": n, "vcpus": None, "ram_gib": None, "on_demand_usd_per_hour": per_gpu_hour * n,
                         "spot_usd_per_hour": None, "reserved_1y_usd_per_hour": None,
                         "source": (f"owned: ${r['purchase_usd']:,.0f} over {r['amortisation_years']:g} years + {watts:g} W × PUE "
                                    f"{r['pue']:g} at ${r['usd_per_kwh']:g}/kWh, per GPU, always on; {what} (data/onprem.csv: {r['source']})"),
                         "as_of": r["as_of"]})
    return pd.DataFrame(rows)


@lru_cache(maxsize=32)
def _load_cached(kind: str, path: str, _mtime: float) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"catalog file not found: {p} — pass an existing CSV for '{kind}'")
    if kind == "api_prices" and p.suffix == ".json":
        return validate_catalog(litellm_json_to_frame(p), kind, p.name)
    text = read_text(p, f"catalog '{kind}'", "pass an existing CSV")  # UTF-8 or one line naming the file and byte
    if not text.strip():
        raise DataError(f"{p}: the catalog is empty — it needs a header row and at least one row of the {kind} format (see data/SOURCES.md)")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype={"as_of": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{p}: not a readable CSV ({str(exc).splitlines()[0]}) — fix the row it names") from None
    if frame.empty:
        raise DataError(f"{p}: the catalog has a header but no rows — add at least one {kind} row")
    return validate_catalog(frame, kind, p.name)


def litellm_json_to_frame(path: str | Path, as_of: str | None = None) -> pd.DataFrame:
    """A litellm-format price JSON (model → per-token prices) as an api_prices frame."""
    path = Path(path)
    raw = parse_json(read_text(path, "litellm price JSON"), f"{path.name} (a litellm price JSON)")
    if not isinstance(raw, dict):
        raise DataError(f"{path.name}: a litellm price JSON is an object of model → prices (got {type(raw).__name__})")
    date = as_of or pd.Timestamp(path.stat().st_mtime, unit="s").strftime("%Y-%m-%d")
    def per_m(entry: dict, key: str) -> float | None:
        """$/token → $/M tokens; absent or null is unknown (None); anything else that is not a number is refused."""
        value = entry.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise DataError(f"{path.name}: model '{name}' field '{key}' is not a price ({value!r}); fix or remove that entry")
        return value * 1e6

    rows = []
    for name, entry in raw.items():
        if not isinstance(entry, dict) or entry.get("mode", "chat") != "chat":
            continue
        if per_m(entry, "input_cost_per_token") is None or per_m(entry, "output_cost_per_token") is None:
            continue
        rows.append({
            "model": name, "provider": entry.get("litellm_provider", ""), "mode": entry.get("mode", "chat"),
            "input_usd_per_mtok": per_m(entry, "input_cost_per_token"), "output_usd_per_mtok": per_m(entry, "output_cost_per_token"),
            "cache_read_usd_per_mtok": per_m(entry, "cache_read_input_token_cost"),
            "cache_write_usd_per_mtok": per_m(entry, "cache_creation_input_token_cost"),
            "batch_input_usd_per_mtok": per_m(entry, "input_cost_per_token_batches"),
            "batch_output_usd_per_mtok": per_m(entry, "output_cost_per_token_batches"),
            "max_input_tokens": entry.get("max_input_tokens"), "source": f"user file {path.name}", "as_of": date,
        })
    if not rows:
        raise DataError(f"{path.name}: no chat models with input and output prices found")
    return pd.DataFrame(rows)


def lookup(df: pd.DataFrame, kind: str, key: str) -> pd.Series:
    """One row by its key (exact, else the one row equal ignoring case and punctuation), or an error listing close names."""
    col = SCHEMAS[kind]["key"][0]
    hit = df[df[col] == key]
    if hit.empty:
        hit = df[df[col].map(norm_name) == norm_name(key)]
        if len(hit) == 1:
            return hit.iloc[0]
        names = df[col].astype(str).tolist()
        by_norm = {norm_name(n): n for n in names}
        close = [by_norm[n] for n in difflib.get_close_matches(norm_name(key), list(by_norm), n=5, cutoff=0.6)]
        close += [n for n in names if norm_name(key) and norm_name(key) in norm_name(n) and n not in close][: 5 - len(close)]
        hint = f"; did you mean one of {close}?" if close else f"; list them with `llm-planner catalog {kind}`"
        raise InputError(f"{kind}: no row named '{key}'{hint}")
    return hit.iloc[0]


def provenance(row: pd.Series, kind: str) -> Provenance:
    key = str(row[SCHEMAS[kind]["key"][0]])
    second = api_price_cross_check(key) if kind == "api_prices" else None
    return Provenance(kind, key, str(row["source"]), str(row["as_of"]), *(second or (None, None)))


CROSS_CHECK = "api_prices_crosscheck.csv"  # scripts/crosscheck_genai_prices.py: api_prices.csv against genai-prices


def api_price_cross_check(model: str) -> tuple[str, bool] | None:
    """What genai-prices says of an API price row (data/api_prices_crosscheck.csv), with its check date where it has
    one, and whether the two lists agree within 1 %; None where genai-prices has no such model (or the file is absent)."""
    path = data_dir() / CROSS_CHECK
    if not path.exists():
        return None
    row = _cross_checks(str(path.resolve()), path.stat().st_mtime).get(model)
    if row is None:
        return None
    checked = f", checked {row['genai_checked']}" if isinstance(row["genai_checked"], str) and row["genai_checked"] else ", no check date"
    source = f"genai-prices {row['genai_version']}"
    if row["agree"]:
        return f"{source} agrees{checked}", True
    return (f"{source} says ${row['genai_input_usd_per_mtok']:g} in / ${row['genai_output_usd_per_mtok']:g} out per Mtok{checked}, "
            f"vs ${row['litellm_input_usd_per_mtok']:g} / ${row['litellm_output_usd_per_mtok']:g} here"), False


@lru_cache(maxsize=2)
def _cross_checks(path: str, mtime: float) -> dict[str, dict]:
    frame = pd.read_csv(path, dtype={"genai_checked": str, "genai_version": str})
    return {r["model"]: r for r in frame.to_dict(orient="records")}


_ROW_TYPES = {"instances": InstanceRow, "api_prices": ApiPriceRow, "hardware": HardwareRow, "onprem": OnpremRow,
              "interconnects": InterconnectRow, "api_cache_rules": CacheRuleRow}


def _value(raw, annotation):
    """A catalog cell as the record field's type: NaN/blank → None, whole numbers → int where the field is an int."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or (isinstance(raw, str) and not raw.strip()):
        return None
    args = set(typing.get_args(annotation)) if isinstance(annotation, types.UnionType) else {annotation}
    if bool in args:
        return str(raw).strip().lower() in ("true", "1", "yes")
    if int in args:
        return int(raw)
    if float in args:
        return float(raw)
    return str(raw)


def to_record(kind: str, row: pd.Series):
    """A validated catalog row as its typed record (InstanceRow, ApiPriceRow, HardwareRow, OnpremRow or ModelCard)."""
    if kind == "model_cards":
        return card_from_row(row)
    cls = _ROW_TYPES[kind]
    hints = typing.get_type_hints(cls)
    values = {f.name: _value(row.get(f.name), hints[f.name]) for f in dataclasses.fields(cls) if f.name != "provenance"}
    values = {k: v for k, v in values.items() if v is not None or k in _required(cls)}
    return cls(**values, provenance=provenance(row, kind))


def _required(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}


def record(kind: str, key: str):
    """One typed row by its key: `record("instances", "g5.xlarge")`."""
    return to_record(kind, lookup(load_catalog(kind), kind, key))


def records(kind: str) -> list:
    """Every row of a catalog as typed records."""
    return [to_record(kind, row) for _, row in load_catalog(kind).iterrows()]


def card_from_row(row: pd.Series) -> ModelCard:
    hints = typing.get_type_hints(ModelCard)
    values = {f.name: _value(row.get(f.name), hints[f.name]) for f in dataclasses.fields(ModelCard)}
    values["head_dim"] = values["head_dim"] or values["d_model"] // values["n_heads"]
    values["ffn_dim"] = values["ffn_dim"] or values["moe_ffn_dim"]  # Mixtral-style: every layer's MLP is the experts'
    if not values["ffn_dim"]:
        raise DataError(f"model_cards: row '{values['name']}' has neither ffn_dim nor moe_ffn_dim")
    values["n_experts"] = values["n_experts"] or 0
    values["n_experts_active"] = values["n_experts_active"] or 0
    values["source"] = str(row["source"])
    terms = licence_terms().get(values["licence"] or "")
    if terms:
        values["licence_mau_clause"], values["licence_conditions"] = terms
    try:
        return ModelCard(**values)
    except InputError as exc:  # a row of the file, not the user's argument
        raise DataError(f"model_cards: row '{values['name']}': {exc}") from None


LICENCES = "sources/licences.csv"


@lru_cache(maxsize=1)
def licence_terms() -> dict[str, tuple[str, str]]:
    """licence key → (its user-count clause, its conditions), from data/sources/licences.csv (empty when absent)."""
    path = DATA_DIR / LICENCES
    if not path.exists():
        return {}
    df = pd.read_csv(path, dtype=str).fillna("")
    return {r["licence"]: (r["mau_clause"], r["conditions"]) for _, r in df.iterrows()}


def load_card(name: str) -> ModelCard:
    return card_from_row(lookup(load_catalog("model_cards"), "model_cards", name))


def device_row(nvml_name: str, memory_total_bytes: int | None = None) -> HardwareRow | None:
    """The data/hardware.csv row of the GPU NVML names; None when no row or more than one matches (an NVML name that
    does not say SXM or PCIe is never guessed)."""
    rows = [r for r in records("hardware") if r.kind == "gpu" and gpu_match(r.name, nvml_name, memory_total_bytes)]
    return rows[0] if len(rows) == 1 else None


def cache_rule(provider: str | None) -> CacheRuleRow | None:
    """The provider's prompt-caching rules (data/api_cache_rules.csv), None when the catalog has none."""
    return next((r for r in records("api_cache_rules") if r.provider == provider), None) if provider else None


def hosted_baselines(card_name: str) -> list[ApiPriceRow]:
    """API rows serving the same open model (the like-for-like baseline), cheapest first (a 3:1 input:output blend);
    rows priced at zero (free tiers, LoRA endpoints) are left out."""
    rows = [r for r in records("api_prices") if r.open_model == card_name and r.input_usd_per_mtok > 0 and r.output_usd_per_mtok > 0]
    return sorted(rows, key=lambda r: 3 * r.input_usd_per_mtok + r.output_usd_per_mtok)


def reference_bandwidth(profile: Profile) -> tuple[float | None, str]:
    """Bandwidth to judge a profile against: its GPU's datasheet figure (hardware catalog) for GPU runs — never the
    host's RAM — and the machine's measured RAM bandwidth for CPU runs. (None, why) when unknown."""
    if profile.on_gpu:
        gpu = profile.hardware.gpus[0]
        row = device_row(gpu.name, gpu.memory_total_bytes)
        if row is None or row.memory_bandwidth_gb_s is None:
            return None, f"no datasheet bandwidth for {gpu.name} in data/hardware.csv"
        return row.memory_bandwidth_gb_s * 1e9, f"{row.name} datasheet ({row.provenance.source}, {row.provenance.as_of})"
    bw = profile.hardware.memory_bandwidth_gb_s
    return (bw * 1e9 if bw else None), (profile.hardware.memory_bandwidth_method or "not measured")


def device_for(row: HardwareRow) -> Device:
    """A hardware row as the deployment model's device: datasheet memory, bandwidth, dense bf16 (else fp16) FLOP/s and
    the dense 8-bit figure (INT8 TOPS, the FP8 peak on Hopper/Ada/Blackwell/CDNA3 datasheets),
    its interconnect and that link's measured all-reduce latency (data/interconnects.csv, matched on the link's family:
    "NVLink 4", "NVLink 3", "PCIe")."""
    tflops = row.bf16_tflops_dense or row.fp16_tflops_dense
    if not (row.memory_gib and row.memory_bandwidth_gb_s and tflops):
        raise DataError(f"hardware: row '{row.name}' lacks memory_gib / memory_bandwidth_gb_s / bf16 or fp16 TFLOPS; the fleet needs all three")
    latency = None
    if row.interconnect:
        family = row.interconnect.lower()
        links = [r for r in records("interconnects") if family.startswith(r.interconnect.lower())]
        latency = max(links, key=lambda r: len(r.interconnect)) if links else None
    return Device(name=row.name, memory_gib=row.memory_gib, bandwidth_gb_s=row.memory_bandwidth_gb_s, tflops=tflops,
                  tflops_8bit=row.int8_tops_dense,
                  interconnect=row.interconnect, interconnect_gb_s=row.interconnect_gb_s,
                  allreduce_latency_s=latency.allreduce_latency_us * 1e-6 if latency else None,
                  allreduce_latency_8gpu_s=latency.allreduce_latency_8gpu_us * 1e-6 if latency and latency.allreduce_latency_8gpu_us else None)

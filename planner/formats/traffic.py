"""Usage logs read into `core.traffic.TrafficRecords`: one typed model per format, one line naming the row and field for
anything that cannot be read.

Formats (field names from the projects' own definitions):
- **litellm spend logs** (CSV or JSON lines; the proxy's `LiteLLM_SpendLogs` rows, BerriAI/litellm
  litellm-js/spend-logs/src/_types.ts): `prompt_tokens`, `completion_tokens`, `startTime`, `model`. They carry no
  cached-token count, so the cached share stays unknown.
- **OpenAI completions responses** (JSON lines of `chat.completion` / `text_completion` objects, as an application
  logs them): `created`, `model`, `usage.prompt_tokens`, `usage.completion_tokens`,
  `usage.prompt_tokens_details.cached_tokens`.
- **OpenAI Usage API** (`GET /v1/organization/usage/completions` pages, JSON or JSON lines): buckets with
  `start_time` and results with `input_tokens`, `output_tokens`, `input_cached_tokens`, `num_model_requests`,
  `model` — aggregated: a row is a bucket of requests.
- **A plain table** (CSV or JSON lines): `prompt_tokens`/`completion_tokens` (or `tokens_in`/`tokens_out`), optional
  `timestamp` (ISO 8601 or Unix seconds), `cached_tokens`, `model`.
Timestamps without a zone are taken as UTC.

**Presets** (`read_traffic("azure-conversation-2023")`): published production traces as plain tables under
data/traffic/, listed with their source, licence and commit in data/traffic/presets.csv (extracted by
scripts/extract_traffic_presets.py) — code completion and chat from the Azure LLM inference trace 2023, long-context
chat with shared prefixes from Mooncake's FAST'25 trace. A path that exists is always read as a file.
"""
from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.core.errors import DataError, InputError
from planner.core.traffic import TrafficRecords
from planner.formats.files import read_text, resource_root


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class LitellmSpendLog(_Row):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    startTime: datetime | None = None  # noqa: N815 — litellm's column name
    model: str = ""


class _CachedDetails(_Row):
    cached_tokens: int | None = Field(None, ge=0)


class _Usage(_Row):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    prompt_tokens_details: _CachedDetails | None = None


class OpenAICompletion(_Row):
    created: datetime | None = None
    model: str = ""
    usage: _Usage


class _UsageResult(_Row):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    input_cached_tokens: int | None = Field(None, ge=0)
    num_model_requests: int = Field(ge=0)
    model: str | None = None


class OpenAIUsageBucket(_Row):
    start_time: datetime
    results: list[_UsageResult]


class PlainRow(_Row):
    prompt_tokens: int = Field(ge=0, validation_alias="tokens_in")
    completion_tokens: int = Field(ge=0, validation_alias="tokens_out")
    timestamp: datetime | None = None
    cached_tokens: int | None = Field(None, ge=0)
    model: str = ""


def _unix(t: datetime | None) -> float:
    if t is None:
        return float("nan")
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _kind(row: dict[str, Any]) -> str:
    if "usage" in row and isinstance(row["usage"], dict):
        return "openai-completions"
    if row.get("object") in ("page", "bucket") or "results" in row:
        return "openai-usage"
    if "startTime" in row:
        return "litellm"
    if {"prompt_tokens", "completion_tokens"} <= row.keys() or {"tokens_in", "tokens_out"} <= row.keys():
        return "table"
    raise InputError(f"unrecognised row with fields {sorted(row)[:8]}: expected a litellm spend log, OpenAI completions or usage "
                     "records, or a table with prompt_tokens and completion_tokens")


def _rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
        return [{k: (None if v == "" else v) for k, v in r.items() if k is not None} for r in rows]
    stripped = text.lstrip()
    if stripped.startswith("[") or (stripped.startswith("{") and "\n{" not in stripped):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); give a CSV, a JSON array or JSON lines") from None
        return data if isinstance(data, list) else [data]
    rows = []
    for i, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: line {i}: not JSON ({exc.msg}); each line must be one JSON object") from None
    return rows


def _fail(path: Path, row: int, exc: ValidationError) -> InputError:
    e = exc.errors()[0]
    where = ".".join(str(x) for x in e["loc"]) or "row"
    return InputError(f"{path}: row {row}: field '{where}': {e['msg'].lower()} (got {e.get('input')!r}); fix or remove the row")


class TrafficPreset(BaseModel):
    """A row of data/traffic/presets.csv: a published trace shipped as a usage log."""

    model_config = ConfigDict(extra="forbid")
    name: str
    file: str
    what: str
    source: str
    licence: str
    commit: str
    rows: int = Field(gt=0)


def traffic_presets() -> dict[str, TrafficPreset]:
    """The shipped traces by name (data/traffic/presets.csv)."""
    path = resource_root() / "data" / "traffic" / "presets.csv"
    rows = list(csv.DictReader(read_text(path, "traffic presets", missing=DataError).splitlines()))
    try:
        return {r["name"]: TrafficPreset.model_validate(r) for r in rows}
    except ValidationError as exc:
        raise DataError(f"{path}: {exc.errors()[0]['msg']}") from None


def read_traffic(path: str | Path) -> TrafficRecords:
    """Read a usage log (see the module docstring), or a preset by name; the format is recognised from the first row's
    fields."""
    path, preset = Path(path), None
    if not path.is_file():
        presets = traffic_presets()
        preset = presets.get(str(path))
        if preset is None:
            raise InputError(f"{path}: no such file, nor a traffic preset ({', '.join(presets)}; `llm-planner traffic presets`)")
        path = resource_root() / "data" / "traffic" / preset.file
    raw = _rows(path)
    if not raw:
        raise InputError(f"{path}: no rows")
    if not isinstance(raw[0], dict):
        raise InputError(f"{path}: row 1: expected an object with named fields")
    kind = _kind(raw[0])
    t_in, t_out, n, cached, when, models = [], [], [], [], [], []
    for i, row in enumerate(raw, start=1):
        if not isinstance(row, dict):
            raise InputError(f"{path}: row {i}: expected an object with named fields")
        try:
            if kind == "openai-usage":
                for bucket in (row.get("data") or [row]) if row.get("object") == "page" else [row]:
                    b = OpenAIUsageBucket.model_validate(bucket)
                    for r in b.results:
                        if r.num_model_requests == 0:
                            continue
                        k = r.num_model_requests
                        t_in.append(r.input_tokens / k), t_out.append(r.output_tokens / k), n.append(k)
                        cached.append(np.nan if r.input_cached_tokens is None else r.input_cached_tokens / k)
                        when.append(_unix(b.start_time)), models.append(r.model or "")
                continue
            if kind == "openai-completions":
                c = OpenAICompletion.model_validate(row)
                details = c.usage.prompt_tokens_details
                values = (c.usage.prompt_tokens, c.usage.completion_tokens,
                          np.nan if details is None or details.cached_tokens is None else details.cached_tokens, _unix(c.created), c.model)
            elif kind == "litellm":
                s = LitellmSpendLog.model_validate(row)
                values = (s.prompt_tokens, s.completion_tokens, np.nan, _unix(s.startTime), s.model)
            else:
                p = PlainRow.model_validate(row)
                values = (p.prompt_tokens, p.completion_tokens, np.nan if p.cached_tokens is None else p.cached_tokens,
                          _unix(p.timestamp), p.model)
        except ValidationError as exc:
            raise _fail(path, i, exc) from None
        if not np.isnan(values[2]) and values[2] > values[0]:
            raise InputError(f"{path}: row {i}: {values[2]:.0f} cached tokens of {values[0]} prompt tokens; a cache serves at most "
                             "the prompt")
        t_in.append(values[0]), t_out.append(values[1]), n.append(1), cached.append(values[2]), when.append(values[3])
        models.append(values[4])
    if not n:
        raise InputError(f"{path}: no requests (every bucket is empty)")
    return TrafficRecords(np.asarray(t_in, float), np.asarray(t_out, float), np.asarray(n, float), np.asarray(cached, float),
                          np.asarray(when, float), tuple(models), kind != "openai-usage",
                          f"{path.name} ({kind})" if preset is None else f"preset {preset.name} ({preset.source}; {preset.licence})")

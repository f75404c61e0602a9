"""Profile files: atomic writes, and reads that refuse other schema versions or damaged files with the fix."""
from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from planner.core.errors import DataError, MeasurementError
from planner.core.records import PROFILE_KIND, SCHEMA_VERSION, AnyProfile, Profile
from planner.formats.files import atomic_write_text, parse_json, read_text

_ADAPTER: TypeAdapter = TypeAdapter(AnyProfile)
_ENGINE_ONLY = ("prefill", "decode", "latency", "threads_sweep", "gpu_layers_sweep", "concurrency_sweep")
_UNKNOWN_AS_ZERO = {"sha256": "", "size_bytes": 0, "n_params": 0, "tensor_bytes": 0, "bits_per_weight": 0.0,
                    "architecture": "unknown", "quant_label": "unknown"}


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found in a profile or one of its records, as "field 'x.y' <why> (got <value>)"."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    if len(loc) > 1 and loc[0] in ("engine", "serving"):  # the union's tag, not a field of the file
        loc = loc[1:]
    where = ".".join(str(p) for p in loc)
    value = first.get("input")
    got = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    return f"field '{where}' {first['msg'].lower()}{got}"


def migrate_v1(raw: dict) -> dict:
    """Version 1 files (one type for both kinds; unknown values stored as 0 or "") read as version 2."""
    raw = dict(raw, schema_version=2)
    serving = bool(raw.get("serving"))
    raw["profile_type"] = "serving" if serving else "engine"
    for key in (_ENGINE_ONLY if serving else ("serving",)):
        raw.pop(key, None)
    if isinstance(raw.get("model"), dict):
        model = dict(raw["model"])
        for key, zero in _UNKNOWN_AS_ZERO.items():
            if model.get(key) == zero:
                model[key] = None
        raw["model"] = model
    return raw


_SCHEDULER_KEYS = ("max_num_seqs", "max_num_batched_tokens", "block_size", "chunked_prefill")


def migrate_v2(raw: dict) -> dict:
    """Version 2 files read as version 3: the scheduler limits vLLM reported, llama.cpp's n_batch and the batched-decode
    output length move from `settings.extra` (an untyped dict) to typed fields; what was not recorded stays None."""
    raw = dict(raw, schema_version=3)
    if raw.get("profile_type") != "engine":
        return raw
    settings = dict(raw.get("settings") or {})
    extra = settings.get("extra") or {}
    engine = dict(raw.get("engine") or {})
    def positive(v) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v > 0
    gen = extra.get("concurrency_gen_tokens", extra.get("gen_tokens") if engine.get("name") == "vllm" else None)
    if positive(gen) and settings.get("concurrency_gen_tokens") is None:
        settings["concurrency_gen_tokens"] = gen
    if engine.get("n_batch") is None and positive(extra.get("n_batch")):
        engine["n_batch"] = extra["n_batch"]
    if engine.get("name") == "vllm" and engine.get("scheduler") is None:
        sched = {k: extra[k] for k in _SCHEDULER_KEYS if k in extra and (positive(extra[k]) or isinstance(extra[k], bool))}
        engine["scheduler"] = sched or None
    return dict(raw, settings=settings, engine=engine)


def save_profile(profile: Profile, path: str | Path) -> Path:
    """Write atomically — and only what `load_profile` will read back: the text is validated before it is written."""
    text = profile.model_dump_json(indent=2)
    try:
        _ADAPTER.validate_json(text)
    except ValidationError as exc:
        raise MeasurementError(f"refusing to write {path}: {first_error(exc)} — the measurement is not physical; "
                               "earlier versions of the file are untouched") from None
    written = atomic_write_text(path, text + "\n")
    profile._path = written
    return written


def load_profile(path: str | Path) -> Profile:
    """Read a profile; files from another schema version are refused with the fix."""
    path = Path(path)
    text = read_text(path, "profile", "run `llm-planner profile` or pass an existing file", missing=DataError)
    raw = parse_json(text, f"profile {path}")
    if not isinstance(raw, dict) or raw.get("kind") != PROFILE_KIND:
        raise DataError(f"{path.name} is not an llm-planner profile (field 'kind' must be '{PROFILE_KIND}')")
    version = raw.get("schema_version")
    if version == 1:
        raw = migrate_v1(raw)
    if raw.get("schema_version") == 2:
        raw = migrate_v2(raw)
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise DataError(
            f"{path.name} has schema_version {version!r}; this llm-planner reads versions 1 to {SCHEMA_VERSION} — re-run `llm-planner profile` to regenerate it"
        )
    try:
        profile = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise DataError(f"{path.name}: {first_error(exc)} — the file is damaged or hand-edited; re-run the profile") from None
    except RecursionError:
        raise DataError(f"{path.name}: nested too deeply to be a profile — the file is damaged; re-run the profile") from None
    profile._path = path
    return profile

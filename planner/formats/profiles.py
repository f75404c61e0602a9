"""Profile files: atomic writes, and reads that refuse other schema versions or damaged files with the fix."""
from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from planner.core.errors import DataError, InputError, MeasurementError
from planner.core.records import PROFILE_KIND, SCHEMA_VERSION, AnyProfile, Profile
from planner.formats.files import atomic_write_text, parse_json, read_text

_ADAPTER: TypeAdapter = TypeAdapter(AnyProfile)
_ENGINE_ONLY = ("prefill", "decode", "latency", "threads_sweep", "gpu_layers_sweep", "concurrency_sweep")
_UNKNOWN_AS_ZERO = {"sha256": "", "size_bytes": 0, "n_params": 0, "tensor_bytes": 0, "bits_per_weight": 0.0,
                    "architecture": "unknown", "quant_label": "unknown"}


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = list(first["loc"])
    if len(loc) > 1 and loc[0] in ("engine", "serving"):  # the union's tag, not a field of the file
        loc = loc[1:]
    where = ".".join(str(p) for p in loc)
    return f"field '{where}' {first['msg'].lower()}"


def migrate_v1(raw: dict) -> dict:
    """Version 1 files (one type for both kinds; unknown values stored as 0 or "") read as version 2."""
    raw = dict(raw, schema_version=SCHEMA_VERSION)
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


def save_profile(profile: Profile, path: str | Path) -> Path:
    """Write atomically — and only what `load_profile` will read back: the text is validated before it is written."""
    text = profile.model_dump_json(indent=2)
    try:
        _ADAPTER.validate_json(text)
    except ValidationError as exc:
        raise MeasurementError(f"refusing to write {path}: {_first_error(exc)} — the measurement is not physical; "
                               "earlier versions of the file are untouched") from None
    written = atomic_write_text(path, text + "\n")
    profile._path = written
    return written


def load_profile(path: str | Path) -> Profile:
    """Read a profile; files from another schema version are refused with the fix."""
    path = Path(path)
    try:
        text = read_text(path, "profile", "run `llm-planner profile` or pass an existing file")
    except InputError as exc:
        raise DataError(str(exc)) from None
    raw = parse_json(text, f"profile {path}")
    if not isinstance(raw, dict) or raw.get("kind") != PROFILE_KIND:
        raise DataError(f"{path.name} is not an llm-planner profile (field 'kind' must be '{PROFILE_KIND}')")
    version = raw.get("schema_version")
    if version == 1:
        raw = migrate_v1(raw)
    elif version != SCHEMA_VERSION:
        raise DataError(
            f"{path.name} has schema_version {version!r}; this llm-planner reads versions 1 and {SCHEMA_VERSION} — re-run `llm-planner profile` to regenerate it"
        )
    try:
        profile = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise DataError(f"{path.name}: {_first_error(exc)} — the file is damaged or hand-edited; re-run the profile") from None
    except RecursionError:
        raise DataError(f"{path.name}: nested too deeply to be a profile — the file is damaged; re-run the profile") from None
    profile._path = path
    return profile

"""Capacity-validation result files (`benchmarks/capacity_vs_measured.py` writes them): read, and turned into the
sentence a plan prints beside its predicted capacity."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import ValidationError

from planner.core.engines import simulated_engine
from planner.core.errors import DataError
from planner.core.records import EngineProfile, Profile
from planner.core.validation import (
    VALIDATION_KIND,
    CapacityValidation,
    EngineCalibration,
    ModelError,
    ServerCalibration,
    model_error,
    validation_note,
)
from planner.formats.files import resource_root

RESULTS_DIR = resource_root() / "benchmarks" / "results"


def load_validation(path: str | Path) -> CapacityValidation:
    path = Path(path)
    try:
        return CapacityValidation.model_validate(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        raise DataError(f"{path.name}: not a readable capacity-validation result ({type(exc).__name__}); re-run "
                        "benchmarks/capacity_vs_measured.py") from None


@lru_cache(maxsize=8)
def validations(results_dir: Path = RESULTS_DIR) -> tuple[tuple[CapacityValidation, Path], ...]:
    """Every capacity-validation result in the folder (`*-validation-*.json`; files of another kind, such as the GPU
    fit's `gpu-validation-*`, are not ones), read once. A damaged one is a DataError naming it."""
    found = []
    for f in sorted(Path(results_dir).glob("*-validation-*.json")):
        try:
            kind = json.loads(f.read_text()).get("kind")
        except (OSError, json.JSONDecodeError, AttributeError):
            kind = VALIDATION_KIND  # unreadable: let load_validation say so
        if kind == VALIDATION_KIND:
            found.append((load_validation(f), f))
    return tuple(found)


def quoted_validation(key: str, cpu_model: str | None, results_dir: Path = RESULTS_DIR
                      ) -> tuple[CapacityValidation, EngineCalibration, Path] | None:
    """The result a plan quotes for engine `key`: one run on `cpu_model` when there is one (its server calibration then
    applies), and of those the one whose measured rates bracketed the SLO for the most of this engine's workloads —
    the newest of equals. Why the broadest rather than the newest: a later partial run (a recalibration experiment,
    a re-run of three workloads) must not stand in for a whole suite's error. None: the engine was never validated."""
    cands = [(v, v.for_engine(key), f) for v, f in validations(Path(results_dir))]
    cands = [c for c in cands if c[1] is not None]
    if not cands:
        return None
    return max(cands, key=lambda c: (c[0].machine.cpu_model == cpu_model, c[1].n_with_measured_rate or 0, c[0].created_at))


def engine_key(profile: Profile) -> str | None:
    """Which validated server an engine profile's capacity is simulated as (None: a serving profile, measured)."""
    if not isinstance(profile, EngineProfile):
        return None
    simulated = simulated_engine(profile.engine.name)
    return simulated.validation_key if simulated else None


def validation_for(profile: Profile, results_dir: Path = RESULTS_DIR
                   ) -> tuple[str | None, ModelError | None, EngineCalibration | None, ServerCalibration | None]:
    """(the sentence for the plan, the held-out error of the model variant it uses, the engine's validation record, the
    server calibration to apply).

    The calibration applies only to a CPU profile measured on the machine model the validation ran on (a server's
    overheads are properties of that machine); on another CPU the plan uses the engine model alone and quotes its
    error. A validation on CPUs says nothing of a GPU: there the plan says "not validated on this hardware" and shows no
    figure. (None, None, None, None) for a measured serving profile.
    """
    key = engine_key(profile)
    if key is None:
        return None, None, None, None
    found = quoted_validation(key, None if profile.hardware.gpus else profile.hardware.cpu_model, Path(results_dir))
    cal = found[1] if found else None
    same_machine = bool(found and not profile.hardware.gpus and profile.hardware.cpu_model == found[0].machine.cpu_model)
    server = ServerCalibration.of(cal) if same_machine and cal else None
    note = validation_note(cal, found[2].name if found else "", calibrated=server is not None)
    error = model_error(cal, calibrated=server is not None)
    if found and cal is not None and profile.on_gpu != bool(found[0].machine.gpus):
        where = found[0].machine.gpus[0].name if found[0].machine.gpus else found[0].machine.cpu_model
        measured_on = profile.hardware.gpus[0].name if profile.on_gpu else profile.hardware.cpu_model
        return (f"not validated on this hardware: the {cal.engine} capacity model was validated on {where} only, and no measurement "
                f"on {measured_on} checks it ({note})"), None, cal, None
    if found and cal is not None and not same_machine:
        note += f"; measured on {found[0].machine.cpu_model}, not on this profile's hardware"
    return note, error, cal, server

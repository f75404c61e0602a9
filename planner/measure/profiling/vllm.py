"""Profiles through vLLM's offline engine (GPU machines with the `gpu` extra): same schema as llama.cpp profiles."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tqdm.auto import tqdm

from planner import __version__
from planner.core.records import ConcurrencyPoint, DecodePoint, EngineInfo, EngineProfile, ModelInfo, PrefillPoint, Profile, ProfileSettings
from planner.core.stats import summarize
from planner.formats.profiles import save_profile
from planner.measure.engines.vllm import VllmEngine, VllmSettings, decode_rates
from planner.measure.probes.hardware import fingerprint
from planner.measure.probes.nvml import Nvml
from planner.measure.probes.telemetry import MemorySampler


def model_info_from_config(model: str) -> ModelInfo:
    """Architecture numbers from a local config.json when there is one; the name alone otherwise."""
    cfg_path = Path(model) / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    heads = cfg.get("num_attention_heads")
    return ModelInfo(
        file_name=Path(model).name, sha256=None, size_bytes=None, name=model, architecture=(cfg.get("architectures") or [None])[0],
        quant_label=cfg.get("torch_dtype"), n_params=None, tensor_bytes=None, bits_per_weight=None,
        n_layers=cfg.get("num_hidden_layers"), d_model=cfg.get("hidden_size"), n_heads=heads,
        n_kv_heads=cfg.get("num_key_value_heads", heads), head_dim=cfg.get("head_dim") or (cfg["hidden_size"] // heads if heads else None),
        ffn_dim=cfg.get("intermediate_size"), vocab_size=cfg.get("vocab_size"), context_length=cfg.get("max_position_embeddings"),
        n_experts=cfg.get("num_local_experts"), n_experts_active=cfg.get("num_experts_per_tok"),
    )


def profile_vllm(settings: VllmSettings, *, out_path: str | Path, prompt_tokens: int = 512, gen_tokens: int = 128,
                 concurrency: tuple[int, ...] = (1, 8, 32, 64), reps: int = 3, progress: bool = True) -> Profile:
    engine = VllmEngine(settings)
    with Nvml() as nvml:
        sampler = MemorySampler(nvml=nvml).start()
        profile = EngineProfile(
            created_at=datetime.now(UTC), tool_version=__version__, status="partial", model=model_info_from_config(settings.model),
            engine=EngineInfo(name="vllm", version=engine.version, backend="cuda"), hardware=fingerprint(),
            settings=ProfileSettings(warmup_runs=1, min_reps=reps, max_reps=reps, target_ci_pct=0.0, time_budget_s=0.0,
                                     extra={"load_format": settings.load_format, "prompt_tokens": prompt_tokens, "gen_tokens": gen_tokens}),
            notes=[f"vLLM offline engine, load_format={settings.load_format}" + (" (random weights: speed and memory only)" if settings.load_format == "dummy" else "")],
        )
        engine.timed_generate(1, prompt_tokens, 2)  # warm-up: CUDA graphs, allocator
        pp, tg = [], []
        for _ in range(reps):
            t1 = engine.timed_generate(1, prompt_tokens, 1)
            pp.append(prompt_tokens / t1)
            tg.append(decode_rates(t1, engine.timed_generate(1, prompt_tokens, 1 + gen_tokens), 1, gen_tokens))
        profile.prefill.append(PrefillPoint(prompt_tokens=prompt_tokens, tok_s=summarize(pp, "tok/s")))
        profile.decode.append(DecodePoint(context_depth=prompt_tokens, gen_tokens=gen_tokens, tok_s=summarize(tg, "tok/s")))
        for c in tqdm(concurrency, desc="vLLM batch sizes", disable=not progress):
            agg, step, pre = [], [], []
            for _ in range(reps):
                t1 = engine.timed_generate(c, prompt_tokens, 1)
                rate = decode_rates(t1, engine.timed_generate(c, prompt_tokens, 1 + gen_tokens), c, gen_tokens)
                agg.append(rate)
                step.append(1000 * c / rate)
                pre.append(1000 * t1)
            profile.concurrency_sweep.append(ConcurrencyPoint(
                concurrency=c, context_depth=prompt_tokens, aggregate_decode_tok_s=summarize(agg, "tok/s"),
                per_stream_decode_tok_s=summarize([a / c for a in agg], "tok/s"), step_latency_ms=summarize(step, "ms"),
                prefill_ms=summarize(pre, "ms")))
            save_profile(profile, out_path)
        sampler.stop()
        profile.memory = sampler.usage()
    profile.status = "complete"
    save_profile(profile, out_path)
    return profile

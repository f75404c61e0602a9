"""`llm-planner serve-profile`: load-test an OpenAI-compatible server and write a serving profile.

Either starts a server here on loopback (`--engine`, one of the engines in `planner.core.engines`) or measures an existing server
or hosted API (`--url`).
"""
from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import typer

from planner.app.cli.options import Oversubscribe, check_threads
from planner.core.engines import ENGINES
from planner.core.engines import engine as engine_row
from planner.core.errors import InputError, UntrustworthyMeasurement
from planner.formats.files import dated_name, existing_file, new_output

MAX_CONCURRENCY = 4096  # open streams one client process can hold; beyond it the client, not the server, is measured
MAX_RATE_PER_S = 10_000.0  # Poisson arrivals one asyncio client can keep to schedule


def _levels(text: str, option: str) -> tuple[float, ...]:
    """Load levels, checked before any server starts: concurrencies are whole numbers of streams, rates finite."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"{option}: expected comma-separated numbers like 1,2,4 (got {text!r})") from None
    if not values or not all(0 < v < math.inf for v in values):
        raise InputError(f"{option}: levels must be positive finite numbers (got {text!r})")
    if option == "--concurrency":
        if not all(v.is_integer() for v in values):
            raise InputError(f"--concurrency: whole numbers of requests in flight, like 1,2,4 (got {text!r})")
        if max(values) > MAX_CONCURRENCY:
            raise InputError(f"--concurrency: at most {MAX_CONCURRENCY:,} requests in flight from one client (got {max(values):g})")
    elif max(values) > MAX_RATE_PER_S:
        raise InputError(f"--rate: at most {MAX_RATE_PER_S:,.0f} requests/s from one client (got {max(values):g})")
    return values


def _line(lvl) -> str:
    ttft = f"{lvl.ttft_ms.p95:.0f} ms" if lvl.ttft_ms else "n/a"
    good = f", goodput {lvl.goodput_request_s:.2f} req/s" if lvl.slo else ""
    errors = f" ({', '.join(f'{k} {v}' for k, v in lvl.errors.items())})" if lvl.errors else ""
    return (f"{lvl.mode} {lvl.target:g}: {lvl.request_s:.2f} req/s, {lvl.output_tok_s:.1f} output tok/s, TTFT p95 {ttft}{good}; "
            f"sent {lvl.sent} = ok {lvl.succeeded} + failed {lvl.failed} + timed out {lvl.timed_out}{errors}")


SERVER_ENGINES = tuple(e.name for e in ENGINES.values() if e.server_name)


def serve_profile(
    engine: str | None = typer.Option(None, help="start a server here on loopback: " + "; ".join(f"{e.name} ({e.note})" for e in ENGINES.values()
                                                                                                 if e.server_name)),
    model: Path | None = typer.Option(None, help="model served: a GGUF (vllm converts it to an HF folder) or an HF folder (vllm); "
                                                "default: the embedded model. With --url it describes the model"),
    url: str | None = typer.Option(None, help="existing OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1"),
    api_key_env: str | None = typer.Option(None, "--api-key-env", help="environment variable holding the API key (never written)"),
    model_name: str | None = typer.Option(None, "--model-name", help="model name sent in requests (default: the only one at /models)"),
    server_kind: str | None = typer.Option(None, "--server-kind", help="recorded as engine.backend: llama-server, vllm, api, ..."),
    chat: bool = typer.Option(False, "--chat/--completions", help="/chat/completions instead of /completions"),
    concurrency: str | None = typer.Option(None, help="concurrency levels (default 1,2,4,8)"),
    rate: str | None = typer.Option(None, help="Poisson arrival rates in requests/s, instead of concurrency levels"),
    requests: int = typer.Option(32, help="requests at most per level"),
    duration: float = typer.Option(120.0, help="seconds at most per level (no request starts later)"),
    max_tokens: int = typer.Option(32, "--max-tokens", help="output tokens per request"),
    prompt_tokens: int = typer.Option(64, "--prompt-tokens", help="synthetic prompt length, mean (words ≈ tokens)"),
    prompt_std: float = typer.Option(0.0, "--prompt-std", help="synthetic prompt length, standard deviation (log-normal)"),
    prompts_file: Path | None = typer.Option(None, "--prompts", help="JSONL of real prompts: {\"prompt\": ...} or {\"messages\": [...]}"),
    ttft_slo: float | None = typer.Option(None, "--ttft-slo", help="goodput: TTFT limit, seconds"),
    itl_slo: float | None = typer.Option(None, "--itl-slo", help="goodput: per-request ITL p95 limit, seconds"),
    timeout: float = typer.Option(60.0, help="seconds at most per request"),
    full_sweep: bool = typer.Option(False, "--full-sweep", help="run every level, not stopping at the knee"),
    n_ctx: int = typer.Option(2048, "--n-ctx", help="context of the server started here"),
    n_threads: int | None = typer.Option(None, "--n-threads", help="threads of the server started here (default: all cores)"),
    parallel: int = typer.Option(4, "--parallel", help="llama-server: slots decoded together (-np); each gets n_ctx ÷ parallel tokens"),
    kv_cache_gib: float = typer.Option(2.0, "--kv-cache-gib", help="vllm: KV cache size in GiB (VLLM_CPU_KVCACHE_SPACE)"),
    profiles_dir: Path = typer.Option(Path("profiles"), "--profiles-dir", help="where the profile goes"),
    out: Path | None = typer.Option(None, help="profile file to write (default: a dated name under --profiles-dir)"),
    oversubscribe: Oversubscribe = False,
) -> None:
    """Load-test an OpenAI-compatible server (started here, or at --url) and write a serving profile with goodput."""

    from planner.measure.engines.registry import start_server
    from planner.measure.gguf.embedded import embedded_model_path
    from planner.measure.serving.client import Endpoint, served_models
    from planner.measure.serving.metrics import Slo, SweepConfig
    from planner.measure.serving.prompts import jsonl_prompts, synthetic_prompts
    from planner.measure.serving.sweep import serving_profile

    if (engine is None) == (url is None):
        raise InputError(f"give either --engine {'|'.join(SERVER_ENGINES)} (a server started here) or --url (an existing endpoint)")
    row = engine_row(engine, needs="server") if engine is not None else None  # measure other servers with --url
    if not 0 < kv_cache_gib < math.inf or parallel < 1:
        raise InputError(f"--kv-cache-gib / --parallel: must be positive (got {kv_cache_gib:g} / {parallel})")
    if concurrency and rate:
        raise InputError("give --concurrency or --rate, not both")
    if api_key_env is not None and engine is not None:
        raise InputError("--api-key-env: only with --url (a server started here by --engine needs no key); drop it")
    if out is not None:
        new_output(out, "--out")
    for name, value in (("--requests", requests), ("--duration", duration), ("--max-tokens", max_tokens), ("--timeout", timeout),
                        ("--ttft-slo", ttft_slo if ttft_slo is not None else 1), ("--itl-slo", itl_slo if itl_slo is not None else 1),
                        ("--n-threads", n_threads if n_threads is not None else 1), ("--n-ctx", n_ctx),
                        ("--prompt-tokens", prompt_tokens)):
        if not 0 < value < math.inf:  # NaN fails this too
            raise InputError(f"{name}: must be a positive finite number (got {value:g})")
    if engine is not None:
        check_threads([n_threads], "--n-threads", oversubscribe)
    if not 0 <= prompt_std < math.inf:
        raise InputError(f"--prompt-std: must be >= 0 and finite (got {prompt_std:g})")
    takes_folder = row is not None and "hf" in row.model_formats
    if model is not None and not (takes_folder and model.is_dir()):
        existing_file(model, "--model", "pass the path of a .gguf file" + (" or of an HF folder" if takes_folder else ""))
    mode, levels = ("rate", _levels(rate, "--rate")) if rate else ("concurrency", _levels(concurrency or "1,2,4,8", "--concurrency"))
    config = SweepConfig(mode=mode, levels=levels, requests_per_level=requests, max_duration_s=duration, max_tokens=max_tokens,
                         timeout_s=timeout, stop_at_knee=not full_sweep)
    slo = Slo(ttft_slo if ttft_slo is not None else float("inf"), itl_slo if itl_slo is not None else float("inf"))
    prompts = (jsonl_prompts(prompts_file, chat=chat) if prompts_file else
               synthetic_prompts(min(requests * len(levels), 10_000), mean_tokens=prompt_tokens, std_tokens=prompt_std,
                                 distribution="lognormal", chat=chat))
    started = datetime.now(UTC)

    def path_for(label: str, backend: str) -> Path:
        return out or profiles_dir / dated_name(label, backend, mode, when=started)

    if row is not None:
        served = model or embedded_model_path()
        longest = max(p.approx_tokens for p in prompts)
        slots = row.scheduler == "slots"  # the context is split between the slots
        per_sequence = n_ctx // parallel if slots else n_ctx
        if 1.5 * longest + max_tokens + 32 > per_sequence:  # words undercount tokens; chat templates add some
            raise InputError(f"--n-ctx {n_ctx}: too small for prompts of up to {longest} words plus {max_tokens} output tokens"
                             + (f" in each of {parallel} slots ({per_sequence} tokens each)" if slots else ""))
        server, info = start_server(row, served, n_ctx=n_ctx, n_threads=n_threads, parallel=parallel, kv_cache_gib=kv_cache_gib)
        with server:
            path = path_for(served.name.split(".gguf")[0], server.name)
            result = serving_profile(Endpoint(server.base_url, server.model_alias, chat=chat), prompts, config, out_path=path, slo=slo,
                                     backend=server.name, model_path=None if info else served, model=info, server_notes=server.notes,
                                     engine_version=server.version, n_ctx=n_ctx, n_threads=server.n_threads,
                                     on_level=lambda lvl: typer.echo(_line(lvl)))
    else:
        endpoint = Endpoint(url, model_name or "unset", chat=chat, api_key_env=api_key_env)
        if model_name is None:
            names = served_models(endpoint)
            if len(names) != 1:
                raise InputError(f"--model-name: the server lists {len(names)} models{' (' + ', '.join(names[:5]) + ')' if names else ''}; name one")
            endpoint = Endpoint(url, names[0], chat=chat, api_key_env=api_key_env)
        backend = server_kind or ("openai-compatible" if endpoint.is_loopback else "api")
        path = path_for(model.stem if model else endpoint.model, backend)
        result = serving_profile(endpoint, prompts, config, out_path=path, slo=slo, backend=backend, model_path=model,
                                 on_level=lambda lvl: typer.echo(_line(lvl)))
    knee = result.settings.extra.get("knee_target")
    typer.echo(f"profile: {path} ({result.status}){f'; knee at {mode} {knee:g}' if knee is not None else ''}")
    if not any(lvl.succeeded for lvl in result.serving):
        raise UntrustworthyMeasurement(f"no request succeeded (see the error counts above); {path} is kept for the record but measures nothing")
    if result.status != "complete":
        raise UntrustworthyMeasurement(f"the sweep did not finish ({result.notes[-1]}); {path} holds the finished levels, status partial")


app = typer.Typer()
app.command("serve-profile")(serve_profile)

"""Profiles: real measurements of the embedded model, the schema round trip, bad files, interruption, memory fit."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from planner.core.errors import DataError, InputError, SetupError
from planner.formats.profiles import load_profile, save_profile
from planner.measure.gguf.meta import read_model_info
from planner.measure.profiling.llama_cpp import ProfileConfig, check_memory_fits


def test_profile_has_every_section(tiny_profile):
    p, path = tiny_profile
    assert p.status == "complete"
    assert [q.prompt_tokens for q in p.prefill] == [32, 64] and all(q.tok_s.mean > 0 and q.tok_s.n >= 2 for q in p.prefill)
    assert [d.context_depth for d in p.decode] == [0, 64] and p.decode_tok_s > 0
    lat = p.latency[0]
    assert lat.ttft_ms.mean > 0 and lat.itl_ms.n == 5 * lat.ttft_ms.n and lat.itl_ms.p99 >= lat.itl_ms.median
    assert [t.n_threads for t in p.threads_sweep] == [1]
    assert [c.concurrency for c in p.concurrency_sweep] == [1, 4]
    assert p.memory.peak_rss_bytes > p.memory.baseline_rss_bytes
    assert p.energy is not None and (p.energy.source is not None or p.energy.unavailable_reason)
    assert p.hardware.memory_bandwidth_gb_s > 0 and p.hardware.logical_cores >= 1
    assert p.model.quant_label == "Q4_1" and len(p.model.sha256) == 64
    assert p.engine.threadpool_poll == 50  # llama-bench's persistent polling threadpool by default


def test_profile_round_trips(tiny_profile, tmp_path):
    p, path = tiny_profile
    again = load_profile(path)
    assert again.model_dump() == p.model_dump() and again.saved_path == path
    save_profile(again, tmp_path / "copy.json")
    copy = load_profile(tmp_path / "copy.json")
    assert copy.model_dump() == p.model_dump() and copy.saved_path == tmp_path / "copy.json"


def test_old_schema_is_rejected_with_the_fix(tiny_profile, tmp_path):
    raw = json.loads(tiny_profile[1].read_text())
    raw["schema_version"] = 0
    (tmp_path / "old.json").write_text(json.dumps(raw))
    with pytest.raises(DataError, match="schema_version 0.*re-run"):
        load_profile(tmp_path / "old.json")


def test_damaged_field_is_named(tiny_profile, tmp_path):
    raw = json.loads(tiny_profile[1].read_text())
    raw["prefill"][0]["tok_s"]["mean"] = "fast"
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(DataError, match=r"prefill\.0\.tok_s\.mean"):
        load_profile(tmp_path / "bad.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_profile(tmp_path / "junk.json")


def test_memory_fit_refuses_with_numbers(embedded_path):
    model = read_model_info(embedded_path, sha256="x" * 64)
    assert "GiB" in check_memory_fits(model, 2048, n_gpu_layers=0)
    with pytest.raises(SetupError, match=r"needs about .* GiB .* KV cache .* available RAM"):
        check_memory_fits(model, 50_000_000, n_gpu_layers=0)


@pytest.mark.parametrize("kwargs,field", [(dict(prompt_lengths=(0,)), "--prompts"), (dict(min_reps=1), "min_reps"),
                                          (dict(concurrency=(-2,)), "--concurrency"), (dict(decode_depths=()), "--depths")])
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(InputError, match=field):
        ProfileConfig(**kwargs).validate()


def test_ctrl_c_leaves_a_valid_partial_profile(tmp_path, embedded_path):
    """SIGINT a real `llm-planner profile` after its first finished test: the file must load, marked partial."""
    out = tmp_path / "interrupted.json"
    proc = subprocess.Popen([sys.executable, "-m", "planner", "profile", str(embedded_path), "--out", str(out), "--concurrency", "1,2",
                             "--no-threadpool"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 240
    while time.time() < deadline:
        if out.exists():
            try:
                if json.loads(out.read_text())["prefill"]:
                    break
            except (json.JSONDecodeError, KeyError):
                pass
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err  # interrupted (documented exit status), not "bad input"
    assert "interrupted (Ctrl-C): the finished tests are saved in" in err and "Traceback" not in err
    partial = load_profile(out)
    assert partial.status == "partial" and partial.prefill
    assert partial.engine.threadpool_poll is None  # --no-threadpool: llama-cpp-python's own per-decode threadpool

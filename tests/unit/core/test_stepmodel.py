"""planner/core/stepmodel.py: the step model's fit recovers known coefficients and names what lies outside its range."""
import pytest

from planner.core.records import ConcurrencyPoint, DecodePoint, PrefillPoint
from planner.core.stepmodel import fit_step_model
from tests.factories import flat, make_profile


def test_step_model_recovers_known_coefficients():
    a, b, c, d, e, r = 0.004, 0.002, 2e-6, 5e-4, 1e-7, 0.01  # s, s/seq, s/KV token, s/prompt token, s/attention pair, s/request
    prof = make_profile()
    prof.settings.concurrency_gen_tokens, prof.engine.n_batch = 32, 4096  # typed fields (profile schema v3), not `extra`
    prof.decode = [DecodePoint(context_depth=depth, gen_tokens=64, tok_s=flat(1 / (a + b + c * (depth + 32)))) for depth in (0, 1024, 4096)]
    prof.prefill = [PrefillPoint(prompt_tokens=n, tok_s=flat(n / (a + d * n + e * n * n / 2 + r))) for n in (128, 512, 2048)]
    prof.concurrency_sweep = [ConcurrencyPoint(
        concurrency=k, context_depth=128, aggregate_decode_tok_s=flat(k / (a + b * k + c * k * 144)), per_stream_decode_tok_s=flat(1.0),
        step_latency_ms=flat(1.0, "ms"), prefill_ms=flat(1000 * (a + d * 128 * k + e * k * 128 ** 2 / 2 + r * k), "ms")) for k in (1, 4, 16)]
    m = fit_step_model(prof)
    assert (m.overhead_s, m.per_seq_s, m.per_kv_token_s, m.per_prefill_token_s, m.per_prefill_pair_s, m.per_request_s) == pytest.approx(
        (a, b, c, d, e, r), rel=1e-6)
    assert m.fit_rms_pct < 1e-6 and m.measured_batch == 16 and m.measured_prompt == 2048
    assert m.outside_range(4096, 128) == ["prompt 4,096 tokens > longest measured prefill 2,048",
                                          "context 4,224 tokens > deepest measured decode 4,160"]

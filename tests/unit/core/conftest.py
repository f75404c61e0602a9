"""What several core test files share: a hand-made serving profile and prices with round numbers (test_plan,
test_uncertainty); model cards and a GPU with round numbers (test_deploy, test_fleet)."""
from planner.core.cards import ModelCard
from planner.core.deploy import Device
from planner.core.plan import PriceChoice, Workload
from planner.core.rows import Provenance
from tests.factories import make_serving_profile


def measured(rps: float = 0.4):
    prof = make_serving_profile({1: rps})
    for level in prof.serving:
        level.prompt_tokens_mean, level.output_tokens_mean = 500.0, 100.0
    return prof


PROV = Provenance("test", "row", "hand-made for the test", "2026-01-01")
# $1/h replica; API $1 / $40 per M input / output tokens, cached input $0.10 per M
PRICES = PriceChoice(replica_usd_per_hour=1.0, replica_label="r", replica_provenance=PROV, api_usd_per_input_token=1e-6,
                     api_usd_per_output_token=40e-6, api_usd_per_cached_input_token=1e-7, api_label="api", api_provenance=PROV)
# a serving profile that measured 0.4 req/s at this shape with p95 TTFT 0.1 s and ITL 20 ms: capacity 0.4 req/s at a loose SLO
WORKLOAD = Workload(tokens_in=500, tokens_out=100, requests_per_month=1e6, cached_fraction=0.8, min_replicas=3, peak_to_avg=1,
                    max_utilisation=1, ttft_slo_s=10, itl_slo_s=10)


# an 8 B-parameter GQA model with round numbers (Llama-3-8B-like shape)
CARD = ModelCard("test-8b", n_layers=32, d_model=4096, n_heads=32, n_kv_heads=8, ffn_dim=14336, vocab_size=128256, head_dim=128,
                 params_b=8.0, active_params_b=8.0, context_length=8192)
BIG = ModelCard("test-70b", n_layers=80, d_model=8192, n_heads=64, n_kv_heads=8, ffn_dim=28672, vocab_size=128256, head_dim=128,
                params_b=70.0, active_params_b=70.0, context_length=131072)
NVLINK = Device("H100-like", memory_gib=80, bandwidth_gb_s=3350, tflops=989.5, interconnect="NVLink 4", interconnect_gb_s=900,
                allreduce_latency_s=9.5e-6, allreduce_latency_8gpu_s=10.1e-6)

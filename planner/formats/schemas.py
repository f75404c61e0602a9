"""The catalogs' columns and the default API: plain data, light to import (the CLI's help lists the catalog kinds
without loading pandas). `planner.formats.catalog` reads and validates the files against these."""
from __future__ import annotations

DEFAULT_API_MODEL = "gpt-4o-mini"  # the API a plan compares against when none is named

SCHEMAS: dict[str, dict] = {
    "api_prices": {
        "key": ["model"],
        "numeric": ["input_usd_per_mtok", "output_usd_per_mtok", "cache_read_usd_per_mtok", "cache_write_usd_per_mtok",
                    "batch_input_usd_per_mtok", "batch_output_usd_per_mtok", "max_input_tokens"],
        "required_numeric": ["input_usd_per_mtok", "output_usd_per_mtok"],
        "text": ["provider", "mode"],
        "optional_text": ["open_model", "served_precision"],
    },
    "instances": {
        "key": ["instance"],
        "numeric": ["accelerator_count", "vcpus", "ram_gib", "on_demand_usd_per_hour", "spot_usd_per_hour", "reserved_1y_usd_per_hour"],
        "required_numeric": ["on_demand_usd_per_hour"],
        "positive": ["on_demand_usd_per_hour", "spot_usd_per_hour", "reserved_1y_usd_per_hour", "vcpus", "ram_gib"],
        "text": ["provider", "region", "accelerator"],
    },
    "hardware": {
        "key": ["name"],
        "numeric": ["memory_gib", "memory_bandwidth_gb_s", "fp16_tflops_dense", "bf16_tflops_dense", "int8_tops_dense", "tdp_w"],
        "positive": ["memory_gib", "memory_bandwidth_gb_s", "fp16_tflops_dense", "bf16_tflops_dense", "int8_tops_dense", "tdp_w"],
        "optional_numeric": ["interconnect_gb_s"],
        "required_numeric": [],
        "text": ["kind", "vendor"],
    },
    "api_cache_rules": {
        "key": ["provider"],
        "numeric": ["min_cacheable_tokens", "cache_write_multiplier"],
        "required_numeric": [],
        "text": ["cache_ttl"],
    },
    "interconnects": {
        "key": ["interconnect"],
        "numeric": ["allreduce_latency_us", "allreduce_latency_8gpu_us"],
        "required_numeric": ["allreduce_latency_us"],
        "text": [],
    },
    "onprem": {
        "key": ["hardware"],
        "numeric": ["purchase_usd", "amortisation_years", "power_w", "pue", "usd_per_kwh", "server_power_w_per_gpu"],
        "positive": ["power_w", "server_power_w_per_gpu", "pue"],
        "required_numeric": [],
        "text": ["purchase_includes"],
        "choices": {"purchase_includes": ["server_share", "card"]},  # what the price buys; server_share needs the server's power
    },
    "model_cards": {
        "key": ["name"],
        "numeric": ["params_b", "active_params_b", "n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "ffn_dim",
                    "vocab_size", "n_experts", "n_experts_active", "context_length", "rope_theta", "sliding_window", "licence_mau_limit"],
        "optional_numeric": ["moe_ffn_dim", "n_shared_experts", "first_dense_layers", "kv_lora_rank", "qk_rope_head_dim",
                             "sliding_window_layers", "linear_attention_layers", "linear_state_bytes"],
        "required_numeric": ["n_layers", "d_model", "n_heads", "n_kv_heads", "vocab_size"],
        "positive": ["n_layers", "d_model", "n_heads", "n_kv_heads", "head_dim", "vocab_size", "context_length", "params_b",
                     "linear_state_bytes"],
        "text": ["family", "licence"],
    },
}

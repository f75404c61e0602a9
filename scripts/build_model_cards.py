"""Build data/model_cards.csv from the model configs in data/sources/configs/.

Hugging Face is not reachable from here, so each model's ``config.json`` was read from a public repository that
copies it; the copy is kept byte for byte (or, where the copy was a Python literal, converted to JSON) as
``data/sources/configs/<card name>.json``. ``data/sources/configs/MANIFEST.json`` says, per card, which Hugging Face
repository the config belongs to, where it was read (``owner/repo path @commit``), when, and the parameter counts the
publisher states (with where they were read). ``data/sources/licences.csv`` holds one row per licence (key, URL,
monthly-active-user limit and the clause it comes from). This script reads the three and writes, atomically:

* ``data/model_cards.csv``   one row per model card

Usage::

    python scripts/build_model_cards.py
    python scripts/build_model_cards.py --out /tmp/model_cards.csv

Rows already in the CSV whose name is not in MANIFEST.json are kept as they are (their columns mapped onto the new
column order, new columns left empty); rows whose name is in MANIFEST.json are regenerated. Empty cells mean "does
not apply to this model" (e.g. no experts, no sliding window) or "not stated", never zero.

Column meanings (multimodal configs: the numbers are those of ``text_config``, the language model):

* ``head_dim``            config ``head_dim``, else ``d_model / n_heads``; for MLA (DeepSeek) the query/key head
                          width ``qk_nope_head_dim + qk_rope_head_dim`` (values are ``v_head_dim`` wide).
* ``ffn_dim``             intermediate size of the dense (non-MoE) MLP; for MoE models the config's dense
                          ``intermediate_size`` where it names one (DeepSeek's first dense layers, Llama 4's
                          ``intermediate_size_mlp``, Qwen3-MoE's unused ``intermediate_size``); empty where every
                          layer is MoE and the config's ``intermediate_size`` is the expert size (Mixtral, gpt-oss).
* ``moe_ffn_dim``         intermediate size of one routed expert.
* ``n_experts`` / ``n_experts_active`` / ``n_shared_experts``  routed experts, experts per token, always-on
                          shared experts (empty for dense models).
* ``first_dense_layers``  number of dense (non-MoE) layers of an MoE model: DeepSeek's ``first_k_dense_replace``,
                          Llama 4's layers between MoE layers (``interleave_moe_layer_step`` 2 → every other layer),
                          Qwen3-MoE's ``mlp_only_layers``; 0 when every layer is MoE; empty for dense models.
* ``kv_lora_rank`` / ``qk_rope_head_dim``  MLA (DeepSeek): the KV cache holds ``kv_lora_rank + qk_rope_head_dim``
                          values per token and layer, not ``2 * n_kv_heads * head_dim``.
* ``sliding_window`` / ``sliding_window_layers``  window in tokens and how many of the ``n_layers`` use it:
                          Gemma 3 one global layer in every ``sliding_window_pattern`` (6); gpt-oss from
                          ``layer_types`` (alternating); Llama 4's chunked attention (``attention_chunk_size`` 8192 on
                          the three RoPE layers of every four, the fourth being a global NoPE layer) is recorded as a
                          sliding window, which bounds the KV cache the same way; Mistral-7B-v0.1 on every layer.
* ``linear_attention_layers`` / ``linear_state_bytes``  hybrid linear-attention models (Qwen3.5's Gated DeltaNet): how
                          many of the ``n_layers`` keep a fixed-size recurrent state per sequence instead of a growing KV
                          cache, and that state's bytes per layer per sequence at TP 1 (conv state + SSM state, as vLLM's
                          ``gated_delta_net_state_shape`` sizes it). No config this script reads has such layers, so it
                          leaves both empty; the one row that has them (Qwen3.5-397B-A17B, from
                          ``data/sources/model_configs/``) is written by hand and kept.
* ``context_length``      ``max_position_embeddings`` (rope-scaled where the config's scaling already extends it,
                          e.g. Llama 3.1 131072). Publishers sometimes state less (DeepSeek-V3 128K, Qwen3 32K native
                          / 131K with YaRN); see the model card.
* ``rope_theta``          the (global) RoPE base; Gemma 3's local layers use 10000.
* ``tied_embeddings``     ``tie_word_embeddings`` (model-type default when the config omits it).
* ``params_b`` / ``active_params_b``  billions; the publisher's stated totals from MANIFEST.json where it gives a
                          count (MoE: total and active), else computed from the config. Counts that are only a size
                          label (Llama "8B", "70B") are not taken: the computed value is more precise (Mistral
                          Small 3.1's "24B" is, as it covers the vision encoder the computation leaves out). Computed
                          count = token embeddings (V·d) + output head unless tied (V·d) + final norm (d) + per layer:
                          attention (q d·H·hd, k and v 2·d·KV·hd, o H·hd·d; biases where ``attention_bias``; q/k norms
                          2·hd for Qwen3 and Gemma 3; gpt-oss attention sinks H; MLA: q_a d·r_q + r_q, q_b
                          r_q·H·(nope+rope), kv_a d·(r_kv+rope) + r_kv, kv_b r_kv·H·(nope+v), o H·v·d) + norms (2·d,
                          Gemma 3 4·d) + MLP (dense 3·d·ffn; MoE: router d·E, E experts of 3·d·f, shared experts,
                          gpt-oss expert biases). Active = the same with only ``n_experts_active`` routed experts.
                          Vision encoders and multi-token-prediction layers (DeepSeek's, MiniMax's ``num_mtp_modules``)
                          are not counted.
* MiniMax-M2 (``minimax_m2``) keys: ``num_local_experts`` / ``num_experts_per_tok`` as for Mixtral, every layer MoE
                          with ``intermediate_size`` the expert width; ``shared_intermediate_size`` 0 = no shared expert;
                          ``attn_type_list`` 1 = full softmax attention on that layer (all 62 in M2/M2.5; a 0, MiniMax's
                          lightning/linear attention, has no column and stops the build); ``rotary_dim`` (partial RoPE) has
                          no column; counted: ``qk_norm_type`` "per_layer" q/k norms over the whole projections
                          ((H + KV)·hd) and the router's score-correction bias E where ``use_routing_bias``.
* ``licence`` / ``licence_mau_limit``  key into ``data/sources/licences.csv`` and that row's ``mau_limit``.
* ``source``              "config.json of <hf_repo> read from <owner/repo path @commit8>; params: ...; licence: <url>".
* ``as_of``               the date the config was read (MANIFEST ``read_on``).

The script prints each regenerated card's computed counts next to the published ones as a check.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

from planner.formats.files import atomic_write_csv  # one atomic writer for the package and its data scripts

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "data" / "sources" / "configs"
LICENCES = ROOT / "data" / "sources" / "licences.csv"

COLUMNS = [
    "name", "family", "hf_repo", "params_b", "active_params_b", "n_layers", "d_model", "n_heads", "n_kv_heads",
    "head_dim", "ffn_dim", "moe_ffn_dim", "n_experts", "n_experts_active", "n_shared_experts", "first_dense_layers",
    "kv_lora_rank", "qk_rope_head_dim", "sliding_window", "sliding_window_layers", "linear_attention_layers",
    "linear_state_bytes", "context_length", "rope_theta", "vocab_size", "tied_embeddings", "licence", "licence_mau_limit",
    "source", "as_of",
]

# card-name prefix -> (family, licence key); first match wins, so longer prefixes come first.
FAMILY_LICENCE = [
    ("Llama-2-", "llama2", "llama2"),
    ("Llama-3.1-", "llama3.1", "llama3.1"),
    ("Llama-3.3-", "llama3.3", "llama3.3"),
    ("Llama-4-", "llama4", "llama4"),
    ("Qwen2.5-72B", "qwen2.5", "qwen"),  # Qwen LICENSE AGREEMENT (100M MAU); Qwen2.5-3B is Qwen RESEARCH, not listed
    ("Qwen2.5-", "qwen2.5", "apache-2.0"),
    ("Qwen3-", "qwen3", "apache-2.0"),
    ("Gemma-3-", "gemma3", "gemma"),
    ("Mistral-", "mistral", "apache-2.0"),
    ("Mixtral-", "mixtral", "apache-2.0"),
    ("DeepSeek-V3", "deepseek-v3", "deepseek"),  # original V3 weights: DeepSeek License Agreement (V3-0324 is MIT)
    ("DeepSeek-R1", "deepseek-v3", "mit"),
    ("gpt-oss-", "gpt-oss", "apache-2.0"),
    ("MiniMax-M2.5", "minimax-m2", "minimax-model"),  # LICENSE-MODEL since 2026-03-06 (was Modified-MIT); code is MIT
]

# transformers defaults for keys a config may omit, by text model_type
DEFAULTS = {
    "gemma3_text": {"tie_word_embeddings": True, "sliding_window_pattern": 6, "rope_theta": 1_000_000,
                    "max_position_embeddings": 131072, "vocab_size": 262208, "head_dim": 256},
    "llama4_text": {"tie_word_embeddings": False, "no_rope_layer_interval": 4, "interleave_moe_layer_step": 1},
    "llama": {"rope_theta": 10000.0},  # Llama 2 configs predate the rope_theta key; LlamaConfig's default
}
QK_NORM_TYPES = {"qwen3", "qwen3_moe", "gemma3_text"}  # per-head RMSNorm weights on q and k (Llama 4's is weightless)


def read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def text_config(cfg: dict) -> dict:
    """The language-model part of a config: ``text_config`` merged over the top level for multimodal models."""
    text = dict(cfg.get("text_config") or {})
    if not text:
        return dict(cfg)
    for key in ("tie_word_embeddings",):  # Llama 4 keeps it at the top level
        if key not in text and key in cfg:
            text[key] = cfg[key]
    return text


def with_defaults(t: dict) -> dict:
    out = dict(DEFAULTS.get(t.get("model_type", ""), {}))
    out.update({k: v for k, v in t.items() if v is not None or k not in out})
    out.setdefault("tie_word_embeddings", False)
    return out


def layer_kinds(t: dict) -> list[bool]:
    """One flag per layer: True where the layer's MLP is MoE."""
    n = t["num_hidden_layers"]
    mt = t.get("model_type")
    if not n_experts(t):
        return [False] * n
    if mt in ("deepseek_v3", "deepseek_v2"):
        k, freq = t.get("first_k_dense_replace", 0), t.get("moe_layer_freq", 1)
        return [i >= k and i % freq == 0 for i in range(n)]
    if mt == "llama4_text":
        step = t.get("interleave_moe_layer_step", 1)
        moe = set(t.get("moe_layers") or range(step - 1, n, step))
        return [i in moe for i in range(n)]
    if mt == "qwen3_moe":
        step, dense = t.get("decoder_sparse_step", 1), set(t.get("mlp_only_layers") or [])
        return [i not in dense and (i + 1) % step == 0 for i in range(n)]
    return [True] * n


def n_experts(t: dict) -> int:
    return t.get("num_local_experts") or t.get("n_routed_experts") or t.get("num_experts") or 0


def n_active(t: dict) -> int:
    return t.get("num_experts_per_tok") or t.get("experts_per_token") or 0


def moe_ffn(t: dict) -> int | None:
    if not n_experts(t):
        return None
    return t.get("moe_intermediate_size") or t.get("intermediate_size")


def dense_ffn(t: dict) -> int | None:
    """Intermediate size of the dense MLP (see the docstring for MoE models)."""
    mt = t.get("model_type")
    if not n_experts(t):
        return t.get("intermediate_size")
    if mt == "llama4_text":
        return t.get("intermediate_size_mlp")
    if t.get("moe_intermediate_size"):
        return t.get("intermediate_size")
    return None  # Mixtral, gpt-oss: intermediate_size is the expert size


def shared_experts(t: dict) -> int | None:
    if not n_experts(t):
        return None
    if t.get("model_type") == "llama4_text":
        return 1
    return t.get("n_shared_experts") or 0


def head_dim(t: dict) -> int:
    if t.get("kv_lora_rank"):
        return t["qk_nope_head_dim"] + t["qk_rope_head_dim"]
    return t.get("head_dim") or t["hidden_size"] // t["num_attention_heads"]


def sliding(t: dict) -> tuple[int | None, int | None]:
    """(window tokens, number of layers that use it)."""
    n = t["num_hidden_layers"]
    mt = t.get("model_type")
    if 0 in (t.get("attn_type_list") or []):  # MiniMax: 0 = lightning (linear) attention, which no column describes
        sys.exit(f"{mt}: attn_type_list has linear-attention layers; model_cards.csv cannot describe them")
    if mt == "llama4_text" and t.get("attention_chunk_size"):
        rope = t.get("no_rope_layers")  # 1 = RoPE (chunked) layer, 0 = global NoPE layer
        if not rope:
            every = t.get("no_rope_layer_interval", 4)
            rope = [int((i + 1) % every != 0) for i in range(n)]
        return t["attention_chunk_size"], sum(rope)
    if t.get("layer_types"):
        k = sum(1 for x in t["layer_types"] if x in ("sliding_attention", "chunked_attention"))
        return (t.get("sliding_window"), k) if k else (None, None)
    if mt == "gemma3_text":
        p = t.get("sliding_window_pattern", 6)
        return t.get("sliding_window"), sum(1 for i in range(n) if (i + 1) % p != 0)
    if t.get("sliding_window") and t.get("use_sliding_window", True):
        return t["sliding_window"], n
    return None, None


def count_params(t: dict) -> tuple[float, float]:
    """(total, active) parameters of the language model, from the config dimensions (see the docstring)."""
    d, V = t["hidden_size"], t["vocab_size"]
    H = t["num_attention_heads"]
    KV = t.get("num_key_value_heads") or H
    mt = t.get("model_type")
    hd = t.get("head_dim") or d // H
    if t.get("kv_lora_rank"):  # MLA
        rq, rkv = t.get("q_lora_rank"), t["kv_lora_rank"]
        nope, rope, v = t["qk_nope_head_dim"], t["qk_rope_head_dim"], t["v_head_dim"]
        q = (d * rq + rq + rq * H * (nope + rope)) if rq else d * H * (nope + rope)
        attn = q + d * (rkv + rope) + rkv + rkv * H * (nope + v) + H * v * d
    else:
        attn = d * H * hd + 2 * d * KV * hd + H * hd * d
        if t.get("attention_bias"):
            attn += H * hd + 2 * KV * hd + d
        if mt in QK_NORM_TYPES:
            attn += 2 * hd
        elif t.get("use_qk_norm") and t.get("qk_norm_type") == "per_layer":  # MiniMax-M2: over all heads' q and k
            attn += (H + KV) * hd
        if mt == "gpt_oss":
            attn += H  # attention sinks
    norms = (4 if mt == "gemma3_text" else 2) * d
    E, k = n_experts(t), n_active(t)
    f_moe, f_dense = moe_ffn(t), dense_ffn(t)
    total = active = 0
    for is_moe in layer_kinds(t):
        base = attn + norms
        if not is_moe:
            total += base + 3 * d * f_dense
            active += base + 3 * d * f_dense
            continue
        expert = 3 * d * f_moe + (2 * f_moe + d if mt == "gpt_oss" else 0)
        router = d * E + (E if mt == "gpt_oss" or t.get("use_routing_bias") else 0)  # + bias / score correction
        if mt == "llama4_text":
            shared = 3 * d * t["intermediate_size"]
        else:
            shared = (t.get("n_shared_experts") or 0) * 3 * d * f_moe
        total += base + router + E * expert + shared
        active += base + router + k * expert + shared
    emb = V * d * (1 if t.get("tie_word_embeddings") else 2) + d
    return (total + emb) / 1e9, (active + emb) / 1e9


def fmt(x) -> str:
    if x is None or x == "":
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return format(x, ".10g")
    return str(x)


def short_commit(text: str) -> str:
    return re.sub(r"@([0-9a-f]{8})[0-9a-f]{32}", r"@\1", text)


def family_licence(name: str) -> tuple[str, str]:
    for prefix, family, licence in FAMILY_LICENCE:
        if name.startswith(prefix):
            return family, licence
    sys.exit(f"{name}: no family/licence rule in FAMILY_LICENCE")


def build_row(name: str, entry: dict, licences: dict[str, dict]) -> dict[str, str]:
    path = CONFIGS / f"{name}.json"
    t = with_defaults(text_config(read_json(path)))
    family, licence = family_licence(name)
    if licence not in licences:
        sys.exit(f"{name}: licence '{licence}' has no row in {LICENCES}")
    total_c, active_c = count_params(t)
    total = entry.get("params_b_published")
    active = entry.get("active_params_b_published")
    params_b = total if total is not None else round(total_c, 4 - len(str(int(total_c))))
    if active is None:
        active = params_b if not n_experts(t) else round(active_c, 4 - len(str(int(active_c))))
    window, window_layers = sliding(t)
    E = n_experts(t)
    kinds = layer_kinds(t)
    print(f"{name:28s} computed {total_c:9.3f} / {active_c:8.3f}  published "
          f"{fmt(entry.get('params_b_published')) or '-':>12} / {fmt(entry.get('active_params_b_published')) or '-'}")
    source = (f"config.json of {entry['hf_repo']} read from {short_commit(entry['read_from'])}; "
              f"params: {short_commit(entry['params_source'])}")
    if entry.get("note"):
        source += f"; note: {entry['note']}"
    source += f"; licence: {licences[licence]['url']}"
    return {
        "name": name, "family": family, "hf_repo": entry["hf_repo"],
        "params_b": fmt(params_b),
        "active_params_b": fmt(active),
        "n_layers": fmt(t["num_hidden_layers"]), "d_model": fmt(t["hidden_size"]),
        "n_heads": fmt(t["num_attention_heads"]),
        "n_kv_heads": fmt(t.get("num_key_value_heads") or t["num_attention_heads"]),
        "head_dim": fmt(head_dim(t)), "ffn_dim": fmt(dense_ffn(t)), "moe_ffn_dim": fmt(moe_ffn(t)),
        "n_experts": fmt(E or None), "n_experts_active": fmt(n_active(t) or None),
        "n_shared_experts": fmt(shared_experts(t)),
        "first_dense_layers": fmt(kinds.count(False) if E else None),
        "kv_lora_rank": fmt(t.get("kv_lora_rank")), "qk_rope_head_dim": fmt(t.get("qk_rope_head_dim")),
        "sliding_window": fmt(window), "sliding_window_layers": fmt(window_layers),
        "context_length": fmt(t.get("max_position_embeddings")), "rope_theta": fmt(t.get("rope_theta")),
        "vocab_size": fmt(t["vocab_size"]), "tied_embeddings": fmt(bool(t.get("tie_word_embeddings"))),
        "licence": licence, "licence_mau_limit": licences[licence]["mau_limit"],
        "source": source, "as_of": entry["read_on"],
    }


def read_existing(path: Path) -> list[dict[str, str]]:
    """Rows of the current CSV (any column set), or [] when there is none."""
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def merge(old: list[dict[str, str]], new: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    """Old rows in their order, regenerated ones replaced in place; cards not in the old file appended."""
    out, seen = [], set()
    for row in old:
        name = row.get("name", "")
        if name in new:
            out.append(new[name])
        else:
            out.append({col: row.get(col) or "" for col in COLUMNS})
        seen.add(name)
    out.extend(row for name, row in new.items() if name not in seen)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "model_cards.csv", help="CSV to write (and merge into)")
    args = ap.parse_args(argv)

    manifest = read_json(CONFIGS / "MANIFEST.json")
    with open(LICENCES, encoding="utf-8", newline="") as fh:
        licences = {row["licence"]: row for row in csv.DictReader(fh)}
    missing = [name for name in manifest if not (CONFIGS / f"{name}.json").exists()]
    if missing:
        sys.exit(f"MANIFEST.json names cards without a config file: {missing}")
    new = {name: build_row(name, entry, licences) for name, entry in manifest.items()}
    rows = merge(read_existing(args.out), new)
    atomic_write_csv(args.out, rows, COLUMNS)
    print(f"{len(new)} cards regenerated, {len(rows) - len(new)} kept -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

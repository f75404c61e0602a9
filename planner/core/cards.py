"""Model cards: architecture numbers of the open models users plan for (rows of data/model_cards.csv)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from planner.core.errors import InputError


@dataclass(frozen=True)
class ModelCard:
    name: str
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    ffn_dim: int
    vocab_size: int
    head_dim: int
    n_experts: int = 0
    n_experts_active: int = 0
    context_length: int | None = None
    rope_theta: float | None = None
    licence: str | None = None
    licence_mau_limit: float | None = None
    params_b: float | None = None  # published total where the card has it (MoE, MLA: the formula below is llama-only)
    active_params_b: float | None = None
    family: str | None = None
    hf_repo: str | None = None
    moe_ffn_dim: int | None = None  # per-expert MLP width
    n_shared_experts: int | None = None
    first_dense_layers: int | None = None  # dense (non-MoE) layers of a MoE model
    kv_lora_rank: int | None = None  # MLA (DeepSeek): the cached latent per layer
    qk_rope_head_dim: int | None = None
    sliding_window: int | None = None  # tokens a windowed layer attends to
    sliding_window_layers: int | None = None  # how many of the full-attention layers use the window
    # hybrid linear attention (Qwen3.5's Gated DeltaNet): layers that keep a fixed-size recurrent state per sequence
    # instead of a growing KV cache, and that state's bytes per layer per sequence at TP 1 (conv + SSM state, as vLLM's
    # gated_delta_net_state_shape sizes it); the other n_layers − linear_attention_layers are full attention
    linear_attention_layers: int | None = None
    linear_state_bytes: int | None = None
    tied_embeddings: bool | None = None
    licence_mau_clause: str | None = None  # the licence's user-count clause, quoted (data/sources/licences.csv)
    licence_conditions: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        # the field is named in the message, not as `field=` (that names a CLI flag; these are card columns)
        if (self.linear_attention_layers is None) != (self.linear_state_bytes is None):
            missing = "linear_state_bytes" if self.linear_state_bytes is None else "linear_attention_layers"
            raise InputError(f"model card {self.name}: {missing} is missing; give linear_attention_layers and linear_state_bytes "
                             "together (a hybrid model's linear-attention layers and their state per sequence), or neither")
        if self.linear_attention_layers is not None and not 0 <= self.linear_attention_layers < self.n_layers:
            raise InputError(f"model card {self.name}: linear_attention_layers must be between 0 and n_layers − 1 = "
                             f"{self.n_layers - 1} (got {self.linear_attention_layers}): at least one layer is full attention")
        if self.linear_state_bytes is not None and not self.linear_state_bytes > 0:
            raise InputError(f"model card {self.name}: linear_state_bytes must be positive (got {self.linear_state_bytes})")

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1

    @property
    def moe_layers(self) -> int:
        """Layers that route to experts: all but a mixture-of-experts card's leading dense layers; 0 when dense."""
        return self.n_layers - (self.first_dense_layers or 0) if self.is_moe else 0

    @property
    def full_attention_layers(self) -> int:
        """Layers with a growing KV cache and quadratic prefill attention (all but the linear-attention ones)."""
        return self.n_layers - (self.linear_attention_layers or 0)

    def with_layers(self, n_layers: int | None) -> ModelCard:
        """The same architecture at reduced depth (per-layer cost is unchanged, so speed scales by layer count)."""
        if n_layers is None or n_layers == self.n_layers:
            return self
        if not 1 <= n_layers <= self.n_layers:
            raise InputError(f"must be between 1 and {self.n_layers} for {self.name} (got {n_layers})", field="n_layers")
        outside = self.vocab_size * self.d_model * (1 if self.tied_embeddings else 2) + self.d_model  # embeddings, head, final norm

        def per_depth(published: float | None) -> float | None:  # a published total keeps its non-layer part; layers scale
            return None if published is None else (outside + (published * 1e9 - outside) * n_layers / self.n_layers) / 1e9
        # a hybrid keeps its share of linear-attention layers, with at least one full-attention layer
        linear = (None if self.linear_attention_layers is None else
                  n_layers - max(1, round(self.full_attention_layers * n_layers / self.n_layers)))
        return replace(self, n_layers=n_layers, params_b=per_depth(self.params_b), active_params_b=per_depth(self.active_params_b),
                       linear_attention_layers=linear)

    def n_params(self) -> int:
        """Parameter count of the tensors a clone writes (llama-family layout, untied output)."""
        attn = self.d_model * self.head_dim * (2 * self.n_heads + 2 * self.n_kv_heads)
        width = (self.moe_ffn_dim or self.ffn_dim) if self.is_moe else self.ffn_dim
        ffn = 3 * self.d_model * width * max(self.n_experts, 1) + (self.d_model * self.n_experts if self.is_moe else 0)
        return self.n_layers * (attn + ffn + 2 * self.d_model) + 2 * self.vocab_size * self.d_model + self.d_model

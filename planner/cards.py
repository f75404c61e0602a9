"""Model cards: architecture numbers of the open models users plan for (data/model_cards.csv)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .catalog import load_catalog, lookup
from .errors import PlannerError


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
    context_length: int = 4096
    rope_theta: float = 10000.0
    licence: str = ""
    licence_mau_limit: float | None = None
    params_b: float | None = None
    active_params_b: float | None = None
    source: str = ""

    @classmethod
    def from_row(cls, row: pd.Series) -> "ModelCard":
        def num(key, default=None):
            v = row.get(key)
            return default if v is None or (isinstance(v, float) and math.isnan(v)) else v

        head_dim = int(num("head_dim") or row["d_model"] // row["n_heads"])
        return cls(
            name=str(row["name"]), n_layers=int(row["n_layers"]), d_model=int(row["d_model"]), n_heads=int(row["n_heads"]),
            n_kv_heads=int(row["n_kv_heads"]), ffn_dim=int(row["ffn_dim"]), vocab_size=int(row["vocab_size"]), head_dim=head_dim,
            n_experts=int(num("n_experts", 0)), n_experts_active=int(num("n_experts_active", 0)),
            context_length=int(num("context_length", 4096)), rope_theta=float(num("rope_theta", 10000.0)),
            licence=str(num("licence", "")), licence_mau_limit=num("licence_mau_limit"),
            params_b=num("params_b"), active_params_b=num("active_params_b"), source=str(row["source"]),
        )

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1

    def with_layers(self, n_layers: int | None) -> "ModelCard":
        """The same architecture at reduced depth (per-layer cost is unchanged, so speed scales by layer count)."""
        if n_layers is None or n_layers == self.n_layers:
            return self
        if not 1 <= n_layers <= self.n_layers:
            raise PlannerError(f"n_layers: must be between 1 and {self.n_layers} for {self.name} (got {n_layers})")
        from dataclasses import replace
        return replace(self, n_layers=n_layers)

    def n_params(self) -> int:
        """Parameter count of the tensors a clone writes (llama-family layout, untied output)."""
        attn = self.d_model * self.head_dim * (2 * self.n_heads + 2 * self.n_kv_heads)
        ffn = 3 * self.d_model * self.ffn_dim * max(self.n_experts, 1) + (self.d_model * self.n_experts if self.is_moe else 0)
        return self.n_layers * (attn + ffn + 2 * self.d_model) + 2 * self.vocab_size * self.d_model + self.d_model


def load_card(name: str) -> ModelCard:
    return ModelCard.from_row(lookup(load_catalog("model_cards"), "model_cards", name))

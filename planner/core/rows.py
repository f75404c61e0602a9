"""Typed catalog rows: what the planner computes on, built and validated by `planner.formats.catalog`.

Every row carries its `Provenance` (source and date), so a number that reaches a table or a chart can always say
where it came from. A missing catalog value is `None`, never 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from planner.core.errors import InputError

PriceKind = Literal["on_demand", "spot", "reserved"]


@dataclass(frozen=True)
class Provenance:
    """Where a catalog figure came from, carried into every table and report."""

    catalog: str
    key: str
    source: str
    as_of: str
    second_source: str | None = None  # what a second maintained source says of the same row (API prices: genai-prices)
    second_source_agrees: bool | None = None  # None: no second source has this row

    def describe(self) -> str:
        checked = f"; cross-check: {self.second_source}" if self.second_source else ""
        return f"{self.catalog}:{self.key} — {self.source} (as of {self.as_of}){checked}"


@dataclass(frozen=True)
class InstanceRow:
    """A rentable machine (data/instances.csv); `accelerator` is 'cpu' for CPU-only shapes."""

    instance: str
    provider: str | None
    region: str | None
    accelerator: str | None
    accelerator_count: int | None
    vcpus: int | None
    ram_gib: float | None
    on_demand_usd_per_hour: float
    spot_usd_per_hour: float | None
    reserved_1y_usd_per_hour: float | None
    provenance: Provenance

    @property
    def has_gpu(self) -> bool:
        return bool(self.accelerator) and self.accelerator.lower() != "cpu"

    def usd_per_hour(self, price_kind: PriceKind = "on_demand") -> float:
        value = {"on_demand": self.on_demand_usd_per_hour, "spot": self.spot_usd_per_hour,
                 "reserved": self.reserved_1y_usd_per_hour}.get(price_kind)
        if price_kind not in ("on_demand", "spot", "reserved"):
            raise InputError(f"must be on_demand, spot or reserved (got {price_kind!r})", field="price_kind")
        if value is None:
            raise InputError(f"instances: '{self.instance}' has no {price_kind} price; price it on_demand", field="price_kind")
        return float(value)


class TokenPrices(NamedTuple):
    """An API's price per token, as a plan uses it (typed: the fields are checked where they are read, not at run time)."""

    usd_per_input_token: float
    usd_per_output_token: float
    usd_per_cached_input_token: float | None  # None: cached input is billed as plain input


@dataclass(frozen=True)
class ApiPriceRow:
    """A per-token API price (data/api_prices.csv, from litellm's price file); prices per million tokens."""

    model: str
    provider: str | None
    mode: str | None
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    cache_read_usd_per_mtok: float | None
    cache_write_usd_per_mtok: float | None
    batch_input_usd_per_mtok: float | None
    batch_output_usd_per_mtok: float | None
    max_input_tokens: int | None
    provenance: Provenance
    open_model: str | None = None  # the model card an open-weights API serves (like-for-like baseline); None: closed
    served_precision: str | None = None  # what the host says it serves (fp8, int4, …); None: not stated

    def per_token(self, batch: bool = False) -> TokenPrices:
        """Prices per token (cached input None: billed as plain input).

        `batch`: the provider's batch (asynchronous, results within ~24 h) prices — for offline work only; refused
        where the catalog has none. Batch requests are not cached, so the cache price does not apply."""
        if batch:
            if self.batch_input_usd_per_mtok is None or self.batch_output_usd_per_mtok is None:
                raise InputError(f"api_prices row '{self.model}' has no batch price; price it without batch or pick an API that has one",
                                 field="batch")
            return TokenPrices(self.batch_input_usd_per_mtok / 1e6, self.batch_output_usd_per_mtok / 1e6, None)
        cache = self.cache_read_usd_per_mtok
        return TokenPrices(self.input_usd_per_mtok / 1e6, self.output_usd_per_mtok / 1e6, None if cache is None else cache / 1e6)


@dataclass(frozen=True)
class CacheRuleRow:
    """A provider's prompt-caching rules (data/api_cache_rules.csv): the shortest prefix it caches, the write premium."""

    provider: str
    min_cacheable_tokens: int | None
    cache_write_multiplier: float | None
    cache_ttl: str | None
    provenance: Provenance


@dataclass(frozen=True)
class HardwareRow:
    """Datasheet figures of a device (data/hardware.csv)."""

    name: str
    kind: str | None
    vendor: str | None
    memory_gib: float | None
    memory_bandwidth_gb_s: float | None
    fp16_tflops_dense: float | None
    bf16_tflops_dense: float | None
    int8_tops_dense: float | None
    tdp_w: float | None
    provenance: Provenance
    interconnect: str | None = None  # GPU-to-GPU link ("NVLink 4", "PCIe 4.0 x16")
    interconnect_gb_s: float | None = None  # its quoted per-GPU bidirectional bandwidth


@dataclass(frozen=True)
class InterconnectRow:
    """Measured all-reduce latency of small messages (decode's hidden states) on a GPU link (data/interconnects.csv)."""

    interconnect: str
    allreduce_latency_us: float
    allreduce_latency_8gpu_us: float | None
    provenance: Provenance


@dataclass(frozen=True)
class OnpremRow:
    """Owned hardware (data/onprem.csv): purchase, amortisation, power and the site's PUE and energy price."""

    hardware: str
    purchase_usd: float | None
    amortisation_years: float | None
    power_w: float | None
    pue: float | None
    usd_per_kwh: float | None
    provenance: Provenance
    purchase_includes: str | None = None  # "server_share" (host included, priced at the server's power) or "card" (no host)
    server_power_w_per_gpu: float | None = None  # server maximum power ÷ GPUs, for server-share prices

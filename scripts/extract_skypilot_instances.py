"""Extract GPU instance prices from SkyPilot's public catalog into data/instances.csv.

SkyPilot publishes one machine-read price list per cloud as ``catalogs/v8/<cloud>/vms.csv`` in
github.com/skypilot-org/skypilot-catalog. This script never downloads anything: it reads copies of
those files (whole, or the ranges that were read) and a ``MANIFEST.json`` describing them from
``--src`` (default ``data/sources/skypilot``, the committed copies, layout ``<src>/v8/<cloud>/vms.csv``), normalises each
cloud's columns (every cloud orders them differently; the header names them) and writes, atomically
(temp file + ``os.replace``), ``data/instances.csv`` with the columns::

    instance,provider,region,accelerator,accelerator_count,vcpus,ram_gib,
    on_demand_usd_per_hour,spot_usd_per_hour,reserved_1y_usd_per_hour,source,as_of

Rows already in the output whose ``source`` does not start with ``"skypilot-catalog "`` are kept
as they are (hand-sourced rows with their own dates); rows this script wrote before are replaced.
An (instance, provider) already kept is never added again, and an instance name another provider
already uses is skipped (the catalog loader keys rows by instance).

Usage::

    python scripts/extract_skypilot_instances.py
    python scripts/extract_skypilot_instances.py --src data/sources/skypilot --out /tmp/instances.csv

Rules
-----
* **One row per (provider, instance type), in one canonical region**: AWS ``us-east-1``, GCP
  ``us-central1`` (a shape not offered there is skipped), Azure ``eastus``; every other provider:
  its cheapest US region if it has one (region ``us-*``/``US-*`` or a ``", US, "`` location),
  else its cheapest region (ties: first in the file). Within the region the cheapest row is
  taken; AWS and GCP list one row per availability zone, so on-demand is the zone price and spot
  is the lowest spot price among the zones read.
* **Prices**: on-demand = the catalog ``Price``; rows without one are skipped (marketplaces such
  as Vast are kept when they list a price). ``spot_usd_per_hour`` = the catalog ``SpotPrice``
  where present; a spot of 0 is treated as absent (Vast writes 0.00 for "none"). Reserved /
  committed prices are not in the catalog: empty. Empty always means unknown, never zero.
* **GCP** lists a VM's host price and its GPUs' price on separate rows (GPU rows have an empty
  ``InstanceType``). Shapes with bundled GPUs are priced as host row + GPU row of the same zone,
  pairing them by Google's documented shapes (``GCP_SHAPES``). Some GCP GPU rows carry prices far
  below the same GPU's price in other US regions (e.g. H100 in us-central1 at ~43 % of us-east4,
  A100 80GB at ~42 % of us-east5; list prices elsewhere do not show such gaps): a canonical-region
  GPU price under 60 % of the highest US-region price for the same GPU and count is treated as
  implausible and the shape skipped. A host price of 0 (a4-highgpu-8g) is treated as missing.
* **Accelerator names** are mapped to the names of ``data/hardware.csv``. SXM vs PCIe is decided
  from evidence only: the instance or accelerator name (``sxm``, ``pcie``/``pci``, ``nvl``,
  Verda's ``80S``/``141S``/``40S`` = SXM) or a known shape (AWS p4d/p4de/p5/p5e/p5en, GCP
  a2/a3). Without evidence the row is skipped and counted. Memory (A100 40 vs 80 GB, V100 16 vs
  32 GB) comes from the accelerator name or the catalog's ``GpuInfo``. GPUs that map to none of
  the target names (``SIMPLE_GPUS`` and the H100/H200/A100/V100 rules in ``map_gpu``: A40, A800,
  RTX 5090, GH200, B300, T4g, ...) are dropped and counted by name; fractional GPUs (AWS g6f) are
  skipped.
* Rows whose on-demand price is under $0.05 per GPU-hour are treated as placeholders and skipped;
  Mithril's whole file is skipped (``AUCTION_MARKETS``): its prices are auction bids (A100s at
  $0.01/h, 8 x H100 at $8/h), not on-demand prices.
* A few CPU-only instances are added (accelerator ``cpu``) where the rows were read:
  ``CPU_INSTANCES``.
* ``source`` = ``skypilot-catalog catalogs/v8/<cloud>/vms.csv @<commit[:8]> (machine-read
  <Provider> price list; file carries no date, as_of is the date read)``; ``as_of`` = the
  manifest's ``read_on`` date. The catalog files carry no date of their own.
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

from planner.formats.files import atomic_write_csv  # one atomic writer for the package and its data scripts

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["instance", "provider", "region", "accelerator", "accelerator_count", "vcpus", "ram_gib",
           "on_demand_usd_per_hour", "spot_usd_per_hour", "reserved_1y_usd_per_hour", "source", "as_of"]
GENERATED_PREFIX = "skypilot-catalog "

# cloud directory -> (provider value, display name, canonical region or None = cheapest US/any)
CLOUDS = {
    "aws": ("aws", "AWS", "us-east-1"),
    "gcp": ("gcp", "GCP", "us-central1"),
    "azure": ("azure", "Azure", "eastus"),
    "lambda": ("lambda", "Lambda", None),
    "nebius": ("nebius", "Nebius", None),
    "hyperstack": ("hyperstack", "Hyperstack", None),
    "cudo": ("cudo", "Cudo Compute", None),
    "verda": ("verda", "Verda (DataCrunch)", None),
    "vast": ("vast", "Vast.ai (marketplace)", None),
    "jarvislabs": ("jarvislabs", "JarvisLabs", None),
    "mithril": ("mithril", "Mithril", None),
    "runpod": ("runpod", "RunPod", None),
    "shadeform": ("shadeform", "Shadeform", None),
}

# GPU names used in data/hardware.csv (and the extra ones being added there).
H100_SXM, H100_PCIE, H100_NVL = "NVIDIA H100 SXM 80GB", "NVIDIA H100 PCIe 80GB", "NVIDIA H100 NVL 94GB"
H200_SXM = "NVIDIA H200 SXM 141GB"
A100_SXM80, A100_SXM40 = "NVIDIA A100 SXM 80GB", "NVIDIA A100 SXM 40GB"
A100_PCIE80, A100_PCIE40 = "NVIDIA A100 PCIe 80GB", "NVIDIA A100 PCIe 40GB"
# accelerator names (upper-cased, '-', '_' and spaces removed) that need no form-factor decision
SIMPLE_GPUS = {
    "L40S": "NVIDIA L40S", "L40": "NVIDIA L40", "L4": "NVIDIA L4", "A10": "NVIDIA A10", "A10G": "NVIDIA A10G",
    "RTX4090": "NVIDIA GeForce RTX 4090", "T4": "NVIDIA T4", "A6000": "NVIDIA RTX A6000",
    "RTXA6000": "NVIDIA RTX A6000", "RTX6000ADA": "NVIDIA RTX 6000 Ada", "B200": "NVIDIA B200",
    "MI300X": "AMD Instinct MI300X",
}
# instance-name prefixes whose GPUs are SXM modules (AWS and GCP documentation of these families)
SXM_SHAPES = ("p4d.", "p4de.", "p5.", "p5e.", "p5en.", "a2-highgpu-", "a2-megagpu-", "a2-ultragpu-",
              "a3-highgpu-", "a3-megagpu-", "a3-ultragpu-")

# GCP shapes with bundled GPUs: host instance -> (accelerator row name, count)
GCP_SHAPES = {
    **{f"a2-highgpu-{n}g": ("A100", n) for n in (1, 2, 4, 8)},
    "a2-megagpu-16g": ("A100", 16),
    **{f"a2-ultragpu-{n}g": ("A100-80GB", n) for n in (1, 2, 4, 8)},
    **{f"a3-highgpu-{n}g": ("H100", n) for n in (1, 2, 4, 8)},
    "a3-megagpu-8g": ("H100-MEGA", 8),
    "a3-ultragpu-8g": ("H200", 8),
    "a4-highgpu-8g": ("B200", 8),
    **{f"g2-standard-{v}": ("L4", 1) for v in (4, 8, 12, 16, 32)},
    "g2-standard-24": ("L4", 2), "g2-standard-48": ("L4", 4), "g2-standard-96": ("L4", 8),
}
GCP_IMPLAUSIBLE_RATIO = 0.6   # canonical GPU price below this share of the highest US-region price
MIN_USD_PER_GPU_HOUR = 0.05   # below this the catalog price is a placeholder
# Markets whose catalog prices are auction bids (Mithril, formerly Foundry: 8 x H100 at $8/h beside A100s at $0.01/h),
# not prices you can rent at on demand: read, but not priced.
AUCTION_MARKETS = {"mithril"}

CPU_INSTANCES = {
    "aws": {"c7i.large", "c7i.xlarge", "c7i.2xlarge", "m7i.large", "m7i.xlarge", "m7i.2xlarge"},
    "gcp": {"n2-standard-2", "n2-standard-4", "n2-standard-8", "c3-standard-4"},
}


def num(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None  # NaN -> None


def fmt(value: float | None) -> str:
    """A number as a short CSV cell ('' when unknown); integral values without '.0'."""
    if value is None:
        return ""
    value = round(value, 6)
    return str(int(value)) if value == int(value) else repr(value)


def is_us(region: str) -> bool:
    low = region.strip().lower()
    return low.startswith(("us-", "us_")) or low == "us" or ", us, " in f"{low}, " or low.startswith("united states")


def gpu_info(raw: str) -> dict:
    """The catalog's GpuInfo cell (a Python or JSON literal) as a dict; {} when absent or unreadable."""
    if not raw or not raw.strip():
        return {}
    for parse in (json.loads, ast.literal_eval):
        try:
            out = parse(raw.replace("null", "None") if parse is ast.literal_eval else raw)
            return out if isinstance(out, dict) else {}
        except (ValueError, SyntaxError):
            continue
    return {}


def per_gpu_mib(cloud: str, info: dict, count: float | None) -> float | None:
    """Memory of one GPU from GpuInfo; Vast and Verda write the total of all GPUs in SizeInMiB."""
    try:
        mib = float(info["Gpus"][0]["MemoryInfo"]["SizeInMiB"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    if cloud in ("vast", "verda") and count:
        mib /= count
    return mib


def map_gpu(cloud: str, instance: str, acc: str, mib: float | None) -> tuple[str | None, str]:
    """(hardware name, '') or (None, reason) for one catalog accelerator."""
    key = re.sub(r"[-_ ]", "", acc.upper())
    text = f"{instance} {acc}".upper()
    if re.search(r"(^|[^G])(H100|H200)", key) or "A100" in key:  # GH200 is a different part
        if "PCIE" in text or re.search(r"PCI($|[^A-Z])", text):
            form = "pcie"
        elif "NVL" in text.replace("NVLINK", ""):
            form = "nvl"
        elif "SXM" in text or instance.startswith(SXM_SHAPES) or key == "H100MEGA" \
                or (cloud == "verda" and re.search(r"\.\d+S\.", instance)):
            form = "sxm"
        else:
            return None, "form factor undecidable"
        if "H200" in key:
            return (H200_SXM, "") if form == "sxm" else (None, f"H200 {form}")
        if "H100" in key:
            return {"sxm": H100_SXM, "pcie": H100_PCIE, "nvl": H100_NVL}[form], ""
        gb = re.search(r"A100\D*(\d+)\s*G", acc.upper()) or re.search(r"A100\D*(\d+)GB", instance.upper())
        gb = int(gb.group(1)) if gb else (round(mib / 1024) if mib else None)
        if gb not in (40, 80):
            return None, "A100 memory unknown"
        if form == "nvl":
            return None, "A100 nvl"
        return {("sxm", 80): A100_SXM80, ("sxm", 40): A100_SXM40,
                ("pcie", 80): A100_PCIE80, ("pcie", 40): A100_PCIE40}[(form, gb)], ""
    if "V100" in key:
        big = "32GB" in key or (mib is not None and mib > 20000)
        return ("NVIDIA V100 32GB" if big else "NVIDIA V100 16GB"), ""
    if key == "RTX4090" and mib and mib > 30000:
        return None, "RTX4090 48GB (modified card)"
    name = SIMPLE_GPUS.get(key)
    return (name, "") if name else (None, "not in target list")


class Row(dict):
    """One catalog row normalised: instance, region, zone, acc, count, vcpus, ram, price, spot, mib."""


def read_rows(cloud: str, path: Path) -> list[Row]:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            count = num(rec.get("AcceleratorCount"))
            info = gpu_info(rec.get("GpuInfo", ""))
            spot = num(rec.get("SpotPrice"))
            rows.append(Row(
                instance=(rec.get("InstanceType") or "").strip(), region=(rec.get("Region") or "").strip(),
                zone=(rec.get("AvailabilityZone") or "").strip(), acc=(rec.get("AcceleratorName") or "").strip(),
                count=count, vcpus=num(rec.get("vCPUs")), ram=num(rec.get("MemoryGiB")), price=num(rec.get("Price")),
                spot=spot if spot else None, mib=per_gpu_mib(cloud, info, count),
            ))
    return rows


def gcp_rows(rows: list[Row], stats: Counter) -> list[Row]:
    """GCP host rows joined with their bundled-GPU rows (same zone), one row per shape and zone."""
    gpu = {(r["acc"], int(r["count"] or 0), r["zone"]): r for r in rows if not r["instance"] and r["acc"]}
    us_max = defaultdict(float)
    for (acc, n, _zone), r in gpu.items():
        if is_us(r["region"]) and r["price"]:
            us_max[(acc, n)] = max(us_max[(acc, n)], r["price"])
    out, missing_host = [], set()
    for r in rows:
        if not r["instance"]:
            continue
        shape = GCP_SHAPES.get(r["instance"])
        if shape is None:
            out.append(r)  # CPU-only host
            continue
        g = gpu.get((shape[0], shape[1], r["zone"]))
        if g is None or not g["price"]:
            continue
        if not r["price"]:
            missing_host.add(r["instance"])
            continue
        if g["price"] < GCP_IMPLAUSIBLE_RATIO * us_max[shape]:
            r = Row(r, implausible=True)
        spot = r["spot"] + g["spot"] if r["spot"] and g["spot"] else None
        out.append(Row(r, acc=shape[0], count=shape[1], price=r["price"] + g["price"], spot=spot, mib=g["mib"]))
    for instance in sorted(missing_host):
        stats[f"GCP host price missing (0): {instance}"] += 1
    return out


def pick(rows: list[Row], canonical: str | None) -> list[Row]:
    """One row per instance type in the provider's canonical region (see module doc)."""
    by_type = defaultdict(list)
    for r in rows:
        if r["instance"] and r["price"]:
            by_type[r["instance"]].append(r)
    chosen = []
    for group in by_type.values():
        if canonical:
            here = [r for r in group if r["region"] == canonical]
        else:
            us = [r for r in group if is_us(r["region"])]
            cheapest_region = min(us or group, key=lambda r: r["price"])["region"]
            here = [r for r in group if r["region"] == cheapest_region]
        if not here:
            continue
        best = min(here, key=lambda r: r["price"])
        spots = [r["spot"] for r in here if r["spot"]]
        chosen.append(Row(best, spot=min(spots) if spots else None,
                          implausible=any(r.get("implausible") for r in here if r["price"] == best["price"])))
    return chosen


def read_existing(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return [rec for rec in csv.DictReader(fh) if not rec.get("source", "").startswith(GENERATED_PREFIX)]


def build(src: Path, existing: list[dict[str, str]]) -> tuple[list[dict[str, str]], dict]:
    manifest = json.loads((src / "MANIFEST.json").read_text())
    as_of = manifest["read_on"]
    taken = {(r["instance"], r["provider"]) for r in existing}
    names = {r["instance"]: r["provider"] for r in existing}
    added, dropped, skipped = [], Counter(), Counter()
    for key, entry in sorted(manifest["files"].items()):
        cloud = Path(key).parent.name
        if cloud not in CLOUDS:
            skipped[f"{cloud}: no provider mapping"] += 1
            continue
        if cloud in AUCTION_MARKETS:
            skipped[f"{cloud}: auction market (bids, not on-demand prices)"] += 1
            continue
        provider, display, canonical = CLOUDS[cloud]
        source = (f"{GENERATED_PREFIX}{entry['path']} @{entry['commit'][:8]} (machine-read {display} price list; "
                  "file carries no date, as_of is the date read)")
        rows = read_rows(cloud, src / key)
        if cloud == "gcp":
            rows = gcp_rows(rows, skipped)
        for r in sorted(pick(rows, canonical), key=lambda r: r["instance"]):
            if r["acc"] and r["count"]:
                if r["count"] != int(r["count"]):
                    skipped["fractional GPU"] += 1
                    continue
                name, why = map_gpu(cloud, r["instance"], r["acc"], r["mib"])
                if name is None:
                    (dropped if why == "not in target list" else skipped)[
                        r["acc"] if why == "not in target list" else f"{why}: {r['acc']}"] += 1
                    continue
                if r.get("implausible"):
                    skipped[f"GCP GPU price implausibly low in {canonical}: {r['instance']}"] += 1
                    continue
                if r["price"] / r["count"] < MIN_USD_PER_GPU_HOUR:
                    skipped["placeholder price (< $0.05/GPU-h)"] += 1
                    continue
                accelerator, count = name, int(r["count"])
            elif r["instance"] in CPU_INSTANCES.get(cloud, ()):
                accelerator, count = "cpu", 0
            else:
                continue
            if (r["instance"], provider) in taken:
                skipped["already in the file (kept row)"] += 1
                continue
            if names.get(r["instance"], provider) != provider:
                skipped["instance name used by another provider"] += 1
                continue
            taken.add((r["instance"], provider))
            names[r["instance"]] = provider
            added.append({
                "instance": r["instance"], "provider": provider, "region": r["region"], "accelerator": accelerator,
                "accelerator_count": str(count), "vcpus": fmt(r["vcpus"]), "ram_gib": fmt(r["ram"]),
                "on_demand_usd_per_hour": fmt(r["price"]), "spot_usd_per_hour": fmt(r["spot"]),
                "reserved_1y_usd_per_hour": "", "source": source, "as_of": as_of,
            })
    return added, {"dropped": dropped, "skipped": skipped}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "sources" / "skypilot", help="folder with MANIFEST.json and v8/<cloud>/vms.csv")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "instances.csv", help="CSV to update")
    args = ap.parse_args(argv)
    if not (args.src / "MANIFEST.json").is_file():
        sys.exit(f"{args.src}/MANIFEST.json not found; see the module docstring for the expected layout")

    existing = read_existing(args.out)
    added, notes = build(args.src, existing)
    atomic_write_csv(args.out, existing + added, COLUMNS)

    gpu = [r for r in added if r["accelerator"] != "cpu"]
    per_provider = Counter(r["provider"] for r in added)
    print(f"wrote {args.out}: {len(existing)} rows kept, {len(added)} added ({len(gpu)} GPU rows)")
    print("added per provider: " + ", ".join(f"{p} {n}" for p, n in sorted(per_provider.items())))
    print("providers with GPU rows: " + ", ".join(sorted({r["provider"] for r in gpu})))
    print("GPU rows per accelerator: " + ", ".join(f"{a} {n}" for a, n in sorted(Counter(r["accelerator"] for r in gpu).items())))
    print("dropped accelerators (not in the target list): " +
          (", ".join(f"{a} {n}" for a, n in sorted(notes["dropped"].items())) or "none"))
    print("skipped: " + ("; ".join(f"{k} {n}" for k, n in sorted(notes["skipped"].items())) or "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

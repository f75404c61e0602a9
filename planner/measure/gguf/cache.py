"""Where derived model files live (quant ladder rungs, architecture clones, HF folders for vLLM) and where llama.cpp's
own programs are built: outside the repo, in two separate folders, so clearing one never costs the other.

The cache may be pointed at a folder that also holds the user's own files ($LLM_PLANNER_CACHE=~/models): `clear_cache`
therefore deletes only what the tool made — entries named by the tool's own patterns, inside the kind folders it
created and marked — and reports what it deleted and what it left.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from planner.core.errors import InputError, SetupError

MARKER = ".llm-planner-cache"  # written into every kind folder the tool creates; a folder without it is not the tool's

# kind → the names the tool gives its entries there (quantize.quant_ladder, clones.clone_path, hf.hf_folder)
KIND_PATTERNS: dict[str, re.Pattern[str]] = {
    "ladder": re.compile(r"\.?.+\.[0-9a-f]{16}\.[A-Z0-9_]+\.gguf(\.partial)?"),
    "clones": re.compile(r"\.?.+-L\d+(-e\d+a\d+)?\.clone\.[A-Z0-9_]+\.gguf(\.partial)?"),
    "hf": re.compile(r".+\.[0-9a-f]{16}\.(bfloat16|float16|float32)(\.partial)?"),
}
KINDS = tuple(KIND_PATTERNS)


def _user_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm-planner"


def _made(path: Path, what: str) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"{what}: cannot create {path} ({exc.strerror or exc}); point it at a writable folder") from None
    return path


def cache_dir() -> Path:
    """$LLM_PLANNER_CACHE, else $XDG_CACHE_HOME/llm-planner/models, else ~/.cache/llm-planner/models."""
    return _made(Path(os.environ.get("LLM_PLANNER_CACHE") or _user_root() / "models"), "LLM_PLANNER_CACHE")


def tools_dir() -> Path:
    """Where llama.cpp's own programs are built: $LLM_PLANNER_TOOLS, else $XDG_CACHE_HOME/llm-planner/tools. Never inside
    cache_dir(), so `cache --clear` (or a test session's private model cache) does not cost a 4-minute rebuild."""
    return _made(Path(os.environ.get("LLM_PLANNER_TOOLS") or _user_root() / "tools"), "LLM_PLANNER_TOOLS")


def _checked_kind(kind: str) -> str:
    """Only the known kinds: a kind is joined onto the cache folder, so a path here would reach outside it."""
    if kind not in KINDS:
        raise InputError(f"--kind: must be one of {', '.join(KINDS)} (got {kind!r})")
    return kind


def kind_dir(kind: str) -> Path:
    """The folder for one kind of derived file, created and marked as the tool's on first use."""
    folder = _made(cache_dir() / _checked_kind(kind), "LLM_PLANNER_CACHE")
    marker = folder / MARKER
    if not marker.exists():
        marker.write_text("made by llm-planner: `llm-planner cache --clear` deletes only the entries it named here\n")
    return folder


def _is_tools(kind: str, entry: Path) -> bool:
    return bool(KIND_PATTERNS[kind].fullmatch(entry.name)) and not entry.is_symlink()


def cache_entries(kind: str) -> list[Path]:
    d = cache_dir() / _checked_kind(kind)
    if not (d / MARKER).is_file():
        return []
    return sorted(p for p in d.iterdir() if _is_tools(kind, p) and not p.name.endswith(".partial"))


def _skip_missing(func, path, exc_info) -> None:
    if not isinstance(exc_info[1], FileNotFoundError):  # another `cache --clear` removing the same tree: fine
        raise exc_info[1]


def entry_size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
        return path.stat().st_size
    except OSError:
        return 0


@dataclass
class Cleared:
    """What `clear_cache` did: the entries it deleted, their bytes, and what it left because the tool did not make it."""

    deleted: list[Path] = field(default_factory=list)
    freed_bytes: int = 0
    left: list[Path] = field(default_factory=list)


def clear_cache(kind: str | None = None) -> Cleared:
    """Delete the tool's own derived files (one kind, or all), nothing else.

    Safe to run twice at once: an entry another process removed first is skipped, not an error."""
    root = cache_dir()
    out = Cleared()
    for k in [_checked_kind(kind)] if kind is not None else list(KINDS):
        folder = root / k
        if not folder.is_dir() or folder.is_symlink():
            if folder.exists() or folder.is_symlink():
                out.left.append(folder)
            continue
        if not (folder / MARKER).is_file():  # a folder of the same name the tool did not create
            out.left.append(folder)
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name == MARKER:
                continue
            if not _is_tools(k, entry):
                out.left.append(entry)
                continue
            size = entry_size(entry)
            try:
                if entry.is_dir():
                    shutil.rmtree(entry, onerror=_skip_missing)
                else:
                    entry.unlink()
            except FileNotFoundError:
                continue  # another `cache --clear` got there first
            except OSError as exc:
                raise SetupError(f"cache: cannot delete {entry} ({exc.strerror or exc}); check its permissions") from None
            out.deleted.append(entry)
            out.freed_bytes += size
    return out

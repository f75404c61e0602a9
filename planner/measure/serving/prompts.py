"""Prompts for a load test: synthetic (random common words, distinct so no prefix cache makes them free) or real (JSONL)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from planner.core.errors import DataError, InputError
from planner.formats.files import read_text

# Common English words: one token each for most tokenizers, so a prompt of N words is about N tokens.
_WORDS = np.array((
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were "
    "her she there been one all we their has would when if so no will can more other who its time about up out them only "
    "into some could these than first new very like then now over such our man me even most made after also did many "
    "before must through back years where much your way well down should because each just those people how too little "
    "state good make world still own see men work long get here between both life being under never day same another "
    "know while last might us great old year off come since against go came right used take three").split())


# --------------------------------------------------------------------------------------------------- prompts

@dataclass(frozen=True)
class Prompt:
    body: dict  # {"prompt": ...} or {"messages": [...]}, merged into the request
    approx_tokens: int  # words; used when the server reports no usage


def synthetic_prompts(n: int, *, mean_tokens: int, std_tokens: float = 0.0, distribution: Literal["normal", "lognormal"] = "normal",
                      seed: int = 0, chat: bool = False) -> list[Prompt]:
    """`n` distinct prompts of random common words (distinct, so no server prefix cache makes them free)."""
    if n < 1 or mean_tokens < 1 or std_tokens < 0:
        raise InputError("--prompt-tokens / --requests: must be positive (and the spread non-negative)")
    rng = np.random.default_rng(seed)
    if std_tokens == 0:
        lengths = np.full(n, mean_tokens)
    elif distribution == "lognormal":  # real prompt lengths are right-skewed
        sigma2 = np.log1p((std_tokens / mean_tokens) ** 2)
        lengths = rng.lognormal(np.log(mean_tokens) - sigma2 / 2, np.sqrt(sigma2), n)
    elif distribution == "normal":
        lengths = rng.normal(mean_tokens, std_tokens, n)
    else:
        raise InputError(f"prompt length distribution: use normal or lognormal (got {distribution!r})")
    lengths = np.maximum(1, np.rint(lengths)).astype(int)
    words = _WORDS[rng.integers(len(_WORDS), size=int(lengths.sum()))]
    texts = [" ".join(chunk) for chunk in np.split(words, np.cumsum(lengths)[:-1])]
    return [Prompt({"messages": [{"role": "user", "content": t}]} if chat else {"prompt": t}, int(k)) for t, k in zip(texts, lengths)]


def jsonl_prompts(path: str | Path, *, chat: bool) -> list[Prompt]:
    """Real prompts, one JSON object per line: {"prompt": "..."} or, for chat, {"messages": [...]}."""
    path = Path(path)
    prompts = []
    for i, line in enumerate(read_text(path, "--prompts", "pass a JSONL file of prompts").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path.name}: line {i} is not JSON") from None
        except RecursionError:
            raise DataError(f"{path.name}: line {i} is JSON nested too deeply to be a prompt") from None
        messages = row.get("messages") if isinstance(row, dict) else None
        text = row.get("prompt") if isinstance(row, dict) else None
        if messages is not None:
            if not chat:
                raise DataError(f"{path.name}: line {i} has chat 'messages'; add --chat (or give a 'prompt' string)")
            if not isinstance(messages, list) or not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
                raise DataError(f"{path.name}: line {i}: 'messages' must be a list of {{\"role\": ..., \"content\": \"...\"}}")
            prompts.append(Prompt({"messages": messages}, sum(len(m["content"].split()) for m in messages)))
        elif isinstance(text, str):
            prompts.append(Prompt({"messages": [{"role": "user", "content": text}]} if chat else {"prompt": text}, len(text.split())))
        else:
            raise DataError(f"{path.name}: line {i} needs a 'prompt' string (or, with --chat, 'messages')")
    if not prompts:
        raise DataError(f"{path.name}: no prompts found")
    return prompts



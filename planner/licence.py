"""Licence guard: model licences with user limits (e.g. Llama 2/3's 700 million monthly active users)."""
from __future__ import annotations

import re

import pandas as pd

from .schema import Profile


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def card_for_profile(profile: Profile, cards: pd.DataFrame) -> pd.Series | None:
    """The model card a profile measures: the clone's card, else the card whose name the model name or file contains."""
    if profile.model.clone_of:
        hit = cards[cards["name"] == profile.model.clone_of]
        return hit.iloc[0] if not hit.empty else None
    haystack = _norm(profile.model.name) + _norm(profile.model.file_name)
    matches = [row for _, row in cards.iterrows() if _norm(str(row["name"])) in haystack]
    return max(matches, key=lambda r: len(str(r["name"]))) if matches else None


def licence_warnings(card: pd.Series | None, monthly_active_users: float | None) -> list[str]:
    if card is None or monthly_active_users is None:
        return []
    limit = card.get("licence_mau_limit")
    if limit is None or pd.isna(limit) or monthly_active_users <= float(limit):
        return []
    return [f"licence: {card['name']} is under the {card['licence']} licence, which requires a separate licence above "
            f"{float(limit):,.0f} monthly active users; this plan assumes {monthly_active_users:,.0f}"]

"""Licence guard: model licences with user limits (e.g. Llama 2/3's 700 million monthly active users)."""
from __future__ import annotations

from planner.core.cards import ModelCard


def licence_warnings(card: ModelCard | None, monthly_active_users: float | None) -> list[str]:
    if card is None or monthly_active_users is None or card.licence_mau_limit is None:
        return []
    if monthly_active_users <= card.licence_mau_limit:
        return []
    return [f"licence: {card.name} is under the {card.licence} licence, which requires a separate licence above "
            f"{card.licence_mau_limit:,.0f} monthly active users; this plan assumes {monthly_active_users:,.0f}"]

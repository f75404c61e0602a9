"""Licence guard: model licences with user limits (e.g. Llama 2/3's 700 million monthly active users)."""
from __future__ import annotations

from planner.core.cards import ModelCard


def licence_warnings(card: ModelCard | None, monthly_active_users: float | None) -> list[str]:
    """The licensee's monthly active users (company-wide, as the licence counts them — not the plan's request volume)
    against the card's licence limit; the clause is quoted so the user can check the date it counts on."""
    if card is None or monthly_active_users is None or card.licence_mau_limit is None:
        return []
    if monthly_active_users <= card.licence_mau_limit:
        return []
    clause = f" (the licence: {card.licence_mau_clause})" if card.licence_mau_clause else ""
    return [f"licence: {card.name} is under the {card.licence} licence, which requires a separate licence above "
            f"{card.licence_mau_limit:,.0f} monthly active users; this plan assumes {monthly_active_users:,.0f}{clause}"]

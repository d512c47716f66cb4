"""How the reports write a number (shared by the report page and the drift section)."""

from __future__ import annotations

import math
from typing import Any


def fmt(value: Any) -> str:
    """A number as a person reads it (4 significant digits, thousands separated); ``None``: —."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1e5 else f"{value:.4g}"
    return str(value)

"""The Airflow plugin of airflow-alignment, registered through the ``airflow.plugins`` entry
point (no file is copied into ``plugins/``).

``AlignmentPlugin`` is loaded on first access: operators import :mod:`.links` when a DAG file
is parsed, and that must not build the FastAPI app.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AlignmentPlugin"]


def __getattr__(name: str) -> Any:
    if name == "AlignmentPlugin":
        from airflow_alignment.plugin._plugin import AlignmentPlugin

        return AlignmentPlugin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

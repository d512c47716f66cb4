"""A time window over a timestamp column: the rows a feedback sensor or a drift check judges.

``Window(column="predicted_at", seconds=7 * 86400, end="2026-03-08T00:00:00+00:00")`` keeps the
rows whose ``predicted_at`` lies in ``(end - seconds, end]``. Timestamps without a time zone
count as UTC, on both sides.

The same bounds filter a DataFrame (:meth:`Window.keep`, pandas imported when called) and a
SQL source (:func:`airflow_alignment.io.sql.relation` with ``window=``: a ``WHERE`` inside the
database, so rows outside the window never leave it). Importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError, SpecError, did_you_mean, preview

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Window:
    """Rows whose ``column`` lies in ``(end - seconds, end]``.

    :param column: the timestamp column.
    :param seconds: the window's length.
    :param end: the window's end, ISO text (``2026-03-08T00:00:00+00:00``; no zone means UTC).
    """

    column: str
    seconds: float
    end: str

    def __post_init__(self) -> None:
        self.end_utc  # noqa: B018 - a malformed end fails here, naming the argument

    @property
    def end_utc(self) -> datetime:
        try:
            moment = datetime.fromisoformat(str(self.end))
        except ValueError:
            raise SpecError(
                f"window_end: expected an ISO date and time, e.g. 2026-03-08T00:00:00+00:00; got {self.end!r}"
            ) from None
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)

    @property
    def start_utc(self) -> datetime:
        return self.end_utc - timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        return f"{self.column} in ({self.start_utc.isoformat()}, {self.end_utc.isoformat()}]"

    def keep(self, frame: pd.DataFrame, where: str = "the data") -> pd.DataFrame:
        """The rows of ``frame`` inside the window."""
        import pandas as pd

        if self.column not in frame.columns:
            names = [str(c) for c in frame.columns]
            raise DataError(
                f"timestamp_column {self.column!r} not in {where}.{did_you_mean(self.column, names)} "
                f"Columns: [{preview(names, limit=30)}]"
            )
        try:  # ISO 8601 in any of its forms, row by row ('T' or ' ', with or without an offset)
            stamps = pd.to_datetime(frame[self.column], utc=True, format="ISO8601")
        except (TypeError, ValueError) as exc:
            raise DataError(f"timestamp_column {self.column!r} of {where}: not ISO 8601 timestamps ({exc})") from exc
        inside = (stamps > pd.Timestamp(self.start_utc)) & (stamps <= pd.Timestamp(self.end_utc))
        return frame[inside.to_numpy()]


def window_arguments(owner: str, window: Any, column: Any) -> None:
    """Parse-time check of a ``window=`` / ``timestamp_column=`` pair (both or neither)."""
    if window is not None and (not isinstance(window, timedelta) or window <= timedelta(0)):
        raise SpecError(f"{owner}.window: expected a positive timedelta, e.g. timedelta(days=7); got {window!r}")
    if (window is None) != (column is None):
        raise SpecError(f"{owner}: window= and timestamp_column= go together (the window is over that column)")


def window_end(given: str | None, context: Any) -> str:
    """The rendered ``window_end``, else the data interval's end, else now (ISO text)."""
    end = given or (context.get("data_interval_end") if context else None) or datetime.now(timezone.utc)
    return end if isinstance(end, str) else end.isoformat()

"""Charts of the HTML reports, drawn by matplotlib and inlined as SVG (no script, no image file).

- :func:`group_chart`: one fairness metric by group, as horizontal bars with the bootstrap
  interval as whiskers, the overall value, and the constraint's bounds as vertical lines.
- :func:`trend_chart`: numbers of one check across DAG runs, with the bounds.

Text stays text in the SVG (``svg.fonttype: none``), so a report is small and searchable;
matplotlib escapes it as XML, and math-text parsing is off so a group called ``$5k`` is
shown as given. Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global
figure manager) under a lock, because rc settings are process-global and the API server
renders on several threads.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

STATUS_COLOURS = {"passed": "#2e7d32", "warned": "#ef6c00", "failed": "#c62828", "error": "#6a1b9a"}
_BAR, _PAIR, _OVERALL = "#90a4ae", "#1565c0", "#455a64"
_LINE = {"block": "#c62828", "warn": "#ef6c00"}
_RC = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_LOCK = threading.Lock()


def group_chart(
    metric: str,
    block: Mapping[str, Any],
    *,
    features: Sequence[str],
    lines: Sequence[Mapping[str, Any]] = (),
    highlight: Sequence[Mapping[str, Any]] = (),
    salt: str = "",
) -> str:
    """An SVG of ``metric`` by group, from a fairness ``metrics`` block.

    :param block: ``{"overall", "by_group": [{group, value, count, ci?}]}``.
    :param lines: bounds to draw: ``{"x", "label", "severity"}``.
    :param highlight: the groups behind the judged aggregate, drawn in a stronger colour.
    :param salt: makes the SVG's internal ids unique within one HTML page.
    """
    rows = list(block.get("by_group") or [])
    labels = [_short(group_label(r.get("group"), features), 36) for r in rows]
    values = [_finite(r.get("value")) for r in rows]
    picked = [r.get("group") in list(highlight) for r in rows]
    overall = _finite(block.get("overall"))
    has_ci = any(r.get("ci") for r in rows)
    legend_rows = math.ceil((any(picked) + has_ci + (overall is not None) + len(lines)) / 2)
    bottom = 0.5 + 0.19 * legend_rows
    with _drawing(6.4, 0.27 * len(rows) + 0.35 + bottom) as (fig, ax):
        y = list(range(len(rows)))[::-1]
        ax.barh(y, [v or 0.0 for v in values], color=[_PAIR if p else _BAR for p in picked], height=0.6)
        if any(picked):
            ax.barh([], [], color=_PAIR, label="groups behind the aggregate")
        if has_ci:
            low = [v - r["ci"][0] if v is not None and r.get("ci") else 0.0 for v, r in zip(values, rows, strict=False)]
            high = [
                r["ci"][1] - v if v is not None and r.get("ci") else 0.0 for v, r in zip(values, rows, strict=False)
            ]
            ax.errorbar(
                [v or 0.0 for v in values],
                y,
                xerr=[low, high],
                fmt="none",
                ecolor="#263238",
                elinewidth=1,
                capsize=2.5,
                label="confidence interval",
            )
        for yi, value, row in zip(y, values, rows, strict=False):
            text = "undefined" if value is None else f"{value:.3g}"
            end = max(value or 0.0, _finite((row.get("ci") or [None, None])[1]) or 0.0)
            ax.annotate(
                text,
                (end, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7.5,
                color="#37474f",
                parse_math=False,
            )
        if overall is not None:
            ax.axvline(overall, color=_OVERALL, linestyle=":", linewidth=1.2, label=f"overall {overall:.3g}")
        for line in lines:
            ax.axvline(
                line["x"],
                color=_LINE.get(line.get("severity", "block"), _LINE["block"]),
                linestyle="--",
                linewidth=1.3,
                label=line["label"],
            )
        ax.set_yticks(y, labels, parse_math=False)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_ylabel(" / ".join(features), parse_math=False)
        ax.set_xlabel(metric, parse_math=False)
        ax.set_xlim(0, _upper([*values, overall, *(x["x"] for x in lines), *_ci_ends(rows)]))
        ax.grid(axis="x", color="#eceff1")
        ax.set_axisbelow(True)
        if legend_rows:
            fig.legend(loc="lower left", bbox_to_anchor=(0.01, 0.01), ncols=2, fontsize=7, frameon=False)
        _margins(fig, left=0.45 + 0.068 * max(map(len, labels), default=4), bottom=bottom)
        return _svg(fig, salt or metric)


def trend_chart(
    title: str,
    runs: Sequence[str],
    series: Sequence[Mapping[str, Any]],
    *,
    salt: str = "",
) -> str:
    """An SVG of values across runs.

    :param runs: the x labels, oldest first.
    :param series: ``{"name", "values": [float | None], "statuses": [str | None], "min", "max"}``.
    """
    labels = [_short(r, 20) for r in runs]
    rotated = 0.2 + 0.033 * max(map(len, labels), default=4)  # inches under the axis for the labels
    bottom = rotated + 0.19 * math.ceil(len(series) / 2) + 0.1
    with _drawing(6.4, 2.0 + bottom) as (fig, ax):
        x = list(range(len(runs)))
        for s in series:
            values = [_finite(v) for v in s["values"]]
            line = ax.plot(x, [math.nan if v is None else v for v in values], linewidth=1.4, label=s["name"])[0]
            colours = [STATUS_COLOURS.get(st or "", "#9e9e9e") for st in s.get("statuses") or [None] * len(x)]
            points = [(xi, v, c) for xi, v, c in zip(x, values, colours, strict=False) if v is not None]
            if points:
                ax.scatter(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    c=[p[2] for p in points],
                    s=22,
                    zorder=3,
                    edgecolors=line.get_color(),
                    linewidths=1.0,
                )
            for key in ("min", "max"):
                if _finite(s.get(key)) is not None:
                    ax.axhline(s[key], color=line.get_color(), linestyle="--", linewidth=0.9, alpha=0.8)
        ax.set_xticks(x, labels, rotation=30, ha="right", rotation_mode="anchor", fontsize=7, parse_math=False)
        ax.set_xlim(-0.5, max(len(runs), 2) - 0.5)
        ax.set_title(title, loc="left", fontsize=9, parse_math=False)
        ax.grid(axis="y", color="#eceff1")
        ax.set_axisbelow(True)
        if series:
            fig.legend(loc="lower left", bbox_to_anchor=(0.01, 0.01), ncols=2, fontsize=7, frameon=False)
        _margins(fig, left=max(0.55, 0.045 * len(labels[0]) if labels else 0.55), bottom=bottom, top=0.3)
        return _svg(fig, salt or title)


def group_label(group: Any, features: Sequence[str] = ()) -> str:
    """``{"sex": "F", "race": "B"}`` -> ``F / B`` (the axis names the features)."""
    if isinstance(group, Mapping):
        if list(group) == list(features):
            return " / ".join(str(v) for v in group.values())
        return ", ".join(f"{k}={v}" for k, v in group.items())
    return str(group)


@contextmanager
def _drawing(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    """A figure and its axes, built and saved under our rc settings and the lock."""
    import matplotlib
    from matplotlib.figure import Figure

    with _LOCK, matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height))  # margins by hand: constrained layout costs 0.2 s a chart
        yield fig, fig.add_subplot()


def _margins(fig: Any, *, left: float, bottom: float, right: float = 0.3, top: float = 0.2) -> None:
    """Margins in inches: room for tick labels, axis labels and legends."""
    width, height = fig.get_size_inches()
    fig.subplots_adjust(
        left=min(left, 0.45 * width) / width,
        right=1 - right / width,
        bottom=min(bottom, 0.7 * height) / height,
        top=1 - top / height,
    )


def _svg(fig: Any, salt: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": f"alignment-{salt}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _ci_ends(rows: Sequence[Mapping[str, Any]]) -> list[float | None]:
    return [_finite(r["ci"][1]) for r in rows if r.get("ci")]


def _upper(values: Sequence[float | None]) -> float:
    top = max((v for v in values if v is not None), default=1.0)
    return 1.0 if top <= 1.0 else top * 1.08


def _short(run_id: str, limit: int = 28) -> str:
    return run_id if len(run_id) <= limit else run_id[: limit - 1] + "…"

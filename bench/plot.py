"""The sweep as a picture, written as plain SVG (no plotting library to install).

Left: p99 latency against offered deliveries per second for the N=1,000 runs, both axes
logarithmic, with the 100 ms line. Right: fan-out capacity per run, in deliveries per second.
"""

import math
from html import escape
from pathlib import Path
from typing import Any

COLOURS = {
    ("parley", 2): "#1f77b4",
    ("parley", 1): "#17becf",
    ("b0", 2): "#2ca02c",
    ("b1", 2): "#d62728",
}
NAMES = {
    ("parley", 2): "Parley, 2 processes",
    ("parley", 1): "Parley, 1 process",
    ("b0", 2): "B0 bare websockets",
    ("b1", 2): "B1 tutorial Channels",
}
WIDTH, HEIGHT = 960, 420
PANEL = {"top": 50, "bottom": 350, "height": 300}


def _log_scale(low: float, high: float, start: float, end: float):
    low, high = math.log10(low), math.log10(high)
    if high <= low:
        high = low + 1

    def place(value: float) -> float:
        value = math.log10(max(value, 10**low))
        return start + (value - low) / (high - low) * (end - start)

    return place


def _decades(low: float, high: float) -> list[float]:
    return [
        10**power for power in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ]


def _text(x: float, y: float, text: str, **attributes: Any) -> str:
    extra = " ".join(f'{key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" {extra}>{escape(text)}</text>'


def _latency_panel(results: dict[str, Any], left: float, right: float) -> list[str]:
    series = {}
    for run in results["fanout"]:
        if run["label"] != "N=1000":
            continue
        points = sorted(
            (step["offered_rate"] * run["fanout"], step["latency_ms"]["p99"])
            for step in [*run["steps"], *run["at_fraction"].values()]
            if step.get("latency_ms")
        )
        series[(run["server"], run.get("processes", 2))] = points
    values = [point for points in series.values() for point in points]
    parts = [
        _text(
            left, 30, "p99 latency vs offered load, one room of 1,000 sockets", font_weight="bold"
        )
    ]
    if not values:
        return [*parts, _text(left, 200, "no N=1000 runs in these results")]
    x_low = 10 ** math.floor(math.log10(min(x for x, _ in values)))
    x_high = 10 ** math.ceil(math.log10(max(x for x, _ in values)))
    y_low, y_high = 1.0, 10 ** math.ceil(math.log10(max(100.0, max(y for _, y in values))))
    place_x = _log_scale(x_low, x_high, left, right)
    place_y = _log_scale(y_low, y_high, PANEL["bottom"], PANEL["top"])
    parts.append(_axes(left, right))
    for tick in _decades(x_low, x_high):
        parts.append(
            _text(
                place_x(tick),
                PANEL["bottom"] + 16,
                f"{tick:,.0f}",
                text_anchor="middle",
                font_size="11",
            )
        )
    for tick in _decades(y_low, y_high):
        parts.append(
            _text(left - 6, place_y(tick) + 4, f"{tick:,.0f}", text_anchor="end", font_size="11")
        )
    limit = place_y(100)
    parts.append(
        f'<line x1="{left}" y1="{limit:.1f}" x2="{right}" y2="{limit:.1f}" '
        'stroke="#999" stroke-dasharray="4 3"/>'
    )
    parts.append(
        _text(right - 4, limit - 4, "100 ms", text_anchor="end", font_size="11", fill="#666")
    )
    for row, (key, points) in enumerate(sorted(series.items())):
        colour = COLOURS.get(key, "#555")
        path = " ".join(f"{place_x(x):.1f},{place_y(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{place_x(x):.1f}" cy="{place_y(y):.1f}" r="3" fill="{colour}"/>'
            for x, y in points
        ]
        parts.append(
            _text(
                left + 10,
                PANEL["top"] + 14 + 15 * row,
                NAMES.get(key, str(key)),
                fill=colour,
                font_size="12",
            )
        )
    parts.append(
        _text(
            (left + right) / 2,
            PANEL["bottom"] + 36,
            "offered deliveries per second",
            text_anchor="middle",
            font_size="12",
        )
    )
    parts.append(_text(left - 40, PANEL["top"] - 8, "ms", font_size="12"))
    return parts


def _axes(left: float, right: float) -> str:
    return (
        f'<polyline points="{left},{PANEL["top"]} {left},{PANEL["bottom"]} '
        f'{right},{PANEL["bottom"]}" fill="none" stroke="#333"/>'
    )


def _capacity_panel(results: dict[str, Any], left: float, right: float) -> list[str]:
    labels: list[str] = []
    bars: dict[tuple[str, int, str], float] = {}
    for run in results["fanout"]:
        if run["capacity_deliveries"]:
            if run["label"] not in labels:
                labels.append(run["label"])
            bars[(run["server"], run.get("processes", 2), run["label"])] = run[
                "capacity_deliveries"
            ]
    # One-room runs by size, then the many-rooms runs.
    labels.sort(key=lambda label: (0, int(label[2:])) if label.startswith("N=") else (1, 0))
    parts = [_text(left, 30, "fan-out capacity, deliveries per second", font_weight="bold")]
    if not bars:
        return [*parts, _text(left, 200, "no capacities in these results")]
    keys = [key for key in COLOURS if any(bar[:2] == key for bar in bars)]
    high = 10 ** math.ceil(math.log10(max(bars.values())))
    low = 10 ** math.floor(math.log10(min(bars.values())))
    if low >= high:
        low = high / 10
    place_y = _log_scale(low, high, PANEL["bottom"], PANEL["top"])
    parts.append(_axes(left, right))
    for tick in _decades(low, high):
        parts.append(
            _text(left - 6, place_y(tick) + 4, f"{tick:,.0f}", text_anchor="end", font_size="11")
        )
    group = (right - left) / max(1, len(labels))
    width = group * 0.8 / max(1, len(keys))
    for column, label in enumerate(labels):
        base = left + column * group + group * 0.1
        for row, key in enumerate(keys):
            value = bars.get((*key, label))
            if value is None:
                continue
            top = place_y(value)
            parts.append(
                f'<rect x="{base + row * width:.1f}" y="{top:.1f}" width="{width:.1f}" '
                f'height="{PANEL["bottom"] - top:.1f}" fill="{COLOURS[key]}"/>'
            )
        parts.append(
            _text(
                left + (column + 0.5) * group,
                PANEL["bottom"] + 16,
                label,
                text_anchor="middle",
                font_size="11",
            )
        )
    for row, key in enumerate(keys):
        parts.append(
            _text(
                right - 4,
                PANEL["top"] + 14 + 15 * row,
                NAMES[key],
                fill=COLOURS[key],
                font_size="12",
                text_anchor="end",
            )
        )
    return parts


def write_svg(results: dict[str, Any], path: Path) -> None:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        *_latency_panel(results, 70, 450),
        *_capacity_panel(results, 570, 930),
        _text(
            70,
            HEIGHT - 14,
            f"Parley bench, {results['meta']['started_at']}, plan "
            f"{results['meta']['plan']}, {results['meta']['cores']} cores",
            font_size="11",
            fill="#666",
        ),
        "</svg>",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n")

"""Bar charts drawn on the server as SVG: no script, no CDN, nothing the CSP must allow.

Only the geometry is made here; templates/admin/dashboard/bar_chart.html draws it and puts
the same figures in a table for screen readers and for anyone who would rather read.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 560
LABEL_WIDTH = 250
VALUE_WIDTH = 60
ROW = 30
BAR = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str
    y: int
    text_y: int
    width: int
    value_x: int


@dataclass(frozen=True)
class Chart:
    title: str
    width: int
    height: int
    label_width: int
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


def bar_chart(title: str, rows: list[tuple[str, int, str]]) -> Chart:
    """Horizontal bars, one per (label, value, note), scaled to the largest value."""
    room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    largest = max((value for _, value, _ in rows), default=0) or 1
    bars = []
    for index, (label, value, note) in enumerate(rows):
        width = round(room * value / largest)
        y = index * ROW + (ROW - BAR) // 2
        bars.append(
            Bar(
                label=label,
                value=value,
                note=note,
                y=y,
                text_y=y + BAR - 4,
                width=max(width, 2 if value else 0),
                value_x=LABEL_WIDTH + width + 6,
            )
        )
    return Chart(
        title=title,
        width=WIDTH,
        height=max(ROW * len(rows), ROW),
        label_width=LABEL_WIDTH,
        bars=bars,
    )

"""The figures table: written to test-artifacts/ on every run, and into docs/reliability.md
between its markers when PARLEY_WRITE_RELIABILITY=1 (see docs/reliability.md, "Reproducing").
"""

import os
import re
from dataclasses import dataclass

from tests.e2e.servers import ROOT
from tests.faults.timeline import Figures

ARTIFACTS = ROOT / "test-artifacts"
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
COLUMNS = [
    "scenario",
    "database",
    "layer",
    "run",
    "sent",
    "persisted",
    "acked",
    "delivered",
    "lost",
    "duplicated",
    "misordered",
    "phantom",
    "result",
    "seconds",
    "notes",
]


def long_run() -> bool:
    """PARLEY_FAULTS_LONG=1 runs the long versions (docs/reliability.md)."""
    return os.environ.get("PARLEY_FAULTS_LONG", "") == "1"


def scaled(ci: float, long: float) -> float:
    return long if long_run() else ci


@dataclass
class Row:
    scenario: str
    database: str
    layer: str
    figures: Figures
    result: str
    seconds: float

    def cells(self) -> list[str]:
        f = self.figures
        values = [
            self.scenario,
            self.database,
            self.layer,
            "long" if long_run() else "CI",
            f.sent,
            f.persisted,
            f.acked,
            f.delivered,
            f.lost,
            f.duplicated,
            f.misordered,
            f.phantom,
            self.result,
            f"{self.seconds:.0f}",
            "; ".join(f.notes),
        ]
        return [str(value).replace("|", "/") for value in values]


def table(lines: list[list[str]]) -> str:
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    return "\n".join([header, rule, *("| " + " | ".join(cells) + " |" for cells in lines)])


def write(rows: list[Row]) -> None:
    if not rows:
        return
    key = f"{rows[0].database}-{rows[0].layer}".replace(" ", "-")
    ARTIFACTS.mkdir(exist_ok=True)
    current = [row.cells() for row in sorted(rows, key=lambda row: _order(row.scenario))]
    (ARTIFACTS / f"reliability-{key}.md").write_text(table(current) + "\n")
    if os.environ.get("PARLEY_WRITE_RELIABILITY") == "1":
        _update_doc(current)


def _order(scenario: str) -> tuple[int, str]:
    """By scenario number: "1. ...", "1b. ...", "10. ..."."""
    digits = re.match(r"\d+", scenario)
    return (int(digits.group()) if digits else 99, scenario)


def _update_doc(current: list[list[str]]) -> None:
    """Replace this run's rows (same database, layer and run) and keep the others."""
    text = DOC.read_text()
    head, _, rest = text.partition(START)
    old_table, _, tail = rest.partition(END)
    runs = {(cells[1], cells[2], cells[3]) for cells in current}
    kept = []
    for line in old_table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == len(COLUMNS) and (cells[1], cells[2], cells[3]) not in runs:
            kept.append(cells)
    lines = sorted(kept + current, key=lambda cells: (_order(cells[0]), cells[1], cells[3]))
    DOC.write_text(f"{head}{START}\n{table(lines)}\n{END}{tail}")

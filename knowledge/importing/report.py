"""What an import found and did, printed for the admin as a diff with counts by region."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from knowledge.importing.options import RowProblem
from knowledge.importing.readers import Table
from knowledge.schema import College


@dataclass
class Change:
    """What the import does to one college."""

    status: str  # added, changed, unchanged, elsewhere
    record: College
    row: int
    file: str  # knowledge file (relative to the knowledge folder) the record lives or will live in
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)


@dataclass
class ImportReport:
    """Everything the import found and did, to print as a diff."""

    table: Table
    header_row: int
    ignored_columns: list[str]
    changes: list[Change] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    before: Counter[str] = field(default_factory=Counter)  # colleges per region before the import

    def of(self, status: str) -> list[Change]:
        """The changes with this status."""
        return [c for c in self.changes if c.status == status]

    @property
    def exit_code(self) -> int:
        """0 when at least one college was read from the list, 1 when none could be."""
        return 0 if self.changes else 1

    def format(self) -> str:
        """The diff, the row problems and what was written, as an admin reads them."""
        where = f", sheet «{self.table.sheet}»" if self.table.sheet else ""
        below = sum(1 for number, row in self.table.rows if number > self.header_row and any(row))
        lines = [f"{self.table.file}{where}: header in row {self.header_row}, {below} row(s) below it"]
        if self.ignored_columns:
            lines.append("columns not imported: " + ", ".join(f"«{c}»" for c in self.ignored_columns))
        for status, title, mark in (("added", "added", "+"), ("changed", "changed", "~"),
                                    ("unchanged", "unchanged", "="),
                                    ("elsewhere", "exists in another file, not changed", "!")):
            group = self.of(status)
            if not group:
                continue
            lines.append(f"{title} ({len(group)}):")
            for change in group:
                place = f" in {change.file}" if status in ("changed", "elsewhere") else f" → {change.file}"
                lines.append(f"  {mark} {change.record.id}: {change.record.name} (row {change.row}){place}")
                lines.extend(f"      {name}: {_show(old)} → {_show(new)}" for name, old, new in change.diffs)
                if status == "elsewhere":
                    lines.append(f"      {change.file} is written by hand: change it there if the list is right")
        if self.problems:
            lines.append(f"row problems ({len(self.problems)}):")
            lines.extend(f"  {p}" for p in sorted(self.problems, key=lambda p: p.row))
        lines.extend(self._region_counts())
        lines.extend(self.notes)
        if not self.changes:
            lines.append("nothing could be imported")
        elif self.dry_run:
            lines.append("dry run: nothing written")
        elif self.written:
            lines.append("wrote " + ", ".join(self.written) + "; the bot picks it up after /reload")
        else:
            lines.append("nothing to write: the knowledge base already says all this")
        return "\n".join(lines)

    def _region_counts(self) -> list[str]:
        """Colleges per region before and after, for the regions this import adds to."""
        added = Counter(c.record.region for c in self.of("added"))
        if not added:
            return []
        lines = ["colleges per region (before → after):"]
        lines.extend(f"  {region}: {self.before[region]} → {self.before[region] + count}"
                     for region, count in sorted(added.items()))
        return lines


def _show(value: Any) -> str:
    """A field value as the diff prints it."""
    if value in (None, "", []):
        return "(empty)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return f"«{value}»" if isinstance(value, str) else str(value)

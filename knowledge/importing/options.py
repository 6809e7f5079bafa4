"""What an import is asked to do, and the errors that stop it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("name", "name_kk", "city", "region", "address", "specialities", "ownership", "website", "phone",
          "source", "year", "source_detail")


class ImporterError(Exception):
    """The import cannot run; the message says what to change."""


class ImportUsageError(ImporterError):
    """An option is missing or wrong: `--source`, `--as-of`, `--map`, `--region`, `--sheet` or `--out`."""


class ImportFileError(ImporterError):
    """The list cannot be read: wrong format, broken file, or no header row the import understands."""


@dataclass
class ImportOptions:
    """What the admin asked for on the command line."""

    file: Path
    source: str = ""  # the whole list's citation; rows with `source` and `year` cells carry their own
    as_of: int | None = None
    dry_run: bool = False
    mapping: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    out: Path | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one row of the list."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"

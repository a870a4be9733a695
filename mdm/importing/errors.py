"""Errors raised or reported by the file-reading layer of the importer.

A whole-file problem is raised as `ImportFileError`; a problem confined to one
row or one cell is returned as a `RowError` or `CellError` value so the import
can report it and carry on.
"""

from __future__ import annotations

from dataclasses import dataclass

from mdm.importing import messages


class ImportFileError(Exception):
    """The file as a whole cannot be imported.

    `code` is a short machine-readable reason (`empty_file`, `zip_bomb`, ...);
    `message` is a complete English sentence meant for the person uploading,
    `template` (from `mdm.importing.messages`) filled with `params`, which the
    web pages show translated (`mdm.import_messages`).
    """

    def __init__(self, code: str, template: str, **params: object) -> None:
        message = template % params if params else template
        super().__init__(message)
        self.code = code
        self.message = message
        self.template = template
        self.params = params

    def __repr__(self) -> str:
        return f"ImportFileError({self.code!r}, {self.message!r})"


def sheet_not_found(sheet: str | int, names: list[str]) -> ImportFileError:
    """The error for a sheet asked for by a name or position the workbook
    does not have."""
    return ImportFileError(
        "sheet_not_found", messages.SHEET_NOT_FOUND, sheet=sheet, names=", ".join(names)
    )


@dataclass(frozen=True)
class RowError:
    """One row (or JSON Lines line) that could not be read; the rest continue."""

    row: int
    code: str
    message: str


@dataclass(frozen=True)
class CellError:
    """One cell whose value could not be cleaned into its field's form."""

    column: str
    code: str
    message: str

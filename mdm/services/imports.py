"""Bulk import of customer files: upload, confirm the column mapping, load.

Rows are validated one by one. In per-row mode good rows go in and bad ones
are reported (row, column, reason); in all-or-nothing mode one bad row means
nothing is written. Loading is idempotent: each row is an upsert keyed by
its ID column, or by the file's name and the row number when it has none, so
importing the same file again changes nothing and a corrected file updates
only what changed. Matching runs over the loaded records afterwards.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from itertools import islice
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.import_messages import import_file_error_text
from mdm.importing import (
    CellError,
    ImportFileError,
    JsonRecord,
    Limits,
    RawRow,
    RowError,
    Table,
    open_table,
)
from mdm.importing.headers import (
    NAME_COLUMN_FIELDS,
    ProposedMapping,
    apply_saved_mapping,
    header_line_check,
)
from mdm.importing.json_documents import Layout
from mdm.importing.summary_rows import summary_row_label
from mdm.importing.values import DATE_FIELDS, cell_cleaner, day_order
from mdm.models import ImportJob, ImportRowError, SourceSystem
from mdm.models.audit import AuditEvent
from mdm.selectors.imports import (
    import_job_made_from_check_get,
    import_job_sheet_list,
)
from mdm.services import audit
from mdm.services.errors import DomainError
from mdm.services.golden_records import golden_records_refresh_of
from mdm.services.import_matching import ImportMatching, matching_after_import
from mdm.services.import_tables import (
    proposed_mapping,
    record_source_id,
    rows_and_errors,
    table_rows,
)
from mdm.services.merged_rows import MergedFill, conflicting_header, joined_payload
from mdm.services.source_records import (
    PrefilledUpserts,
    clean_source_id,
    source_record_upsert,
    source_records_prefill,
)

# Rows per transaction in per-row mode: big enough that the per-chunk queries
# and commits vanish, small enough that a crash loses little.
CHUNK_ROWS = 2000
PREVIEW_ROWS = 5
# Fields of a sheet column that fill the address and contact parts.
_ADDRESS_FIELDS = {
    "province": "province",
    "city": "city",
    "district": "district",
    "address": "detail",
}
_CONTACT_FIELDS = {"contact": "name", "contact_title": "title"}

Progress = Callable[[int, int], None]


class ImportRejected(DomainError):
    """A file that cannot be imported as a whole (message for the user)."""


@dataclass(frozen=True)
class Preview:
    mapping: ProposedMapping | None  # None: the system's field mapping reads records
    sample: list[list[str]]
    # Example rows with neither name nor ID under one with a name, their
    # cells left blank, not merged: a customer's contacts, maybe
    # (`ImportJob.blank_rows_continue`).
    keyless_rows: int = 0


@audit.audited(AuditEvent.Action.IMPORT_CREATE, on="system")
@transaction.atomic
def import_job_create(
    *,
    system: SourceSystem,
    content: bytes,
    filename: str,
    user=None,
    mode: str = ImportJob.Mode.PER_ROW,
    blank_rows_continue: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
    run_matching: bool = True,
) -> ImportJob:
    """Store the upload and read enough of it to propose a column mapping.

    Raises ImportFileError (clear message) for files that cannot be read; the
    job is then not created.
    """
    with _open(content, encoding=encoding, sheet=sheet) as table:
        mapping = proposed_mapping(system, table, import_limits())
    job = ImportJob(
        source_system=system,
        original_name=PurePath(filename).name[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        format=str(table.format),
        encoding=table.encoding or "",
        sheet=table.sheet or "",
        sheet_names=table.sheet_names,
        hidden_sheets=table.hidden_sheets,
        layout=dataclasses.asdict(table.layout) if table.layout else None,
        mode=mode,
        blank_rows_continue=blank_rows_continue,
        run_matching=run_matching,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    _proposal_keep(job, mapping)
    job.file.save(
        f"{job.sha256}{PurePath(filename).suffix[:10]}",
        ContentFile(content),
        save=False,
    )
    job.save()
    return job


def _proposal_keep(job: ImportJob, mapping: ProposedMapping | None) -> None:
    if mapping is not None:
        job.header_row = mapping.header_row
        job.mapping = {c.header: c.field for c in mapping.columns if c.header}


def import_job_sheet_choose(*, job: ImportJob, sheet: str) -> ImportJob:
    """Read another sheet of a job's workbook before its mapping is
    confirmed: the mapping is proposed again from that sheet's headers."""
    if job.status != ImportJob.Status.PENDING:
        raise ImportRejected(_("This import has already been started."))
    if sheet not in job.sheet_names:
        raise ImportRejected(
            _("The workbook has no sheet named “%(sheet)s”.") % {"sheet": sheet}
        )
    job.sheet = sheet
    with _open_job(job) as table:
        _proposal_keep(job, proposed_mapping(job.source_system, table, import_limits()))
    job.save(update_fields=["sheet", "header_row", "mapping"])
    return job


def _reads_records(job: ImportJob, table: Table) -> bool:
    # A job on records without a column mapping: the system's field mapping.
    return table.holds_records and not job.mapping


def import_job_preview(*, job: ImportJob) -> Preview:
    """The mapping in force and the first data rows, for confirmation."""
    with _open_job(job) as table:
        if _reads_records(job, table):
            sample = [
                [str(item.data)]
                for item in _take(table.records(), PREVIEW_ROWS)
                if isinstance(item, JsonRecord)
            ]
            return Preview(mapping=None, sample=sample)
        mapping = apply_saved_mapping(
            table_rows(table, import_limits(), job.mapping), job.mapping
        )
        rows = _take(
            (
                r
                for r in table_rows(table, import_limits(), job.mapping)
                if r.number > mapping.header_row
            ),
            PREVIEW_ROWS,
        )
        keyless = _keyless_rows(mapping, _texts(rows))
        if keyless and table.can_merge_cells:
            # Shown as the import reads them: cells merged down over a
            # customer's contact rows hold the merge's value (its name), and
            # only the rows left blank are counted.
            columns = [(c.index, c.header, c.field) for c in mapping.columns]
            fill = MergedFill(
                table.merges(), header_row=mapping.header_row, columns=columns
            )
            rows = [fill.filled(row)[0] for row in rows]
            keyless = _keyless_rows(mapping, _texts(rows))
        return Preview(mapping, _texts(rows), keyless)


def _texts(rows: list[RawRow]) -> list[list[str]]:
    return [["" if c is None else str(c) for c in row.cells] for row in rows]


def _keyless_rows(mapping: ProposedMapping, sample: list[list[str]]) -> int:
    names = [c.index for c in mapping.columns if c.field in NAME_COLUMN_FIELDS]
    keys = names + [c.index for c in mapping.columns if c.field == "source_id"]

    def filled(row: list[str], columns: list[int]) -> bool:
        return any(i < len(row) and row[i].strip() for i in columns)

    count, named = 0, False
    for row in sample:
        if named and not filled(row, keys) and any(c.strip() for c in row):
            count += 1
        named = named or filled(row, names)
    return count


@audit.audited(AuditEvent.Action.IMPORT_CONFIRM, on="job")
def import_job_confirm(
    *,
    job: ImportJob,
    mapping: dict[str, str | None],
    blank_rows_continue: bool | None = None,
    other_sheets: Sequence[str] = (),
) -> ImportJob:
    """Save the importer's confirmed mapping (header -> field) and whether
    rows without a name or ID continue the customer above (None: as the job
    says), and queue the job.

    Each of `other_sheets` (of the same workbook) becomes an import of its
    own, confirmed with the same mapping and options and queued to run after
    this one (`ImportJob.part_of`, `import_job_next_sheet_get`). Nothing is
    confirmed when one of them lacks the mapped name column."""
    if job.status not in (ImportJob.Status.PENDING, ImportJob.Status.FAILED):
        raise ImportRejected(_("This import has already been started."))
    with _open_job(job) as table:
        columns = not _reads_records(job, table)
        header_row = _confirmed_header_row(table, mapping) if columns else None
    blank = (
        job.blank_rows_continue if blank_rows_continue is None else blank_rows_continue
    )
    others = [
        _other_sheet_job(job, sheet, mapping, blank)
        for sheet in dict.fromkeys(other_sheets)
    ]
    if columns:
        job.header_row, job.mapping = header_row, mapping
    job.blank_rows_continue = blank
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["mapping", "header_row", "blank_rows_continue", "status"])
    for other in others:
        other.save()
    return job


def _job_like(job: ImportJob, **changes: Any) -> ImportJob:
    """A new import of `job`'s stored upload, read and mapped as it is, with
    `changes` (not saved)."""
    fields = {
        name: getattr(job, name)
        for name in (
            "source_system",
            "original_name",
            "sha256",
            "format",
            "encoding",
            "sheet",
            "sheet_names",
            "hidden_sheets",
            "layout",
            "mapping",
            "header_row",
            "mode",
            "blank_rows_continue",
            "run_matching",
            "created_by",
        )
    }
    # The same stored file, not a copy of it.
    return ImportJob(file=job.file.name, **{**fields, **changes})


@audit.audited(AuditEvent.Action.IMPORT_CONFIRM, on="job")
def import_job_import_checked(*, job: ImportJob, user=None) -> ImportJob:
    """Import for real what a finished check read (`ImportJob.Mode.CHECK`):
    the check's file, sheet, mapping and options in a new per-row import,
    and likewise for the other sheets checked with it, queued to run one
    after the other. Returns the first one (to be run)."""
    group = import_job_sheet_list(job=job) or [job]
    # Locked: a second click imports nothing twice.
    list(ImportJob.objects.select_for_update().filter(pk__in=[j.pk for j in group]))
    done = all(each.status == ImportJob.Status.DONE for each in group)
    if job.mode != ImportJob.Mode.CHECK or not done:
        raise ImportRejected(_("Only a finished check can be imported."))
    if made := import_job_made_from_check_get(job=job):
        raise ImportRejected(
            _("This check was imported already: import %(pk)s.") % {"pk": made.pk}
        )
    imports: list[ImportJob] = []
    for checked in group:
        imported = _job_like(
            checked,
            mode=ImportJob.Mode.PER_ROW,
            status=ImportJob.Status.QUEUED,
            part_of=imports[0] if imports else None,
            from_check=checked,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        imported.save()
        imports.append(imported)
    return imports[0]


def _confirmed_header_row(table: Table, mapping: dict[str, str | None]) -> int:
    rows = table_rows(table, import_limits(), mapping)
    confirmed = apply_saved_mapping(rows, mapping)
    if not {c.field for c in confirmed.columns} & NAME_COLUMN_FIELDS:
        raise ImportRejected(_("Map at least one column to the customer name."))
    return confirmed.header_row


def import_job_sheets_fitting(
    *, job: ImportJob, mapping: dict[str, str | None]
) -> list[str]:
    """The workbook's other visible sheets whose header row `mapping` finds
    with its name column: those `import_job_confirm` can import with it."""
    fitting = []
    for sheet in job.sheet_names:
        if sheet == job.sheet or sheet in job.hidden_sheets:
            continue
        try:
            with _open(job.file.path, encoding=job.encoding, sheet=sheet) as table:
                _confirmed_header_row(table, mapping)
        except (ImportFileError, ImportRejected):
            continue
        fitting.append(sheet)
    return fitting


def _other_sheet_job(
    job: ImportJob, sheet: str, mapping: dict[str, str | None], blank: bool
) -> ImportJob:
    """An import of `sheet` confirmed with `job` (not saved yet)."""
    if sheet == job.sheet or sheet not in job.sheet_names:
        raise ImportRejected(
            _("The workbook has no other sheet named “%(sheet)s”.") % {"sheet": sheet}
        )
    other = _job_like(
        job,
        sheet=sheet,
        mapping=mapping,
        blank_rows_continue=blank,
        status=ImportJob.Status.QUEUED,
        part_of=job,
    )
    try:
        with _open_job(other) as table:
            other.header_row = _confirmed_header_row(table, mapping)
    except ImportFileError as exc:
        raise ImportRejected(
            _("Sheet “%(sheet)s”: %(problem)s")
            % {"sheet": sheet, "problem": import_file_error_text(exc)}
        ) from exc
    except ImportRejected as exc:
        raise ImportRejected(
            _(
                "Sheet “%(sheet)s” has no column this mapping reads as the "
                "customer name."
            )
            % {"sheet": sheet}
        ) from exc
    return other


@audit.audited(
    AuditEvent.Action.IMPORT_FINISH,
    on="job",
    describe=audit.describe_import,
    atomic=False,  # commits chunk by chunk
)
def import_job_run(
    *,
    job: ImportJob,
    progress: Progress | None = None,
    matching_progress: Callable[[ImportMatching], None] | None = None,
) -> ImportJob:
    """Load every row of a confirmed job (see the module docstring), then
    match; `progress` hears rows done of rows in all, `matching_progress`
    what matching has placed (both also saved on the job).

    Safe to run again after a crash: rows already loaded come back unchanged.
    """
    ImportRowError.objects.filter(job=job).delete()
    job.status = ImportJob.Status.RUNNING
    job.started_at = timezone.now()
    job.processed_rows = job.created_count = job.updated_count = 0
    job.unchanged_count = job.failed_count = job.joined_count = 0
    job.error = ""
    job.matching = {}
    job.save()
    try:
        with (
            _open_job(job, load_whole=True) as table,
            _heap_frozen() as settle,
            _fill_pool() as pool,
        ):
            load = _LOADS.get(job.mode, _load_per_row)
            load(job, table, progress, _Loader(pool, settle))
    except (ImportFileError, ImportRejected) as exc:
        _fail(job, str(exc))
        return job
    except Exception as exc:
        _fail(job, f"Unexpected error: {exc!r}")
        raise
    if job.run_matching and job.mode != ImportJob.Mode.CHECK:
        try:
            matching_after_import(
                report=partial(_matching_report, job, matching_progress)
            )
        except Exception as exc:
            # The rows are in; running the job again places the records
            # matching left without a golden record.
            _fail(job, f"The rows are loaded, but matching failed: {exc!r}")
            raise
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save()
    return job


@dataclass(frozen=True)
class _Item:
    number: int
    source_id: str | None
    payload: dict[str, Any] | None
    errors: list[CellError | RowError]
    values: list[object]  # the row's cells, made text only for the error report
    rows: int = 1  # a customer's rows: its name merged down over its contacts'


@contextmanager
def _heap_frozen() -> Iterator[Callable[[], None]]:
    """Keep the objects alive now (Django, the standardisers' lookup tables:
    pypinyin's phrase dictionary, phonenumbers' metadata, the region tables;
    some 400,000 containers) out of the garbage collector's full passes while
    the rows load, and give a `settle()` that does the same for what is
    alive after each chunk. An import allocates millions of objects and so
    sets off many full passes: walking those tables took 2.1 of the 7.3
    CPU-s of a 20,000-row import (0.8 s frozen). What is then left alive
    grows as the standardisers' caches fill (to ~450,000 containers, bounded
    by the caches' sizes), and each chunk's rows outlive the young
    generations: 34 full passes, 4.4 of the 24 CPU-s of a 100,000-row
    import, freed nothing. Settled after each chunk: one pass, 0.02 s.
    Reference counting frees objects as before; only a cycle among the
    frozen ones that turns to garbage waits for the end of the import. The
    fill pool's workers, forked inside, inherit the frozen heap. A process
    that froze its heap itself (a gunicorn worker, whose master froze the
    shared real-time index) keeps it frozen, unfreezing cannot tell its
    objects from ours, and so does not settle: what it froze would stay."""
    owned = not gc.get_freeze_count()
    gc.freeze()
    try:
        yield gc.freeze if owned else _unsettled
    finally:
        if owned:
            gc.unfreeze()


def _unsettled() -> None:
    pass


@contextmanager
def _fill_pool() -> Iterator[Executor | None]:
    """Worker processes for the rows' mapping and standardisation, forked
    from this one on first use (a small file never starts them); None where
    IMPORT_WORKERS is 0 or the platform cannot fork. The workers only
    compute, while this process reads the file and writes: every database
    write stays in this process and transaction."""
    workers = settings.IMPORT_WORKERS
    if workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    try:
        yield pool
    finally:
        pool.shutdown(cancel_futures=True)


@dataclass(frozen=True)
class _Loader:
    pool: Executor | None  # maps and standardises the rows (_fill_pool)
    settle: Callable[[], None]  # after each chunk (_heap_frozen)


def _load_per_row(
    job: ImportJob, table: Table, progress: Progress | None, loader: _Loader
) -> None:
    # Each chunk commits on its own: a crash loses at most one chunk, and the
    # rerun finds the rows before it unchanged.
    for chunk in _prefilled(job, _chunks(job, table), loader.pool):
        _commit_chunk(job, chunk, progress)
        loader.settle()
    _finish_count(job, progress)


def _load_all_or_nothing(
    job: ImportJob, table: Table, progress: Progress | None, loader: _Loader
) -> None:
    # One transaction for the whole file, streamed chunk by chunk. After the
    # first bad row nothing more is written (or mapped), but every row is
    # still read and validated so that the report lists all of them.
    bad: list[_Item] = []

    def validated() -> Iterator[list[_Item]]:
        for items in _chunks(job, table):
            bad.extend(item for item in items if item.errors)
            yield items

    try:
        with transaction.atomic():
            chunks = _prefilled(job, validated(), loader.pool, wanted=lambda: not bad)
            for chunk in chunks:
                bad += _rejections(chunk) if bad else _upsert_chunk(job, chunk)
                job.processed_rows += _rows_of(chunk.items)
                _report(job, progress)
                loader.settle()
            if bad:
                raise _Rollback
    except _Rollback:
        job.created_count = job.updated_count = job.unchanged_count = 0
        job.joined_count = 0
        _record_errors(job, bad)
        job.failed_count = len(bad)
        _finish_count(job, progress)
        raise ImportRejected(
            f"{len(bad)} of {job.processed_rows} rows are invalid; nothing was "
            "imported (all-or-nothing mode). Fix them and import again."
        ) from None
    _finish_count(job, progress)


class _Rollback(Exception):
    pass


def _load_check(
    job: ImportJob, table: Table, progress: Progress | None, loader: _Loader
) -> None:
    # What a per-row import does, chunk by chunk, in one transaction rolled
    # back at the end: the counts and rejections are the import's own, and
    # nothing stays written (history, golden records, outbox events
    # included). As in all-or-nothing mode, the progress saved inside the
    # transaction is seen by others only at the end.
    failed: list[_Item] = []
    try:
        with transaction.atomic():
            for chunk in _prefilled(job, _chunks(job, table), loader.pool):
                failed += _chunk_loaded(job, chunk, progress)
                loader.settle()
            raise _Rollback
    except _Rollback:
        pass
    _record_errors(job, failed)
    _finish_count(job, progress)


_LOADS = {
    ImportJob.Mode.ALL_OR_NOTHING: _load_all_or_nothing,
    ImportJob.Mode.CHECK: _load_check,
}


def _chunks(job: ImportJob, table: Table) -> Iterator[list[_Item]]:
    items = _items(job, table)
    chunk = list(islice(items, CHUNK_ROWS))
    # Only now is the file open (a sheet loaded whole knows its height).
    job.total_rows = max(table.size_hint() - (job.header_row or 0), 0)
    job.save(update_fields=["total_rows"])
    while chunk:
        yield chunk
        chunk = list(islice(items, CHUNK_ROWS))


def _report(job: ImportJob, progress: Progress | None) -> None:
    # The size hint counts lines or the sheet's height, not data rows: never
    # let the bar run past its end.
    job.total_rows = max(job.total_rows, job.processed_rows)
    job.save(
        update_fields=[
            "processed_rows",
            "total_rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "failed_count",
            "joined_count",
        ]
    )
    if progress:
        progress(job.processed_rows, job.total_rows)


def _finish_count(job: ImportJob, progress: Progress | None) -> None:
    job.total_rows = job.processed_rows
    job.save()
    if progress:
        progress(job.processed_rows, job.total_rows)


@dataclass
class _Chunk:
    """A chunk of rows, its valid rows' upsert begun (`_prefill`): each key's
    first row, the later rows of a key (loaded after the chunk) and the rows
    whose ID the bulk path refuses, with the reason."""

    items: list[_Item]
    first: dict[str, _Item] = dataclasses.field(default_factory=dict)
    repeats: list[_Item] = dataclasses.field(default_factory=list)
    rejected: list[tuple[_Item, str]] = dataclasses.field(default_factory=list)
    # Keys the chunk before this one wrote after this one's upsert had begun.
    stale: set[str] = dataclasses.field(default_factory=set)
    upserts: PrefilledUpserts | None = None  # None: load row by row


def _prefilled(
    job: ImportJob,
    chunks: Iterator[list[_Item]],
    pool: Executor | None,
    wanted: Callable[[], bool] = lambda: True,
) -> Iterator[_Chunk]:
    """Each chunk with its upsert begun, handed on once the next chunk's has
    begun too: with a fill pool, the next chunk is mapped and standardised
    there while this process writes the one before, whose keys the next
    chunk's write reads again (`_Chunk.stale`).
    While `wanted()` is false no upsert is begun: such chunks are only
    validated (their source IDs too), not written."""
    previous = None
    for items in chunks:
        current = _prefill(job, items, pool, begin=wanted())
        if previous is not None:
            current.stale = set(previous.first)
            yield _waited(previous)
        previous = current
    if previous is not None:
        yield _waited(previous)


def _waited(chunk: _Chunk) -> _Chunk:
    # Outside the transaction that writes the chunk: SQLite's write lock is
    # not held while the pool finishes.
    if chunk.upserts is not None:
        chunk.upserts.wait()
    return chunk


def _prefill(
    job: ImportJob, items: list[_Item], pool: Executor | None, begin: bool = True
) -> _Chunk:
    first: dict[str, _Item] = {}
    repeats: list[_Item] = []
    rejected: list[tuple[_Item, str]] = []
    for item in items:
        if item.errors:
            continue
        try:
            key = clean_source_id(item.source_id)
        except DomainError as exc:
            rejected.append((item, str(exc)))
            continue
        if key in first:
            repeats.append(item)
        else:
            first[key] = item
    if not begin:
        return _Chunk(items, first, repeats, rejected)
    try:
        upserts = source_records_prefill(
            system=job.source_system,
            items=[(item.source_id, item.payload) for item in first.values()],
            mapping=_rules(job),
            pool=pool,
        )
    except DomainError:
        upserts = None  # a payload the bulk path refuses: each row its verdict
    return _Chunk(items, first, repeats, rejected, upserts=upserts)


@transaction.atomic
def _commit_chunk(job: ImportJob, chunk: _Chunk, progress: Progress | None) -> None:
    _record_errors(job, _chunk_loaded(job, chunk, progress))


def _chunk_loaded(
    job: ImportJob, chunk: _Chunk, progress: Progress | None
) -> list[_Item]:
    """Upsert the chunk's valid rows and count it; its rejected rows."""
    failed = [item for item in chunk.items if item.errors]
    failed += _upsert_chunk(job, chunk)
    job.failed_count += len(failed)
    job.processed_rows += _rows_of(chunk.items)
    _report(job, progress)
    return failed


def _rows_of(items: list[_Item]) -> int:
    return sum(item.rows for item in items)


def _upsert_chunk(job: ImportJob, chunk: _Chunk) -> list[_Item]:
    """Upsert the chunk's valid items in bulk; return those rejected on the
    way. A key repeated within the chunk is loaded after the chunk, in file
    order, so the later row wins as it would row by row.
    """
    failed = _rejections(chunk)
    batch = list(chunk.first.values())
    # Keys of placed records this chunk changed: their golden records are
    # recomputed in the chunk's transaction, as an ingest over the API does.
    updated: list[str] = []
    outcomes = _written(chunk)
    if outcomes is None:
        # A concurrent import of the same keys (or a payload the bulk path
        # refuses): go row by row so each row gets its own verdict.
        failed += _upsert_one_by_one(job, batch + chunk.repeats, updated)
    else:
        for key, outcome in zip(chunk.first, outcomes, strict=True):
            _count(job, outcome)
            if outcome == "updated":
                updated.append(key)
        failed += _upsert_one_by_one(job, chunk.repeats, updated)
    if updated:
        golden_records_refresh_of(
            system=job.source_system,
            source_ids=updated,
            reason=f"updated by the import of {job.original_name}",
        )
    job.joined_count += sum(item.rows - 1 for item in chunk.items if not item.errors)
    return failed


def _rejections(chunk: _Chunk) -> list[_Item]:
    """The chunk's rows whose source ID the bulk path refuses, each with its
    error."""
    for item, message in chunk.rejected:
        item.errors.append(RowError(item.number, "rejected", message))
    return [item for item, _ in chunk.rejected]


def _written(chunk: _Chunk) -> list[str] | None:
    """The bulk write's outcomes; None if it could not be done (rolled back
    to its savepoint)."""
    if chunk.upserts is None:
        return None
    try:
        return chunk.upserts.write(stale=chunk.stale)
    except DomainError:
        return None
    except IntegrityError:
        pass  # another writer (an import of the same file) inserted a key
    try:
        return chunk.upserts.write()  # every key read again, under lock
    except (IntegrityError, DomainError):
        return None


def _upsert_one_by_one(
    job: ImportJob, items: list[_Item], updated: list[str]
) -> list[_Item]:
    """Upsert items one at a time; the keys they updated go to `updated`."""
    failed = []
    for item in items:
        try:
            if _upsert(job, item) == "updated":
                updated.append(clean_source_id(item.source_id))
        except DomainError as exc:
            failed.append(item)
            item.errors.append(RowError(item.number, "rejected", str(exc)))
    return failed


def _upsert(job: ImportJob, item: _Item) -> str:
    result = source_record_upsert(
        system=job.source_system,
        source_id=item.source_id,
        payload=item.payload,
        mapping=_rules(job),
    )
    _count(job, result.outcome)
    return result.outcome


def _count(job: ImportJob, outcome: str) -> None:
    counter = f"{outcome}_count"
    setattr(job, counter, getattr(job, counter) + 1)


def _record_errors(job: ImportJob, items: list[_Item]) -> None:
    ImportRowError.objects.bulk_create(
        ImportRowError(
            job=job,
            row=item.number,
            column=getattr(error, "column", ""),
            code=error.code,
            message=error.message,
            values=["" if value is None else str(value) for value in item.values],
        )
        for item in items
        for error in item.errors
    )


def _items(job: ImportJob, table: Table) -> Iterator[_Item]:
    if _reads_records(job, table):
        yield from _jsonl_items(job, table)
    else:
        yield from _sheet_items(job, table)


def _jsonl_items(job: ImportJob, table: Table) -> Iterator[_Item]:
    id_fields = job.source_system.mapping_rules["source_id"]
    for item in table.records():
        if isinstance(item, RowError):
            yield _failed(item)
            continue
        source_id = record_source_id(item.data, id_fields)
        errors = (
            []
            if source_id
            else [
                RowError(
                    item.number, "missing_id", f"No {' / '.join(id_fields)} field."
                )
            ]
        )
        yield _Item(item.number, source_id, item.data, errors, [str(item.data)[:500]])


def _failed(error: RowError) -> _Item:
    return _Item(error.row, None, None, [error], [])


def _sheet_items(job: ImportJob, table: Table) -> Iterator[_Item]:
    mapping = apply_saved_mapping(
        table_rows(table, import_limits(), job.mapping), job.mapping
    )
    columns = [(c.index, c.header, c.field) for c in mapping.columns if c.field]
    orders = _day_orders(table, job, mapping, columns)
    stem = _row_key_stem(job)
    id_header = next((h for _, h, f in columns if f == "source_id"), None)
    names = [h for _, h, f in columns if f in NAME_COLUMN_FIELDS]
    # JSON's numeric dates are Unix times, a sheet's Excel serial days.
    zone = timezone.get_default_timezone() if table.holds_records else None
    cleaners = [
        (
            index,
            header,
            cell_cleaner(field, column=header, order=orders.get(index), unix_zone=zone),
        )
        for index, header, field in columns
    ]
    header_line = header_line_check(columns)
    fill = MergedFill(
        [] if table.holds_records else table.merges(),
        header_row=mapping.header_row,
        columns=columns,
    )
    rows = (
        row
        for row in rows_and_errors(table, import_limits(), job.mapping)
        if isinstance(row, RowError) or row.number > mapping.header_row
    )
    joined = {h for _, h, f in columns if f in _JOINED_FIELDS}
    # A contact row's own date (entered later) is no second date of the
    # customer's: its first row's is kept.
    free = joined | {h for _, h, f in columns if f in DATE_FIELDS}
    customer: list[_Item] = []  # the rows of the customer read last
    above: int | None = None  # the first row of that customer (even rejected)
    for row in rows:
        if isinstance(row, RowError):
            yield _failed(row)
            continue
        row, continued = fill.filled(row)
        item = _sheet_item(row, cleaners, names, stem, id_header, header_line)
        how = _MERGED_DOWN
        if continued is None and above is not None and _keyless(item, id_header):
            if job.blank_rows_continue:
                continued, how = above, _LEFT_BLANK
                item = _without_missing_name(item)
            else:
                item = _hinted(item)
        if continued is None:
            yield from _customer(customer, joined)
            # A totals or header line is nobody's first row.
            lines = any(isinstance(e, RowError) for e in item.errors)
            above = None if lines else item.number
            customer = [] if item.errors else [item]
            if item.errors:
                yield item
        else:
            yield from _continuing(customer, continued, item, free, how)
    yield from _customer(customer, joined)


# The columns whose values a customer's several rows add to (the others
# take one value): see mdm.services.merged_rows.
_JOINED_FIELDS = frozenset({"phones", "emails", *_ADDRESS_FIELDS, *_CONTACT_FIELDS})


def _customer(rows: list[_Item], joined: set[str]) -> Iterator[_Item]:
    """The customer of `rows` (one, or several continuing the first: its
    name cell merged down over them) as one item."""
    if len(rows) == 1:
        yield rows[0]
    elif rows:
        head = rows[0]
        payload = joined_payload([row.payload for row in rows], joined)
        yield dataclasses.replace(head, payload=payload, rows=len(rows))


_MISSING_NAME = "missing_name"
# Why a row continues the customer of a row above it.
_MERGED_DOWN = "a name or ID cell merged down over both"
_LEFT_BLANK = (
    "its name and ID left blank under that customer's, as the import was told "
    "to read them"
)


def _continuing(
    customer: list[_Item], first: int, item: _Item, free: set[str], how: str
) -> Iterator[_Item]:
    """`item` (a row continuing the customer of row `first`, `how` says why)
    joined to `customer` in place, or told why it cannot be: a column not in
    `free` whose value differs from the customer's."""
    if item.errors:
        yield item
    elif not customer or customer[0].number != first:
        message = (
            f"This row continues the customer of row {first} ({how}), which "
            "was rejected: fix that row and import again."
        )
        yield _rejected(item, "merged_with_rejected", message)
    elif header := conflicting_header(
        [row.payload for row in customer], item.payload, free
    ):
        message = (
            f"This row continues the customer of row {first} ({how}), but its "
            f"{header} differs from that customer's: a customer has one {header}."
        )
        yield _rejected(item, "merged_conflict", message)
    else:
        customer.append(item)


def _keyless(item: _Item, id_header: str | None) -> bool:
    """Whether the row has neither a name nor an ID."""
    return any(e.code == _MISSING_NAME for e in item.errors) and not (
        id_header and item.payload.get(id_header)
    )


def _without_missing_name(item: _Item) -> _Item:
    errors = [e for e in item.errors if e.code != _MISSING_NAME]
    return dataclasses.replace(item, errors=errors)


_CONTINUE_HINT = (
    " If this row holds more of the customer above it (contacts listed "
    "under their customer, the name not repeated), import the file with "
    "“rows without a name or ID continue the customer above”."
)


def import_job_rows_that_may_continue(*, job: ImportJob) -> int:
    """How many of a finished job's rejected rows had neither a name nor an
    ID under a customer's row: its contacts, maybe, had the job been told
    that such rows continue the customer above."""
    if job.status != ImportJob.Status.DONE or job.blank_rows_continue:
        return 0
    return job.row_errors.filter(
        code=_MISSING_NAME, message__endswith=_CONTINUE_HINT
    ).count()


def _hinted(item: _Item) -> _Item:
    errors = [
        dataclasses.replace(e, message=e.message + _CONTINUE_HINT)
        if e.code == _MISSING_NAME
        else e
        for e in item.errors
    ]
    return dataclasses.replace(item, errors=errors)


def _rejected(item: _Item, code: str, message: str) -> _Item:
    return dataclasses.replace(item, errors=[RowError(item.number, code, message)])


def _sheet_item(
    row: RawRow,
    cleaners,
    names: list[str],
    stem: str,
    id_header: str | None,
    header_line: Callable[[list[object]], str | None],
) -> _Item:
    payload: dict[str, Any] = {}
    errors: list[CellError | RowError] = []
    cells = row.cells
    if label := summary_row_label(cells):
        message = f"“{label}” is a totals, sign-off or note line, not a customer."
        error = RowError(row.number, "summary_row", message)
        return _Item(row.number, None, payload, [error], cells)
    if label := header_line(cells):
        message = (
            f"“{label}” is a column name (the header again) or a template's "
            "note on a column, not a customer."
        )
        error = RowError(row.number, "header_row", message)
        return _Item(row.number, None, payload, [error], cells)
    width = len(cells)
    for index, header, clean in cleaners:
        raw = cells[index] if index < width else None
        if raw is None:
            continue  # clean_cell(None) is None for every field
        value = clean(raw)
        if isinstance(value, CellError):
            errors.append(value)
        elif value is not None:
            payload[header] = value.isoformat() if isinstance(value, date) else value
    if not any(payload.get(h) for h in names):
        errors.append(
            CellError(" / ".join(names), _MISSING_NAME, "The customer name is empty.")
        )
    # Without an ID column, the file's name and the row number are the key: a
    # corrected copy of the same file updates its rows in place.
    source_id = payload.get(id_header) if id_header else None
    return _Item(
        row.number, source_id or f"{stem}#{row.number}", payload, errors, cells
    )


def _row_key_stem(job: ImportJob) -> str:
    """What a row's number is appended to when the sheet has no ID column:
    the file's name, and the sheet's where it is not the workbook's first,
    so that the sheets of one workbook do not update each other's rows."""
    stem = PurePath(job.original_name).stem
    if job.sheet_names and job.sheet != job.sheet_names[0]:
        return f"{stem}/{job.sheet}"
    return stem


def _day_orders(
    table: Table, job: ImportJob, mapping: ProposedMapping, columns
) -> dict[int, Any]:
    date_columns = [i for i, _, f in columns if f in DATE_FIELDS]
    if not date_columns:
        return {}
    rows = [
        r
        for r in _take(table_rows(table, import_limits(), job.mapping), 2000)
        if r.number > mapping.header_row
    ]
    return {
        i: day_order(r.cells[i] if i < len(r.cells) else None for r in rows)
        for i in date_columns
    }


def _rules(job: ImportJob) -> dict[str, Any] | None:
    """Mapping rules (the preset shape) from the confirmed column mapping."""
    if not job.mapping:
        return None  # records: the source system's field mapping
    by_field: dict[str, list[str]] = {}
    for header, field in job.mapping.items():
        if field:
            by_field.setdefault(field, []).append(header)
    return {
        "source_id": by_field.get("source_id", []),
        "scalars": {f: by_field[f] for f in SCALAR_ATTRIBUTES if f in by_field},
        "phones": by_field.get("phones", []),
        "emails": by_field.get("emails", []),
        "address": {
            part: by_field[f] for f, part in _ADDRESS_FIELDS.items() if f in by_field
        },
        "contact": {
            part: by_field[f] for f, part in _CONTACT_FIELDS.items() if f in by_field
        },
        "created": by_field.get("created", []),
        "updated": by_field.get("updated", []),
    }


def _matching_report(
    job: ImportJob,
    listener: Callable[[ImportMatching], None] | None,
    state: ImportMatching,
) -> None:
    job.matching = state.as_dict()
    job.save(update_fields=["matching"])
    if listener is not None:
        listener(state)


def _fail(job: ImportJob, message: str) -> None:
    job.status = ImportJob.Status.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save()


def import_limits() -> Limits:
    """The size caps every upload is held to (settings IMPORT_*)."""
    return Limits(
        max_file_bytes=settings.IMPORT_MAX_UPLOAD_BYTES,
        max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
        max_compression_ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
        max_rows=settings.IMPORT_MAX_ROWS,
        max_columns=settings.IMPORT_MAX_COLUMNS,
        max_cells=settings.IMPORT_MAX_LOADED_CELLS,
        max_fast_xlsx_cells=settings.IMPORT_FAST_XLSX_MAX_CELLS,
    )


def _open(
    source: bytes | str,
    *,
    encoding: str | None,
    sheet: str | None,
    load_whole: bool = False,
    validated: bool = False,
    layout: Layout | None = None,
) -> Table:
    return open_table(
        source,
        encoding=encoding or None,
        sheet=sheet or None,
        limits=import_limits(),
        load_whole=load_whole,
        validated=validated,
        layout=layout,
    )


def _open_job(job: ImportJob, *, load_whole: bool = False) -> Table:
    # Read from the stored file's path, which opened when it was uploaded.
    # Previews stream the first rows; the run may load an .xlsx whole
    # (python-calamine), within the cell cap.
    return _open(
        job.file.path,
        encoding=job.encoding,
        sheet=job.sheet,
        load_whole=load_whole,
        validated=True,
        layout=import_job_layout(job),
    )


def import_job_layout(job: ImportJob) -> Layout | None:
    """Where the job's JSON document holds its records, as found on upload
    (`open_table(layout=...)`); None for other files."""
    return Layout(**job.layout) if job.layout else None


def _take(iterator, n: int) -> list:
    return [item for _, item in zip(range(n), iterator, strict=False)]

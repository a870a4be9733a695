"""Import profiles: a confirmed column mapping saved under a name per source
system, applied to the next file, and picked automatically for an upload.

Headers are compared as the reading layer compares them (`header_key`: NFKC,
case-folded, letters and digits only), so "客户名称：" in one month's file and
"客户名称" in the next are the same column. A profile applied to a file
splits the file's header row three ways: columns the profile knows (mapped
as it says), new columns (proposed from the synonyms, for the importer to
check) and the profile's columns missing from the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mdm.importing import ImportFileError, RawRow, open_table
from mdm.importing.headers import (
    HEADER_SCAN_ROWS,
    MULTI_VALUED,
    NAME_COLUMN_FIELDS,
    SYNONYMS,
    Matcher,
    apply_saved_mapping,
    header_key,
    match_header,
    match_key,
)
from mdm.models import ImportJob, ImportProfile, ImportProfileUse, SourceSystem
from mdm.models.import_profiles import encoding_known, profile_mapping_errors
from mdm.services.errors import DomainError
from mdm.services.import_tables import preset_reads_records, table_rows
from mdm.services.imports import (
    import_job_confirm,
    import_job_create,
    import_job_layout,
    import_job_sheet_choose,
    import_limits,
)

# How a profile may say to import (checking a file is asked for each time).
PROFILE_MODES = [m for m in ImportJob.Mode.values if m != ImportJob.Mode.CHECK]
# "Let the importer pick the profile", as opposed to a profile or None.
AUTO = "auto"
# Share of the headers (of the file and the profile together) that must be
# the same for a profile to be picked without being asked for: a file with
# one new column next to five known ones (5/6) qualifies, a file sharing
# half its headers with the profile does not.
AUTO_PICK_MIN_SCORE = 0.6

Source = bytes | str | Path


class ImportProfileError(DomainError):
    """A profile that cannot be saved or applied (message for the user)."""


@dataclass(frozen=True)
class ImportOptions:
    """Reading options and mode as asked for; an empty value means not given."""

    sheet: str = ""
    encoding: str = ""
    mode: str = ""
    blank_rows_continue: bool | None = None

    def over(self, profile: ImportProfile | None) -> ImportOptions:
        """These options, with the profile's filling the ones not given."""
        if profile is None:
            return self
        return ImportOptions(
            sheet=self.sheet or profile.sheet,
            encoding=self.encoding or profile.encoding,
            mode=self.mode or profile.mode,
            blank_rows_continue=(
                profile.blank_rows_continue
                if self.blank_rows_continue is None
                else self.blank_rows_continue
            ),
        )


@dataclass(frozen=True)
class ProfileFit:
    """A profile applied to a file's header row."""

    profile: ImportProfile
    header_row: int | None  # None: none of the profile's headers were found
    mapping: dict[str, str | None]  # the file's headers -> field, in file order
    found: list[str]  # file headers the profile knows
    new: list[str]  # file headers the profile does not know
    missing: list[str]  # profile headers the file lacks
    score: float  # shared headers / all headers of the two, 0..1

    @property
    def has_name(self) -> bool:
        """Whether a column the profile maps to the customer name is there."""
        return any(self.mapping[header] in NAME_COLUMN_FIELDS for header in self.found)


def import_profile_fit(
    *, profile: ImportProfile, rows: Iterable[RawRow], match: Matcher = match_header
) -> ProfileFit:
    """Apply `profile` to the first rows of a file (see the module docstring).

    The header row is the one holding most of the profile's headers. A new
    column gets the field its header's synonyms suggest (`match`: a sheet's
    header, or `match_key` for the dotted key of JSON records read as
    columns), unless a column the profile knows already fills that
    (single-valued) field.
    """
    # A field the reader no longer knows reads as "ignored", not as an error:
    # the profile still says which columns belong to the file.
    saved = {h: f if f in SYNONYMS else None for h, f in profile.mapping.items()}
    known = {header_key(h): f for h, f in saved.items()}
    try:
        applied = apply_saved_mapping(list(islice(rows, HEADER_SCAN_ROWS)), saved)
    except ImportFileError:  # no row holds any of the profile's headers
        return ProfileFit(profile, None, {}, [], [], list(profile.mapping), 0.0)
    headers = [c.header for c in applied.columns if header_key(c.header)]
    found = [h for h in headers if header_key(h) in known]
    new = [h for h in headers if header_key(h) not in known]
    mapping: dict[str, str | None] = {h: known.get(header_key(h)) for h in headers}
    taken = {field for field in mapping.values() if field}
    for header in new:
        field, _confidence = match(header)
        if field and (field in MULTI_VALUED or field not in taken):
            mapping[header] = field
            taken.add(field)
    file_keys = {header_key(h) for h in headers}
    missing = [h for h in profile.mapping if header_key(h) not in file_keys]
    shared = file_keys & known.keys()
    score = len(shared) / len(file_keys | known.keys())
    return ProfileFit(profile, applied.header_row, mapping, found, new, missing, score)


def import_profile_pick(
    *, system: SourceSystem, source: Source, options: ImportOptions = ImportOptions()
) -> ProfileFit | None:
    """The source's profile whose headers match the file best, if it matches
    well enough (`AUTO_PICK_MIN_SCORE`, and the name column is there).

    Each profile is tried with its own sheet and encoding where `options`
    leaves them open; the file is opened once per distinct pair. Ties go to
    the profile updated last.
    """
    heads: dict[tuple[str, str], _Head | None] = {}
    best: ProfileFit | None = None
    for profile in system.import_profiles.order_by("-updated_at", "-pk"):
        effective = options.over(profile)
        key = (effective.sheet, effective.encoding)
        if key not in heads:
            try:
                heads[key] = _head(system, source, effective)
            except ImportFileError:  # e.g. no such sheet: not this profile
                heads[key] = None
        if heads[key] is None:
            continue
        fit = import_profile_fit(
            profile=profile, rows=heads[key].rows, match=heads[key].match
        )
        good = fit.score >= AUTO_PICK_MIN_SCORE and fit.has_name
        if good and (best is None or fit.score > best.score):
            best = fit
    return best


@transaction.atomic
def import_profile_create(
    *,
    system: SourceSystem,
    name: str,
    mapping: dict[str, str | None],
    options: ImportOptions = ImportOptions(),
    user=None,
) -> ImportProfile:
    """Save a confirmed mapping as a new profile of `system`.

    Raises ImportProfileError when the name is taken or the mapping or the
    options break the reading layer's rules.
    """
    name = _checked_name(name)
    _check(mapping, options)
    user = _person(user)
    profile = ImportProfile(
        source_system=system,
        name=name,
        mapping=dict(mapping),
        sheet=options.sheet,
        encoding=options.encoding,
        mode=options.mode or ImportJob.Mode.PER_ROW,
        blank_rows_continue=bool(options.blank_rows_continue),
        created_by=user,
        updated_by=user,
    )
    profile._history_user = user
    profile._change_reason = "created"
    try:
        with transaction.atomic():
            profile.save()
    except IntegrityError:
        raise _name_taken(system, name) from None
    return profile


@transaction.atomic
def import_profile_update(
    *,
    profile: ImportProfile,
    mapping: dict[str, str | None],
    options: ImportOptions = ImportOptions(),
    user=None,
) -> ImportProfile:
    """Replace a profile's mapping and options with a newly confirmed one."""
    _check(mapping, options)
    user = _person(user)
    profile.mapping = dict(mapping)
    profile.sheet = options.sheet
    profile.encoding = options.encoding
    profile.mode = options.mode or ImportJob.Mode.PER_ROW
    profile.blank_rows_continue = bool(options.blank_rows_continue)
    profile.updated_by = user
    profile.updated_at = timezone.now()
    profile._history_user = user
    profile._change_reason = "updated"
    profile.save()
    return profile


@transaction.atomic
def import_profile_delete(*, profile: ImportProfile, user=None) -> None:
    """Delete a profile; its history and the imports it pre-filled stay."""
    profile._history_user = _person(user)
    profile._change_reason = "deleted"
    profile.delete()


def import_job_create_with_profile(
    *,
    system: SourceSystem,
    content: bytes,
    filename: str,
    profile: ImportProfile | str | None = AUTO,
    options: ImportOptions = ImportOptions(),
    user=None,
    run_matching: bool = True,
) -> ImportJob:
    """Store an upload (see `import_job_create`) with its mapping pre-filled
    from a profile: the one given, the best one (`AUTO`), or none (None: the
    synonyms propose it). Options given win over the profile's.

    Raises ImportFileError for unreadable files and ImportProfileError when
    the profile given cannot serve this file.
    """
    how = ImportProfileUse.How.AUTO
    if profile == AUTO:
        fit = import_profile_pick(system=system, source=content, options=options)
    elif isinstance(profile, ImportProfile):
        fit = _fit_chosen(system, profile, content, options)
        how = ImportProfileUse.How.CHOSEN
    else:
        fit = None
    effective = options.over(fit.profile if fit else None)
    with transaction.atomic():
        job = import_job_create(
            system=system,
            content=content,
            filename=filename,
            user=user,
            mode=effective.mode or ImportJob.Mode.PER_ROW,
            blank_rows_continue=bool(effective.blank_rows_continue),
            encoding=effective.encoding or None,
            sheet=effective.sheet or None,
            run_matching=run_matching,
        )
        if fit is not None:
            _job_apply(job, fit, how)
    return job


@transaction.atomic
def import_job_confirm_with_profile(
    *,
    job: ImportJob,
    mapping: dict[str, str | None],
    user=None,
    save_as: str = "",
    update: ImportProfile | None = None,
    blank_rows_continue: bool | None = None,
    other_sheets: Sequence[str] = (),
) -> ImportProfile | None:
    """Confirm a job's mapping (see `import_job_confirm`; `blank_rows_continue`
    None keeps the job's choice; `other_sheets` imported after it with the
    same mapping) and, in the same transaction, save it as a new profile
    `save_as` or into `update`.

    Returns the profile saved, if any. Nothing is confirmed when the profile
    cannot be saved.
    """
    import_job_confirm(
        job=job,
        mapping=mapping,
        blank_rows_continue=blank_rows_continue,
        other_sheets=other_sheets,
    )
    if not (save_as or update):
        return None
    return import_profile_save_from_job(
        job=job, user=user, name=save_as, profile=update
    )


@transaction.atomic
def import_job_sheet_choose_with_profile(*, job: ImportJob, sheet: str) -> ImportJob:
    """Read another sheet of the job's workbook (`import_job_sheet_choose`),
    its mapping pre-filled from the profile the importer chose on upload if
    it fits that sheet's headers, else from the best profile, as on upload.
    """
    import_job_sheet_choose(job=job, sheet=sheet)
    options = ImportOptions(sheet=sheet, encoding=job.encoding)
    use = ImportProfileUse.objects.filter(job=job).select_related("profile").first()
    fit = None
    if use is not None and use.how == ImportProfileUse.How.CHOSEN and use.profile:
        try:
            fit = _fit_chosen(job.source_system, use.profile, job.file.path, options)
        except ImportProfileError:
            fit = None
    how = ImportProfileUse.How.CHOSEN if fit else ImportProfileUse.How.AUTO
    if fit is None:
        fit = import_profile_pick(
            system=job.source_system, source=job.file.path, options=options
        )
    if use is not None:
        use.delete()
    if fit is not None:
        _job_apply(job, fit, how)
    return job


def import_profile_save_from_job(
    *,
    job: ImportJob,
    user=None,
    name: str = "",
    profile: ImportProfile | None = None,
) -> ImportProfile:
    """Save the job's confirmed mapping as a new profile `name`, or into
    `profile`, with the job's mode, its choice for rows without a name or
    ID, and the reading options it overrode."""
    if not job.mapping:
        raise ImportProfileError(
            _(
                "Profiles map columns; this file's records are read with the "
                "source system's field mapping."
            )
        )
    if profile is not None and profile.source_system_id != job.source_system_id:
        raise ImportProfileError(_("That profile belongs to another source system."))
    options = replace(
        import_job_reading_overrides(job=job, keep=profile),
        # A file checked now is imported later: the profile keeps per-row.
        mode=job.mode if job.mode in PROFILE_MODES else ImportJob.Mode.PER_ROW,
        blank_rows_continue=job.blank_rows_continue,
    )
    mapping = _as_read(job.mapping)
    if profile is None:
        return import_profile_create(
            system=job.source_system,
            name=name,
            mapping=mapping,
            options=options,
            user=user,
        )
    return import_profile_update(
        profile=profile, mapping=mapping, options=options, user=user
    )


def import_job_reading_overrides(
    *, job: ImportJob, keep: ImportProfile | None = None
) -> ImportOptions:
    """The sheet and encoding a job was read with where they differ from what
    the reader picks by itself (the first visible sheet, the detected
    encoding): only those are worth remembering.

    An override of `keep` (the profile being updated) that the job used is
    kept even if detection happens to agree on this file.
    """
    try:
        with open_table(
            job.file.path, limits=import_limits(), layout=import_job_layout(job)
        ) as table:
            default_sheet, detected = table.sheet or "", table.encoding or ""
    except ImportFileError:  # unreadable without the job's options
        default_sheet, detected = job.sheet, ""
    sheet = job.sheet if job.sheet != default_sheet else ""
    encoding = job.encoding if not _same_codec(job.encoding, detected) else ""
    if keep is not None:
        sheet = sheet or (keep.sheet if keep.sheet == job.sheet else "")
        if not encoding and _same_codec(keep.encoding, job.encoding):
            encoding = keep.encoding
    return ImportOptions(sheet=sheet, encoding=encoding)


def _as_read(mapping: dict[str, str | None]) -> dict[str, str | None]:
    """A job's mapping as the reader applies it: headers are compared in
    `header_key` form, so headers with the same key are one column (the
    last one's field wins, as in `apply_saved_mapping`), and an ignored
    header with no letters or digits ("#", "—") cannot be told from others."""
    by_key: dict[str, tuple[str, str | None]] = {}
    for header, field in mapping.items():
        key = header_key(header)
        if key or field:
            first = by_key.get(key, (header, None))[0]
            by_key[key] = (first, field)
    return dict(by_key.values())


def _fit_chosen(
    system: SourceSystem, profile: ImportProfile, source: Source, options: ImportOptions
) -> ProfileFit:
    if profile.source_system_id != system.pk:
        raise ImportProfileError(
            _("Profile %(name)s belongs to source system %(system)s.")
            % {"name": profile.name, "system": profile.source_system.code}
        )
    head = _head(system, source, options.over(profile))
    if head is None:
        raise ImportProfileError(
            _(
                "Profiles map columns; this file's records are read with the "
                "source system's field mapping."
            )
        )
    fit = import_profile_fit(profile=profile, rows=head.rows, match=head.match)
    if not fit.found:
        raise ImportProfileError(
            _("None of the columns of profile %(name)s are in this file.")
            % {"name": profile.name}
        )
    return fit


def _job_apply(job: ImportJob, fit: ProfileFit, how: str) -> None:
    job.mapping = fit.mapping
    job.header_row = fit.header_row
    job.save(update_fields=["mapping", "header_row"])
    ImportProfileUse.objects.create(
        job=job,
        profile=fit.profile,
        profile_name=fit.profile.name,
        how=how,
        score=round(fit.score, 4),
        new_columns=fit.new,
        missing_columns=fit.missing,
    )


class _Head(NamedTuple):
    rows: list[RawRow]  # the first rows a header can be on
    match: Matcher  # what suggests a new column's field


def _head(system: SourceSystem, source: Source, options: ImportOptions) -> _Head | None:
    """The start of a file, to fit profiles to; None for records the source
    system's field mapping reads (no columns)."""
    with open_table(
        source if isinstance(source, bytes) else str(source),
        encoding=options.encoding or None,
        sheet=options.sheet or None,
        limits=import_limits(),  # the caps the import itself is held to
    ) as table:
        if preset_reads_records(system, table):
            return None
        rows = list(islice(table_rows(table, import_limits()), HEADER_SCAN_ROWS))
        return _Head(rows, match_key if table.holds_records else match_header)


def _check(mapping: Any, options: ImportOptions) -> None:
    errors = profile_mapping_errors(mapping)
    if options.encoding and not encoding_known(options.encoding):
        errors.append(_("Unknown text encoding %(name)r.") % {"name": options.encoding})
    if options.mode == ImportJob.Mode.CHECK:
        errors.append(
            _("A profile cannot say to only check: that is asked for each import.")
        )
    elif options.mode and options.mode not in PROFILE_MODES:
        errors.append(_("Unknown import mode %(mode)r.") % {"mode": options.mode})
    if len(options.sheet) > ImportProfile._meta.get_field("sheet").max_length:
        errors.append(_("The sheet name is too long."))
    if errors:
        raise ImportProfileError(" ".join(errors))


def _checked_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ImportProfileError(_("Give the profile a name."))
    if len(name) > ImportProfile._meta.get_field("name").max_length:
        raise ImportProfileError(_("The profile name is too long."))
    return name


def _name_taken(system: SourceSystem, name: str) -> ImportProfileError:
    return ImportProfileError(
        _("Source system %(system)s already has a profile named %(name)s.")
        % {"system": system.code, "name": name}
    )


def _same_codec(a: str, b: str) -> bool:
    if not a or not b:
        return a == b
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return a == b


def _person(user):
    return user if user is not None and user.is_authenticated else None

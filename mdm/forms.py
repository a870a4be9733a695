"""Forms of the steward UI: they parse and validate; services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.importing.headers import SYNONYMS
from mdm.models import ImportJob, ImportProfile, ReviewTask, SourceSystem
from mdm.selectors.review_queue import SCORE_BANDS, QueueFilters
from mdm.selectors.roles import steward_list
from mdm.services.import_profiles import AUTO, ImportOptions
from mdm.services.steward_queue import KEEP_SIDES, BulkItem

_VERSION_RE = re.compile(r"^(GR\d{10}):(\d+)$")

QUEUE_SORT_CHOICES = [
    ("-score", _("highest score first")),
    ("score", _("lowest score first")),
    ("oldest", _("oldest first")),
    ("newest", _("newest first")),
]
AGE_CHOICES = [
    ("", _("any age")),
    ("lt1", _("less than a day")),
    ("1to7", _("1 to 7 days")),
    ("gt7", _("more than 7 days")),
    ("gt30", _("more than 30 days")),
]


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=ReviewTask.Status.choices, required=False
    )
    band = forms.ChoiceField(label=_("Score"), required=False)
    system = forms.ChoiceField(label=_("Source system"), required=False)
    age = forms.ChoiceField(label=_("Age"), choices=AGE_CHOICES, required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    uscc_conflict = forms.ChoiceField(
        label=_("USCC conflict"),
        choices=[("", _("either")), ("yes", _("yes")), ("no", _("no"))],
        required=False,
    )
    sort = forms.ChoiceField(
        label=_("Sort"), choices=QUEUE_SORT_CHOICES, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["band"].choices = [("", _("any score"))] + [
            (str(index), label)
            for index, (label, _low, _high) in enumerate(SCORE_BANDS)
        ]
        self.fields["system"].choices = [("", _("all systems"))] + [
            (s.code, s.name) for s in SourceSystem.objects.order_by("code")
        ]
        self.fields["assignee"].choices = [
            ("", _("anyone")),
            ("me", _("me")),
            ("none", _("nobody")),
        ] + [(u.username, u.username) for u in steward_list()]

    def filters(self) -> QueueFilters:
        """The filters asked for; an invalid value counts as not given."""
        self.is_valid()
        data = self.cleaned_data
        low = high = None
        if data.get("band"):
            _label, low, high = SCORE_BANDS[int(data["band"])]
        conflict = {"yes": True, "no": False}.get(data.get("uscc_conflict") or "")
        return QueueFilters(
            status=data.get("status") or ReviewTask.Status.OPEN,
            score_min=low,
            score_max=high,
            system=data.get("system") or "",
            age=data.get("age") or "",
            assignee=data.get("assignee") or "",
            uscc_conflict=conflict,
            sort=data.get("sort") or "-score",
        )


def versions_parse(text: str) -> dict[str, int]:
    """ "GR0000000013:3,GR0000000024:5" → {"GR0000000013": 3, ...}."""
    versions = {}
    for part in filter(None, text.split(",")):
        match = _VERSION_RE.match(part.strip())
        if match is None:
            raise forms.ValidationError(_("The page was damaged; reload it."))
        versions[match.group(1)] = int(match.group(2))
    if not versions:
        raise forms.ValidationError(_("The page was damaged; reload it."))
    return versions


def versions_format(versions: dict[str, int]) -> str:
    return ",".join(f"{golden_id}:{version}" for golden_id, version in versions.items())


class TaskDecisionForm(forms.Form):
    versions = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_versions(self) -> dict[str, int]:
        return versions_parse(self.cleaned_data["versions"])


PICK_PREFIX = "pick_"


class MergeForm(TaskDecisionForm):
    """Which golden ID survives, and which value of each attribute; an empty
    pick leaves the attribute to survivorship."""

    keep = forms.ChoiceField(
        label=_("Keep golden ID of"),
        choices=[(side, side) for side in KEEP_SIDES],
        widget=forms.RadioSelect,
    )

    def __init__(
        self, *args: Any, candidates: dict[str, dict[str, list[str]]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        for attribute in SCALAR_ATTRIBUTES:
            values = list(candidates.get(attribute, {}))
            if len(values) > 1:
                self.fields[PICK_PREFIX + attribute] = forms.ChoiceField(
                    choices=[("", _("automatic"))] + [(v, v) for v in values],
                    required=False,
                )

    def overrides(self) -> dict[str, str]:
        return {
            name.removeprefix(PICK_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(PICK_PREFIX) and value
        }


class SkipForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=1000)


class DeferForm(forms.Form):
    comment = forms.CharField(
        label=_("What does the task wait for?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Assign to"), queryset=steward_list(), to_field_name="username"
    )


class BulkPreviewForm(forms.Form):
    min_score = forms.FloatField(
        label=_("Approve tasks scoring at least"), min_value=0.5, max_value=1.0
    )


class BulkConfirmForm(forms.Form):
    min_score = forms.FloatField(min_value=0.5, max_value=1.0, widget=forms.HiddenInput)
    # "12=GR0000000013:3,GR0000000024:5;13=..." as the confirmation page listed.
    items = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def clean_items(self) -> list[BulkItem]:
        items = []
        for part in filter(None, self.cleaned_data["items"].split(";")):
            task_id, _sep, versions = part.partition("=")
            if not task_id.isdigit():
                raise forms.ValidationError(_("The page was damaged; reload it."))
            items.append(
                BulkItem(task_id=int(task_id), versions=versions_parse(versions))
            )
        return items


def bulk_items_format(items: list[BulkItem]) -> str:
    return ";".join(f"{i.task_id}={versions_format(dict(i.versions))}" for i in items)


class UnmergeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label=_("Why undo this merge?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


GROUP_PREFIX = "group_"


class SplitForm(forms.Form):
    """A group number for each member source record (`group_<id>`), and which
    group keeps the golden ID (empty: the service's default)."""

    keep = forms.TypedChoiceField(
        label=_("Which group keeps the golden ID?"),
        coerce=int,
        empty_value=None,
        required=False,
    )

    def __init__(self, *args: Any, member_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        numbers = [(str(n), str(n)) for n in range(1, len(member_ids) + 1)]
        for pk in member_ids:
            self.fields[f"{GROUP_PREFIX}{pk}"] = forms.TypedChoiceField(
                label=_("Group"), choices=numbers, coerce=int, initial=1
            )
        self.fields["keep"].choices = [
            ("", _("automatic: the largest group"))
        ] + numbers

    def groups(self) -> dict[int, int]:
        """{source record id: group number}."""
        return {
            int(name.removeprefix(GROUP_PREFIX)): number
            for name, number in self.cleaned_data.items()
            if name.startswith(GROUP_PREFIX)
        }

    def group_fields(self) -> dict[int, forms.BoundField]:
        return {
            int(name.removeprefix(GROUP_PREFIX)): self[name]
            for name in self.fields
            if name.startswith(GROUP_PREFIX)
        }


class SplitConfirmForm(SplitForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label=_("Why split this golden record?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SplitUndoForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label=_("Why undo this split?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class UnpinForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    attribute = forms.ChoiceField(
        choices=[(a, a) for a in SCALAR_ATTRIBUTES], widget=forms.HiddenInput
    )


class PinForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    attribute = forms.ChoiceField(
        label=_("Attribute"), choices=[(a, a) for a in SCALAR_ATTRIBUTES]
    )
    value = forms.CharField(label=_("Value"), max_length=300)


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)


# Bulk import: upload, confirm the column mapping, profiles.

IMPORT_FIELD_LABELS = {
    "legal_name": _("Customer name"),
    "short_name": _("Short name"),
    "english_name": _("English name"),
    "uscc": _("USCC / tax ID"),
    "phones": _("Phone"),
    "emails": _("Email"),
    "address": _("Address"),
    "province": _("Province"),
    "city": _("City"),
    "district": _("District"),
    "contact": _("Contact"),
    "contact_title": _("Contact title"),
    "industry": _("Industry"),
    "customer_level": _("Customer level"),
    "source_id": _("Customer ID"),
    "created": _("Created on"),
    "updated": _("Updated on"),
}
ENCODING_CHOICES = [
    ("", _("detect")),
    ("utf-8", "UTF-8"),
    ("gb18030", "GBK / GB18030"),
    ("cp950", _("Big5 (Traditional Chinese)")),
    ("utf-16", "UTF-16"),
]
NO_PROFILE = "none"
MAP_PREFIX = "map::"


def import_field_choices() -> list[tuple[str, str]]:
    return [("", _("(ignore)"))] + [
        (field, IMPORT_FIELD_LABELS.get(field, field)) for field in SYNONYMS
    ]


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    source_system = forms.ModelChoiceField(
        SourceSystem.objects.order_by("code"),
        label=_("Source system"),
        to_field_name="code",
    )
    profile = forms.ChoiceField(label=_("Import profile"), required=False)
    mode = forms.ChoiceField(
        label=_("Mode"),
        required=False,
        choices=[("", _("as the profile says, else import good rows"))]
        + list(ImportJob.Mode.choices),
    )
    encoding = forms.ChoiceField(
        label=_("Text encoding"), required=False, choices=ENCODING_CHOICES
    )
    sheet = forms.CharField(
        label=_("Sheet"),
        required=False,
        max_length=100,
        help_text=_("Leave empty for the first visible sheet."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {}
        for profile in ImportProfile.objects.select_related("source_system"):
            groups.setdefault(profile.source_system.code, []).append(
                (str(profile.pk), profile.name)
            )
        self.fields["profile"].choices = [
            (AUTO, _("pick the best match automatically")),
            (NO_PROFILE, _("none: propose from the column names")),
            *groups.items(),
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            limit = settings.IMPORT_MAX_UPLOAD_BYTES // 2**20
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MiB.") % {"limit": limit}
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        choice = data.get("profile") or AUTO
        if choice in (AUTO, NO_PROFILE):
            data["profile"] = AUTO if choice == AUTO else None
            return data
        profile = ImportProfile.objects.filter(pk=choice).first()
        system = data.get("source_system")
        if profile is None:
            self.add_error("profile", _("That profile no longer exists."))
        elif system is not None and profile.source_system_id != system.pk:
            self.add_error(
                "profile",
                _("Profile %(name)s is for source system %(system)s.")
                % {"name": profile.name, "system": profile.source_system.code},
            )
        data["profile"] = profile
        return data

    def options(self) -> ImportOptions:
        data = self.cleaned_data
        return ImportOptions(
            sheet=data["sheet"].strip(), encoding=data["encoding"], mode=data["mode"]
        )


class ImportConfirmForm(forms.Form):
    """The confirmed mapping (one `map::<header>` choice per column) and
    whether to save it as a profile."""

    SAVE_NEW, SAVE_UPDATE = "new", "update"

    profile_action = forms.ChoiceField(
        required=False,
        choices=[
            ("", _("Do not save the mapping")),
            (SAVE_NEW, _("Save it as a new profile")),
            (SAVE_UPDATE, _("Update a profile")),
        ],
    )
    profile_name = forms.CharField(
        label=_("Profile name"), required=False, max_length=100
    )
    profile = forms.ModelChoiceField(
        ImportProfile.objects.none(), label=_("Profile to update"), required=False
    )
    blank_rows_continue = forms.BooleanField(
        label=_("Rows without a name or ID continue the customer above"),
        required=False,
        help_text=_(
            "For lists giving a customer's contacts one row each, the name "
            "only on the first (merged cells saved as CSV): their phones, "
            "e-mails, contacts and addresses join that customer."
        ),
    )

    other_sheets = forms.MultipleChoiceField(
        label=_("Also import these sheets of the workbook with this mapping"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Each is imported after this sheet as an import of its own, with "
            "its own progress and error report."
        ),
    )

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("blank_rows_continue", job.blank_rows_continue)
        super().__init__(*args, **kwargs)
        self.fields["other_sheets"].choices = [
            choice for choice in sheet_choices(job) if choice[0] != job.sheet
        ]
        self.headers = list(job.mapping)
        for header in self.headers:
            self.fields[MAP_PREFIX + header] = forms.ChoiceField(
                choices=import_field_choices(), required=False
            )
        self.fields["profile"].queryset = job.source_system.import_profiles.all()
        self.fields["profile"].label_from_instance = lambda profile: profile.name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("profile_action")
        if action == self.SAVE_NEW and not (data.get("profile_name") or "").strip():
            self.add_error("profile_name", _("Give the profile a name."))
        if action == self.SAVE_UPDATE and not data.get("profile"):
            self.add_error("profile", _("Choose the profile to update."))
        return data

    def mapping(self) -> dict[str, str | None]:
        return {h: self.cleaned_data.get(MAP_PREFIX + h) or None for h in self.headers}

    def save_as(self) -> str:
        if self.cleaned_data.get("profile_action") != self.SAVE_NEW:
            return ""
        return self.cleaned_data["profile_name"]

    def update(self) -> ImportProfile | None:
        if self.cleaned_data.get("profile_action") != self.SAVE_UPDATE:
            return None
        return self.cleaned_data["profile"]


class ImportSheetForm(forms.Form):
    """Another sheet of the job's workbook to read before confirming."""

    sheet = forms.ChoiceField(label=_("Sheet"))

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"sheet": job.sheet})
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = sheet_choices(job)


def sheet_choices(job: ImportJob) -> list[tuple[str, str]]:
    """The job's workbook's sheets, the hidden ones said so."""
    hidden = set(job.hidden_sheets)
    return [
        (name, _("%(sheet)s (hidden)") % {"sheet": name} if name in hidden else name)
        for name in job.sheet_names
    ]

"""Forms of the steward UI: they parse and validate; services decide."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.models import ReviewTask, SourceSystem
from mdm.selectors import SCORE_BANDS, QueueFilters, steward_list
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

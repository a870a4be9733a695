"""Input and output shapes of the lookup and search API.

Output serializers mask personal data (phones, e-mails, ID numbers, and the
contacts and addresses that may hold them) unless the serializer context says
`reveal_pii` (a token with the `pii` scope). Input serializers refuse fields
they do not know, so a typo is a 400, not a silently ignored filter.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mdm.id_card import SCALAR_ATTRIBUTES
from mdm.masking import mask_value

MASKED_ATTRIBUTES = ("uscc", "phones", "emails", "addresses", "contacts")


def masked(attribute: str, value: Any, *, reveal: bool) -> Any:
    if reveal or value in (None, "", []) or attribute not in MASKED_ATTRIBUTES:
        return value
    return mask_value(attribute, value)


def _text_patterns() -> tuple[str, str]:
    """JSON Schema patterns for DRF's text rules: no NUL character (DRF
    refuses it), and, unless blank is allowed, a character that Python's
    str.strip() keeps (DRF trims text that way; JavaScript's \\s differs,
    e.g. on U+001C)."""
    spaces = [c for c in range(0x3001) if chr(c).isspace()]  # none above U+3000
    ranges: list[list[int]] = []
    for c in spaces:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    kept = "".join(
        f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges
    )
    return r"^[^\u0000]*$", rf"^[^\u0000]*[^\u0000{kept}][^\u0000]*$"


NO_NUL, NOT_BLANK = _text_patterns()


class TextOnlySerializer(serializers.Serializer):
    """Text fields take JSON strings only (DRF would turn 0 into "0"), as
    the OpenAPI document says ("type": "string")."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            wrong = {
                name: [serializers.CharField.default_error_messages["invalid"]]
                for name, field in self.fields.items()
                if name in data and not _is_text(field, data[name])
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def _is_text(field: serializers.Field, value: Any) -> bool:
    if value is None:
        return True  # DRF's own null rules apply
    if isinstance(field, serializers.CharField):
        return isinstance(value, str)
    if isinstance(field, serializers.ListField) and isinstance(
        field.child, serializers.CharField
    ):
        return not isinstance(value, list) or all(isinstance(v, str) for v in value)
    return True


class StrictSerializer(TextOnlySerializer):
    """Refuses unknown fields."""

    # What `validate` demands across fields, in JSON Schema, for the OpenAPI
    # document (mdm.api.openapi_schema.AutoSchema).
    schema_rules: dict[str, Any] = {}

    def to_internal_value(self, data):
        if isinstance(data, QueryDict):
            # As plain values: DRF's form rules would read "?since=" as
            # "not given" instead of an invalid time.
            data = data.dict()
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}
                )
        return super().to_internal_value(data)


class AddressSerializer(TextOnlySerializer):
    province = serializers.CharField(allow_blank=True, required=False)
    city = serializers.CharField(allow_blank=True, required=False)
    district = serializers.CharField(allow_blank=True, required=False)
    detail = serializers.CharField(allow_blank=True, required=False)


class ContactSerializer(TextOnlySerializer):
    name = serializers.CharField(allow_blank=True, required=False)
    title = serializers.CharField(allow_blank=True, required=False)
    phone = serializers.CharField(allow_blank=True, required=False)
    email = serializers.CharField(allow_blank=True, required=False)


class MaskedField(serializers.Field):
    """An ID-card attribute, masked unless the context reveals PII."""

    def __init__(self, attribute: str, **kwargs):
        self.attribute = attribute
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return getattr(instance, self.attribute)

    def to_representation(self, value):
        return masked(
            self.attribute, value, reveal=self.context.get("reveal_pii", False)
        )


@extend_schema_field(serializers.CharField(allow_blank=True))
class MaskedText(MaskedField):
    pass


@extend_schema_field(serializers.ListField(child=serializers.CharField()))
class MaskedTextList(MaskedField):
    pass


@extend_schema_field(AddressSerializer(many=True))
class MaskedAddresses(MaskedField):
    pass


@extend_schema_field(ContactSerializer(many=True))
class MaskedContacts(MaskedField):
    pass


class GoldenRecordOutputSerializer(serializers.Serializer):
    golden_id = serializers.CharField()
    status = serializers.CharField(help_text="active, merged or retired")
    version = serializers.IntegerField()
    legal_name = serializers.CharField()
    short_name = serializers.CharField()
    english_name = serializers.CharField()
    uscc = MaskedText(attribute="uscc")
    uscc_valid = serializers.BooleanField(allow_null=True)
    phones = MaskedTextList(attribute="phones")
    emails = MaskedTextList(attribute="emails")
    addresses = MaskedAddresses(attribute="addresses")
    contacts = MaskedContacts(attribute="contacts")
    industry = serializers.CharField()
    customer_level = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RedirectOutputSerializer(serializers.Serializer):
    requested_id = serializers.CharField()
    chain = serializers.ListField(
        child=serializers.CharField(),
        help_text="Golden IDs followed through merges, the requested one first "
        "and the live survivor last.",
    )


class LinkOutputSerializer(serializers.Serializer):
    source_system = serializers.CharField(source="source_record.source_system.code")
    source_id = serializers.CharField(source="source_record.source_id")
    active = serializers.BooleanField(source="source_record.is_active")
    linked_by = serializers.CharField(source="method")
    score = serializers.FloatField(allow_null=True)
    linked_at = serializers.DateTimeField()


# The hot read paths render with serializers built once per process: DRF
# deep-copies every declared field whenever a serializer is instantiated
# (about 1 ms for a golden record, more than the query behind it), and a
# bound serializer keeps no state between `to_representation` calls. The
# only context these fields read is `reveal_pii`.
@cache
def _golden_output(reveal_pii: bool) -> GoldenRecordOutputSerializer:
    return GoldenRecordOutputSerializer(context={"reveal_pii": reveal_pii})


@cache
def _link_output() -> LinkOutputSerializer:
    return LinkOutputSerializer()


def golden_record_data(record, context: dict) -> dict:
    """`GoldenRecordOutputSerializer(record, context=context).data`."""
    return _golden_output(bool(context.get("reveal_pii"))).to_representation(record)


def redirect_of(chain: list[str]) -> dict | None:
    if len(chain) < 2:
        return None
    return {"requested_id": chain[0], "chain": chain}


class GoldenLookupOutputSerializer(serializers.Serializer):
    """A lookup answer: the live golden record, and how a merged-away ID led
    to it (null when the ID asked for is the live one)."""

    golden = GoldenRecordOutputSerializer()
    redirect = RedirectOutputSerializer(allow_null=True)
    source = LinkOutputSerializer(
        allow_null=True, required=False, help_text="The link, for a source-key lookup."
    )

    def to_representation(self, answer):
        data = {
            "golden": golden_record_data(answer.golden, self.context),
            "redirect": redirect_of(answer.chain),
        }
        if answer.xref is not None:
            data["source"] = _link_output().to_representation(answer.xref)
        return data


class UsccLookupOutputSerializer(serializers.Serializer):
    uscc = serializers.CharField()
    results = GoldenRecordOutputSerializer(many=True)


class MemberOutputSerializer(LinkOutputSerializer):
    name = serializers.CharField(source="source_record.name")
    uscc = serializers.SerializerMethodField()
    received_at = serializers.DateTimeField(source="source_record.received_at")
    updated_at = serializers.DateTimeField(source="source_record.updated_at")

    def get_uscc(self, xref) -> str:
        return masked(
            "uscc",
            xref.source_record.uscc,
            reveal=self.context.get("reveal_pii", False),
        )


class GoldenDetailOutputSerializer(serializers.Serializer):
    golden = GoldenRecordOutputSerializer()
    redirect = RedirectOutputSerializer(allow_null=True)
    members = MemberOutputSerializer(many=True)
    lineage = serializers.DictField(
        help_text="Where each surviving value came from (a source record or a steward)."
    )


def _only(*present: str, absent: tuple[str, ...]) -> dict[str, Any]:
    return {
        "required": list(present),
        "not": {"anyOf": [{"required": [name]} for name in absent]},
    }


class BatchKeySerializer(StrictSerializer):
    schema_rules = {
        "oneOf": [
            _only("golden_id", absent=("source_system", "source_id", "uscc")),
            _only("source_system", "source_id", absent=("golden_id", "uscc")),
            _only("uscc", absent=("golden_id", "source_system", "source_id")),
        ]
    }

    golden_id = serializers.CharField(required=False, max_length=32)
    source_system = serializers.SlugField(required=False, max_length=32)
    source_id = serializers.CharField(required=False, max_length=255)
    uscc = serializers.CharField(required=False, max_length=32)

    def validate(self, data):
        kinds = [
            kind
            for kind, present in (
                ("golden_id", "golden_id" in data),
                ("source", "source_system" in data or "source_id" in data),
                ("uscc", "uscc" in data),
            )
            if present
        ]
        if len(kinds) != 1:
            raise serializers.ValidationError(
                "Give exactly one of: golden_id; source_system and source_id; uscc."
            )
        if kinds[0] == "source" and not (
            data.get("source_system") and data.get("source_id")
        ):
            raise serializers.ValidationError(
                "A source key needs both source_system and source_id."
            )
        data["kind"] = kinds[0]
        return data


class BatchLookupInputSerializer(StrictSerializer):
    keys = BatchKeySerializer(many=True, allow_empty=False, max_length=1000)


class BatchResultOutputSerializer(serializers.Serializer):
    key = serializers.DictField()
    found = serializers.BooleanField()
    golden = GoldenRecordOutputSerializer(allow_null=True)
    redirect = RedirectOutputSerializer(allow_null=True)
    others = serializers.ListField(
        child=serializers.CharField(),
        help_text="Other golden IDs that hold the same USCC (rare; a steward "
        "should look at them).",
    )
    error = serializers.CharField(
        allow_null=True, help_text="Why the key cannot be looked up."
    )


class BatchLookupOutputSerializer(serializers.Serializer):
    results = BatchResultOutputSerializer(many=True)


class SearchInputSerializer(StrictSerializer):
    name = serializers.CharField(required=False, max_length=300, allow_blank=True)
    phone = serializers.CharField(required=False, max_length=64, allow_blank=True)
    email = serializers.CharField(required=False, max_length=254, allow_blank=True)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=50)

    def validate(self, data):
        if not any((data.get(k) or "").strip() for k in ("name", "phone", "email")):
            raise serializers.ValidationError(
                "Give at least one of name, phone, email."
            )
        return data


class SearchHitOutputSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="0..1, the mean over the criteria given")
    matched = serializers.DictField(
        child=serializers.FloatField(), help_text="criterion -> score"
    )
    source = serializers.CharField(help_text="The member that matched best.")
    golden = GoldenRecordOutputSerializer()


class SearchOutputSerializer(serializers.Serializer):
    results = SearchHitOutputSerializer(many=True)


class CandidateInputSerializer(StrictSerializer):
    """A customer as the caller holds it, in ID-card attributes."""

    schema_rules = {
        "anyOf": [
            {"required": [name], "properties": {name: {"pattern": NOT_BLANK}}}
            for name in ("legal_name", "short_name", "english_name")
        ]
    }

    source_system = serializers.SlugField(
        required=False,
        max_length=32,
        help_text="The system the record would come from (defaults to the "
        "client's own system).",
    )
    legal_name = serializers.CharField(required=False, max_length=300, allow_blank=True)
    short_name = serializers.CharField(required=False, max_length=100, allow_blank=True)
    english_name = serializers.CharField(
        required=False, max_length=300, allow_blank=True
    )
    uscc = serializers.CharField(required=False, max_length=32, allow_blank=True)
    industry = serializers.CharField(required=False, max_length=100, allow_blank=True)
    customer_level = serializers.CharField(
        required=False, max_length=32, allow_blank=True
    )
    phones = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=20
    )
    emails = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, max_length=20
    )
    addresses = AddressSerializer(many=True, required=False, max_length=20)
    contacts = ContactSerializer(many=True, required=False, max_length=20)

    def validate(self, data):
        if not any(data.get(k) for k in ("legal_name", "short_name", "english_name")):
            raise serializers.ValidationError(
                "Give at least a legal_name, short_name or english_name."
            )
        return data

    def attributes(self) -> dict[str, Any]:
        data = self.validated_data
        attributes = {k: data.get(k, "") for k in SCALAR_ATTRIBUTES}
        for key in ("phones", "emails", "addresses", "contacts"):
            attributes[key] = [
                dict(v) if isinstance(v, dict) else v for v in data.get(key, [])
            ]
        return attributes


class EvidenceOutputSerializer(serializers.Serializer):
    comparison = serializers.CharField()
    level = serializers.CharField()
    text = serializers.CharField()
    weight = serializers.FloatField()


class CandidateMatchOutputSerializer(serializers.Serializer):
    score = serializers.FloatField()
    source = serializers.CharField(help_text="The member record that matched.")
    explanation = EvidenceOutputSerializer(many=True)
    golden = GoldenRecordOutputSerializer()


class MatchOutputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=["auto_merge", "review", "new"],
        help_text="What ingesting this record now would do.",
    )
    candidates = CandidateMatchOutputSerializer(many=True)


class ChangesInputSerializer(StrictSerializer):
    since = serializers.DateTimeField(required=False)
    cursor = serializers.CharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000)


class ChangeOutputSerializer(serializers.Serializer):
    cursor = serializers.CharField()
    change = serializers.ChoiceField(choices=["created", "changed", "deleted"])
    changed_at = serializers.DateTimeField()
    reason = serializers.CharField(allow_blank=True)
    merged_into = serializers.CharField(allow_null=True)
    golden = GoldenRecordOutputSerializer(help_text="The record as of this change.")


class ChangePageOutputSerializer(serializers.Serializer):
    results = ChangeOutputSerializer(many=True)
    next_cursor = serializers.CharField(
        allow_blank=True, help_text="Pass as `cursor` to continue."
    )
    has_more = serializers.BooleanField()


class HistoryInputSerializer(StrictSerializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500)
    offset = serializers.IntegerField(required=False, min_value=0)


class HistoryEventOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField(
        help_text="created, changed, linked, moved_away, decision or task"
    )
    who = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    changes = serializers.ListField(child=serializers.DictField())
    source = serializers.CharField(allow_blank=True)
    other_golden = serializers.CharField(allow_blank=True)
    method = serializers.CharField(allow_blank=True)


class HistoryPageOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = HistoryEventOutputSerializer(many=True)


class ErrorOutputSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="The kind of error, e.g. ValidationError")
    detail = serializers.JSONField(help_text="A message, or messages per field")

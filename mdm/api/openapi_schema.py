"""How the API's views become its OpenAPI document (DEFAULT_SCHEMA_CLASS)."""

from __future__ import annotations

import copy

from django.core.validators import RegexValidator
from drf_spectacular import openapi
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

from mdm.api.serializers import NO_NUL, NOT_BLANK, StrictSerializer


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, saying what the API's validation refuses, so
    that data valid by the schema is data the API accepts (RELIABILITY T1):
    list sizes, blank text, unknown fields, and the rules across fields a
    strict serializer declares in `schema_rules` (JSON Schema)."""

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema is None or direction != "request":
            return schema
        if isinstance(field, serializers.JSONField) and not field.allow_null:
            schema.setdefault("not", {"type": "null"})
        elif isinstance(field, serializers.ListSerializer | serializers.ListField):
            if not field.allow_empty:
                schema["minItems"] = max(schema.get("minItems", 0), 1)
            if field.max_length is not None:
                schema.setdefault("maxItems", field.max_length)
        elif isinstance(field, serializers.CharField) and not any(
            isinstance(v, RegexValidator) for v in field.validators
        ):
            blank_refused = not field.allow_blank and field.trim_whitespace
            schema["pattern"] = NOT_BLANK if blank_refused else NO_NUL
        return schema

    def _get_request_for_media_type(self, serializer, direction="request"):
        schema, required = super()._get_request_for_media_type(serializer, direction)
        serializer = force_instance(serializer)
        # A body whose rules demand a field cannot be left out.
        if isinstance(serializer, StrictSerializer) and serializer.schema_rules:
            required = True
        return schema, required

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        serializer = force_instance(serializer)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
            for keyword, branches in serializer.schema_rules.items():
                schema[keyword] = [_with_fields(b, schema) for b in branches]
        return schema


def _with_fields(branch: dict, schema: dict) -> dict:
    """A branch of a rule (oneOf/anyOf) with the full schema of each field it
    requires: generators (schemathesis) may draw a branch on its own."""
    branch = copy.deepcopy(branch)
    properties = branch.setdefault("properties", {})
    for name in branch.get("required", ()):
        properties[name] = {**schema["properties"][name], **properties.get(name, {})}
    return branch

"""JSON parsing that turns every malformed body into a 400, never a 500."""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json's C decoder recurses per nesting level: "[[[[…" of a few
            # thousand levels exhausts the stack instead of raising ValueError.
            raise ParseError("JSON parse error - nested too deeply.") from None

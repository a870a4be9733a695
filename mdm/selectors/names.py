"""Fuzzy company-name search candidates, shared by the web search page and
the search API: records whose standardised name is near the query, scored
with rapidfuzz (0..1).

On PostgreSQL the trigram indexes of migration 0011 find and rank the
candidates, so the best ones are scored however many records share a word
with the query; on SQLite (the embedded default, small data) a substring
scan finds them.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, FloatField, Q, QuerySet
from django.db.models.expressions import RawSQL
from rapidfuzz import fuzz

from matching import standardise
from mdm.models import SourceRecord

# Name search scores at most this many SQL candidates with rapidfuzz.
NAME_CANDIDATES = 100
NAME_MIN_SCORE = 0.6


def linked_records() -> QuerySet[SourceRecord]:
    """Active source records with a golden record, ready to show: without the
    raw payload, the source system's mapping rules and the golden record's
    lineage, which a search reads for up to hundreds of candidates and never
    shows."""
    return (
        SourceRecord.objects.filter(xref__isnull=False, is_active=True)
        .select_related("source_system", "xref__golden")
        .defer(
            "raw_payload",
            "source_system__field_mapping",
            "source_system__trust",
            "xref__golden__lineage",
        )
    )


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


# The expressions migration 0011 indexes with gin_trgm_ops on PostgreSQL.
_TRGM_KEYS = {
    "name_core": '("mdm_sourcerecord"."standardised" ->> \'name_core\')',
    "name_pinyin": '("mdm_sourcerecord"."standardised" ->> \'name_pinyin\')',
    "name_latin_key": '("mdm_sourcerecord"."standardised" ->> \'name_latin_key\')',
    "english_latin_key": (
        '("mdm_sourcerecord"."standardised" ->> \'english_latin_key\')'
    ),
}


def _name_keys(query: str) -> tuple[standardise.CompanyName, list[tuple[str, str]]]:
    """(parsed query, [(standardised key, query value)]) to compare."""
    name = standardise.company_name(query)
    if name is None:
        return None, []
    if name.script == "latin":
        pairs = _latin_pairs(name.pinyin, name.latin_key)
    else:
        pairs = [("name_core", name.core or name.normalised)]
    return name, [(k, v) for k, v in pairs if v]


def _latin_pairs(pinyin: str, latin_key: str) -> list[tuple[str, str]]:
    return [
        ("name_pinyin", re.sub(r"[^a-z]", "", pinyin.lower())),
        ("name_latin_key", latin_key),
        ("english_latin_key", latin_key),
    ]


def name_candidates(query: str) -> list[tuple[SourceRecord, float]]:
    name, pairs = _name_keys(" ".join(query.split()))
    if not pairs:
        return []
    found = []
    if on_postgres():
        # An English name is looked up by its brand first: the trigrams of
        # "building materials" or "technology" are in a large share of all
        # names, and the index scan for the whole name then reads tens of
        # thousands of rows (0.1-0.7 s at 1M records) to keep 200. Records
        # whose Latin key starts with the brand come from a b-tree in a few
        # milliseconds; the brand's trigrams are the fallback for a brand
        # spelt differently (pinyin trigrams such as "ang" or "ian" are in
        # a third of all names: 30 ms an index at 1M records).
        brand = name.brand if name.script == "latin" else ""
        if brand:
            found = _name_candidates_prefix(brand, name.latin_key)
        if not found and brand and brand != name.latin_key:
            found = _name_candidates_trigram(
                [(k, v) for k, v in _latin_pairs(brand, brand) if v]
            )
        if not found:
            found = _name_candidates_trigram(pairs)
    # A short name with a typo shares no trigram with the right one (维每 for
    # 维海): the substring scan, by single characters, still finds it.
    if not found:
        found = _name_candidates_substring(pairs)
    scored = []
    for record in found:
        score = max(
            (
                fuzz.WRatio(value, record.standardised.get(key) or "") / 100
                for key, value in pairs
            ),
            default=0.0,
        )
        if name.script == "han" and record.name:
            score = max(score, fuzz.WRatio(query, record.name) / 100)
        if score >= NAME_MIN_SCORE:
            scored.append((record, score))
    return scored


def _name_candidates_trigram(pairs: list[tuple[str, str]]) -> list[SourceRecord]:
    # `value <% expr`: the query is word-similar to some extent of the stored
    # key (pg_trgm.word_similarity_threshold, 0.6 by default), which the GIN
    # trigram index answers; the best NAME_CANDIDATES go on to rapidfuzz.
    condition = Q()
    similarity = []
    params: list[str] = []
    for key, value in pairs:
        condition |= Q(
            RawSQL(f"%s <%% {_TRGM_KEYS[key]}", [value], output_field=BooleanField())
        )
        similarity.append(f"word_similarity(%s, {_TRGM_KEYS[key]})")
        params.append(value)
    expression = RawSQL(
        f"GREATEST({', '.join(similarity)})" if len(similarity) > 1 else similarity[0],
        params,
        output_field=FloatField(),
    )
    return list(
        linked_records()
        .filter(condition)
        .annotate(similarity=expression)
        .order_by("-similarity", "pk")[:NAME_CANDIDATES]
    )


# The expressions migration 0016 indexes with text_pattern_ops on PostgreSQL.
_PREFIX_KEYS = ("name_latin_key", "english_latin_key")
# A shorter brand starts too many keys for a prefix to narrow anything.
_PREFIX_MIN_LETTERS = 4


def _name_candidates_prefix(brand: str, latin_key: str) -> list[SourceRecord]:
    """Records whose Latin key begins with the brand, as written or with its
    syllables run together ("hao fa zhen" -> "haofazhen industrial"), the
    nearest to the whole key first."""
    if len(brand.replace(" ", "")) < _PREFIX_MIN_LETTERS:
        return []
    condition = Q()
    for key in _PREFIX_KEYS:
        for prefix in {brand, brand.replace(" ", "")}:
            pattern = re.sub(r"([\\%_])", r"\\\1", prefix) + "%"
            condition |= Q(
                RawSQL(
                    f"{_TRGM_KEYS[key]} LIKE %s", [pattern], output_field=BooleanField()
                )
            )
    nearest = ", ".join(f"word_similarity(%s, {_TRGM_KEYS[k]})" for k in _PREFIX_KEYS)
    similarity = RawSQL(
        f"GREATEST({nearest})",
        [latin_key] * len(_PREFIX_KEYS),
        output_field=FloatField(),
    )
    return list(
        linked_records()
        .filter(condition)
        .annotate(similarity=similarity)
        .order_by("-similarity", "pk")[:NAME_CANDIDATES]
    )


def _name_candidates_substring(pairs: list[tuple[str, str]]) -> list[SourceRecord]:
    # Records sharing a run of characters with the query: 2 for Chinese (a
    # brand is often two characters; 1 for a name that short), 3 letters for
    # Latin (typos defeat a whole-word match).
    condition = Q()
    for key, value in pairs:
        if key == "name_core":
            size = 2 if len(value) > 3 else 1
        else:
            size = 3
        grams = {value} | {
            value[i : i + size] for i in range(max(1, len(value) - size + 1))
        }
        for gram in grams:
            condition |= Q(**{f"standardised__{key}__icontains": gram})
    return list(
        linked_records().filter(condition).order_by("pk")[: NAME_CANDIDATES * 10]
    )

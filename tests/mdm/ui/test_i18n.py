"""Simplified Chinese by default, English on request, and a complete,
compiled catalogue."""

import ast
import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.mdm.ui.helpers import make_task

CATALOGUE = Path(settings.BASE_DIR) / "mdm/locale/zh_Hans/LC_MESSAGES"
# The steward UI's files: each of their messages must be translated.
STEWARD_UI = (
    "templates/base.html",
    "templates/403.html",
    "templates/404.html",
    "templates/registration/",
    "templates/mdm/",
    "mdm/views/__init__.py",
    "mdm/views/access.py",
    "mdm/views/dashboard.py",
    "mdm/views/display.py",
    "mdm/views/golden.py",
    "mdm/views/queue.py",
    "mdm/views/search.py",
    "mdm/forms.py",
    "mdm/services/steward_queue.py",
    "mdm/services/unmerge.py",
    "mdm/services/golden_records.py",
    "mdm/models/golden.py",
    "mdm/models/review.py",
    "mdm/models/decisions.py",
)


def po_entries() -> list[dict[str, str]]:
    """Every entry but the header: msgid, msgid_plural, msgstr, references."""
    entries, current, key = [], {"#:": ""}, None
    for line in (CATALOGUE / "django.po").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            entries.append(current)
            current, key = {"#:": ""}, None
        elif line.startswith("#:"):
            current["#:"] += line[2:]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            current[key] = ast.literal_eval(value)
    entries.append(current)
    return [
        {
            "msgid": e["msgid"],
            "context": e.get("msgctxt", ""),
            "plural": e.get("msgid_plural", ""),
            "msgstr": e.get("msgstr", e.get("msgstr[0]", "")),
            "references": e["#:"].split(),
        }
        for e in entries
        if e.get("msgid")
    ]


def test_every_message_of_the_steward_ui_has_a_chinese_translation():
    ours = [
        e
        for e in po_entries()
        if any(ref.startswith(STEWARD_UI) for ref in e["references"])
    ]
    assert len(ours) > 250
    assert [e["msgid"] for e in ours if not e["msgstr"]] == []
    assert "#, fuzzy" not in (CATALOGUE / "django.po").read_text(encoding="utf-8")


def test_the_compiled_catalogue_matches_the_po_file():
    with (CATALOGUE / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in po_entries():
        msgid, plural, context = entry["msgid"], entry["plural"], entry["context"]
        expected = entry["msgstr"] or msgid
        if plural:
            assert compiled.ngettext(msgid, plural, 1) == expected, msgid
        elif context:
            assert compiled.pgettext(context, msgid) == expected, msgid
        else:
            assert compiled.gettext(msgid) == expected, msgid


@pytest.mark.django_db
def test_pages_speak_chinese_by_default(steward_client):
    task = make_task()
    html = steward_client.get(reverse("queue")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "复核队列" in html and "认领" in html
    page = steward_client.get(reverse("task", args=[task.pk])).content.decode()
    assert "同一城市" in page
    assert "合并…" in page


@pytest.mark.django_db
def test_pages_speak_english_when_asked(steward_client):
    make_task()
    steward_client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = steward_client.get(reverse("queue")).content.decode()
    assert '<html lang="en">' in html
    assert "Review queue" in html and "Claim" in html

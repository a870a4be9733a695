"""The reading layer's refusals (`ImportFileError`, English) in the
reader's language: each message's template (`mdm.importing.messages`) is
looked up in Django's catalog and filled with the same facts."""

from __future__ import annotations

from django.utils.translation import gettext

from mdm.importing import ImportFileError
from mdm.importing.messages import Phrase


def import_file_error_text(error: ImportFileError) -> str:
    """`error`'s message in the active language (the words among its facts,
    such as what a refused file is, translated too)."""
    params = {
        name: gettext(value) if isinstance(value, Phrase) else value
        for name, value in error.params.items()
    }
    template = gettext(error.template)
    try:
        return template % params if params else template
    except (KeyError, TypeError, ValueError):
        return error.message  # a translation that lost one of the facts

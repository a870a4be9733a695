"""A logging filter that masks phones, e-mails and ID numbers in a record's
message (mdm/masking.py), for loggers that quote request URLs: a lookup by
USCC carries the number in its path, and Django logs the path of every 4xx
and 5xx answer (RELIABILITY W7).

Extra fields are masked too: Django attaches the request to those records,
and LOG_FORMAT=json writes every extra field, the request as its text (with
the path). Such a field becomes its masked text; numbers and flags stay."""

from __future__ import annotations

import logging

from mdm.masking import mask_text

# What every LogRecord has; anything else on a record came as an extra.
_STANDARD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call: leave it to logging's own report
            return True
        record.msg, record.args = mask_text(message), ()
        for name, value in list(vars(record).items()):
            if name in _STANDARD_FIELDS or isinstance(value, int | float | None):
                continue
            setattr(record, name, mask_text(str(value)))
        return True

"""A logging filter that masks phones, e-mails and ID numbers in a record's
message (mdm/masking.py), for loggers that quote request URLs: a lookup by
USCC carries the number in its path, and Django logs the path of every 4xx
and 5xx answer (RELIABILITY W7)."""

from __future__ import annotations

import logging

from mdm.masking import mask_text


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken log call: leave it to logging's own report
            return True
        record.msg, record.args = mask_text(message), ()
        return True

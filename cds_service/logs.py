"""Logging set-up: one line per event, nothing from a request able to forge another line, and no
library logging that would write patient identifiers (urllib3 logs every URL it fetches)."""

from __future__ import annotations

import logging
import re
import sys

#: C0 and C1 controls (NEL \x85 ends a line too; CSI \x9b drives terminals) and Unicode breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


class OneLineFormatter(logging.Formatter):
    """Control characters of a record (a newline in a logged request value) are written escaped,
    so a value can never start a line of its own."""

    def format(self, record: logging.LogRecord) -> str:
        return _escaped(super().format(record))


#: Libraries whose DEBUG output carries URLs with patient ids (``GET /Condition?patient=...``).
_QUIET = ("urllib3", "requests")


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))

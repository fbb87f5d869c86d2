"""Logging set-up: one line per event, nothing from a request able to forge another line, and no
library logging that would write patient identifiers (urllib3 logs every URL it fetches).

Two formats (``CDS_LOG_FORMAT``): ``text``, for people, and ``json``, one JSON object per line for a
log pipeline. An event's structured fields (``extra={"fields": {...}}``) become keys of the JSON
object; in text they are already part of the message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

#: C0 and C1 controls (NEL \x85 ends a line too; CSI \x9b drives terminals) and Unicode breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _escaped(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


class OneLineFormatter(logging.Formatter):
    """Control characters of a record (a newline in a logged request value) are written escaped,
    so a value can never start a line of its own."""

    def __init__(self, fmt: str | None = _TEXT_FORMAT, *args: Any, **kwargs: Any) -> None:
        super().__init__(fmt, *args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return _escaped(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the event's fields. Every
    character outside ASCII is written as an escape, so no value can break the line. A traceback
    is reduced to the exception's class (its message may quote patient data)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update((k, v) for k, v in fields.items() if k not in entry)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=True, default=str, separators=(",", ":"))


_FORMATTERS: dict[str, type[logging.Formatter]] = {"text": OneLineFormatter, "json": JsonFormatter}


def formatter(log_format: LogFormat) -> logging.Formatter:
    return _FORMATTERS[log_format]()


#: Libraries whose DEBUG output carries URLs with patient ids (``GET /Condition?patient=...``),
#: and alembic's plugin set-up, which says nothing an operator needs.
_QUIET = ("urllib3", "requests", "alembic.runtime.plugins")


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


def gunicorn_log_config(level: str, log_format: LogFormat) -> dict[str, Any]:
    """The whole logging set-up once gunicorn has started: its own lines (start, workers, errors)
    in the service's format on stderr, beside the service's, and no access log (the service logs
    each CDS call itself, with what an access line lacks). gunicorn replaces its defaults key by
    key, so every key is given."""
    factory = _FORMATTERS[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": {"()": f"{factory.__module__}.{factory.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "service",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "gunicorn.error": {"handlers": [], "propagate": True, "level": level.upper()},
            "gunicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }

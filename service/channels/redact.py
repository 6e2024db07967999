"""Keep channel secrets out of every log record, whoever logs it (urllib3, oauthlib, tweepy, ours).

Libraries log at DEBUG what they send: urllib3 the request path (a webhook URL's path is its
secret), oauthlib the consumer key and token, tweepy the headers. We own none of those loggers'
handlers, so the redaction happens where every record is made: a log record factory that replaces
each registered secret with "****" in the message and any traceback before a handler sees it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

MASK = "****"
# Shorter values are not masked: they would garble ordinary words in logs and are no real secret.
MIN_LENGTH = 6

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register(*values: str | None) -> None:
    """Mask these values in every log record from now on (call it when a channel gets a credential)."""
    global _installed
    fresh = {v for v in values if v and len(v) >= MIN_LENGTH}
    if not fresh:
        return
    with _lock:
        _secrets.update(fresh)
        if not _installed:
            _wrap(logging.getLogRecordFactory())
            _installed = True


def scrub(text: str) -> str:
    """`text` with every registered secret masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: a secret containing another
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _wrap(previous: Any) -> None:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it for the handler to report as usual
            return record
        clean = scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            clean = scrub(trace)
            if clean != trace:
                # Formatters print exc_text when set; dropping exc_info keeps the raw one from being shown.
                record.exc_text, record.exc_info = clean, None
        return record

    logging.setLogRecordFactory(factory)

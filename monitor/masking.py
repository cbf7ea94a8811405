"""Masked evidence: show enough of a matched value to judge it, never the value itself.

Every sample that leaves the detector (reports, logs, database, alerts) passes
through ``mask``; nothing else in leakmon may hold a raw matched value for long.
"""

from __future__ import annotations

import re

__all__ = ["mask"]

_DIGITS = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_DATE = re.compile(r"^(\d{2})\d{2}([-/.])\d{1,2}\2\d{1,2}|^\d{1,2}([-/.])\d{1,2}\3(\d{2})\d{2}")


def _mask_word(match: re.Match[str]) -> str:
    word = match.group(0)
    return word[0] + "*" * (len(word) - 1) if len(word) > 1 else "*"


def _mask_general(value: str) -> str:
    return _DIGITS.sub("*", _WORD.sub(_mask_word, value))


def _keep_last_digits(value: str, keep: int) -> str:
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    shown = set(digits[-keep:]) if len(digits) > keep * 2 else set()
    return "".join(ch if (i in shown or not ch.isalnum()) else "*" for i, ch in enumerate(value))


def _mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    masked_local = (local[:1] + "***") if local else "***"
    masked_host = (host[:1] + "***") if host else "***"
    return f"{masked_local}@{masked_host}{dot}{tld}"


def _mask_date(value: str) -> str:
    m = _DATE.match(value)
    if m and m.group(1):
        return m.group(1) + "**" + _DIGITS.sub("*", value[4:])
    if m and m.group(4):
        head = _DIGITS.sub("*", value[: m.start(4)])
        return head + m.group(4) + "**" + _DIGITS.sub("*", value[m.end(4) + 2 :])
    return _DIGITS.sub("*", value)


def mask(value: str, entity: str) -> str:
    """Return a masked form of a matched value, shaped for its entity.

    Names and addresses keep each word's first letter (``J*** S****``); SSNs and
    card numbers keep their last four digits (``***-**-1234``); phones keep two;
    dates keep the century (``19**-**-**``); e-mails keep first letters and the
    top-level domain (``j***@e***.com``). Anything else keeps only punctuation
    and first letters. Values are cut to 40 characters first.
    """
    value = " ".join(value.split())[:40]
    if entity == "EMAIL_ADDRESS" and "@" in value:
        return _mask_email(value)
    if entity in ("US_SSN", "CREDIT_CARD"):
        return _keep_last_digits(value, 4)
    if entity == "PHONE_NUMBER":
        return _keep_last_digits(value, 2)
    if entity == "DATE_OF_BIRTH":
        return _mask_date(value)
    return _mask_general(value)

"""Hide the secrets a URL can carry before it is printed, logged or stored.

A URL holds credentials in three places: its user-info (``user:password@``, or
a bare token), query parameters named like secrets (``?password=``,
``?access_token=``) and its fragment. ``redact_url`` replaces each with ``***``
and keeps what an operator needs to recognise the URL: scheme, user name, host,
port, path and the harmless parameters (``sslmode=require``).

It works on the text, without a URL parser that could refuse it: a password
with an unencoded ``@`` (``postgresql://app:p@ss@db/x``) is hidden whole, up to
the last ``@`` of the authority, not cut at the first one.
"""

from __future__ import annotations

import re

__all__ = ["SECRET_PARAMS", "redact_text", "redact_url"]

#: Query parameter names (lower case, ``-`` read as ``_``) whose values are secrets.
SECRET_PARAMS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pass",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth",
        "authorization",
        "api_key",
        "apikey",
        "key",
        "sig",
        "signature",
        "x_amz_signature",
        "x_amz_credential",
        "x_amz_security_token",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "sslpassword",
        "private_key",
        "code",
    }
)
_HIDDEN = "***"
#: A URL inside free text: a scheme, then everything up to white space or a quote.
_URL_IN_TEXT = re.compile(r"""[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>]+""")


def redact_url(url: str) -> str:
    """Return ``url`` with user-info passwords, secret parameters and the fragment hidden."""
    head, sep, rest = url.partition("://")
    if not sep:
        return _redact_query(url)
    body, hash_, _fragment = rest.partition("#")
    main, question, query = body.partition("?")
    # The authority ends at the first "/" after its last "@": a password may hold "/".
    # An "@" after a "/" with no ":" before it is in the path (``/people/@me``).
    at = main.rfind("@")
    before = main[: main.find("@")]
    if at >= 0 and not ("/" in before and ":" not in before):
        userinfo, host_path = main[:at], main[at + 1 :]
        user, colon, _password = userinfo.partition(":")
        shown = f"{user}:{_HIDDEN}" if colon and user else _HIDDEN
        main = f"{shown}@{host_path}"
    out = f"{head}://{main}"
    if question:
        out += "?" + _redact_params(query)
    if hash_:
        out += "#" + _HIDDEN
    return out


def redact_text(text: str) -> str:
    """Return ``text`` with every URL in it passed through ``redact_url``."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def _redact_query(text: str) -> str:
    base, question, query = text.partition("?")
    return base + ("?" + _redact_params(query) if question else "")


def _redact_params(query: str) -> str:
    parts = []
    for pair in query.split("&"):
        name, eq, _value = pair.partition("=")
        if eq and name.strip().lower().replace("-", "_") in SECRET_PARAMS:
            parts.append(f"{name}={_HIDDEN}")
        else:
            parts.append(pair)
    return "&".join(parts)

"""What may hold a credential, shown without it: reprs and error messages use these, never the raw value.

Credentials live in headers (``Authorization``, a proxy's token), in the httpx client's keyword
arguments (``headers``, ``auth``, ``cookies``, ``cert``...) and in the ``user:password@`` of a URL.
Their names stay visible (so a repr still tells what is configured), their values never do.

>>> redact_url("https://alice:s3cret@proxy.example/ollama")
'https://***@proxy.example/ollama'
>>> redact_url(["a:11434", "http://bob@b:11434"])
"['a:11434', 'http://***@b:11434']"
>>> redacted({"Authorization": "Bearer s3cret", "X-Trace": "1"})
{'Authorization': '***', 'X-Trace': '***'}
>>> without_userinfo("http://alice:s3cret@gpu-1:11434,gpu-2")
'http://gpu-1:11434,gpu-2'
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from .errors import InvalidRequestError

REDACTED = "***"


def _one_url(url: str, replacement: str = f"{REDACTED}@") -> str:
    scheme, separator, rest = url.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return url
    return f"{scheme}{separator}{replacement}{authority.rpartition('@')[2]}{slash}{path}"


def redact_url(value: str | Sequence[str] | None) -> str | None:
    """A host, a comma-separated list of hosts, or a list of them, with any userinfo replaced."""
    if value is None:
        return None
    if isinstance(value, str):
        return ",".join(_one_url(entry) for entry in value.split(","))
    return repr([_one_url(entry) if isinstance(entry, str) else entry for entry in value])


def redacted(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    """The keys of ``mapping`` (headers, client keyword arguments), every value replaced."""
    return {str(key): REDACTED for key in (mapping or {})}


def without_userinfo(value: str | Sequence[str] | None) -> str | list[str] | None:
    """A host, a comma-separated list of hosts, or a list of them, with any userinfo removed (for
    serialisations that may be read back: a placeholder would be sent as a password)."""
    if value is None:
        return None
    if isinstance(value, str):
        return ",".join(_one_url(entry, "") for entry in value.split(","))
    return [_one_url(entry, "") for entry in value]


def basic_auth(value: str | Sequence[str] | None) -> dict[str, str]:
    """The ``Authorization`` header that the ``user:password@`` of a host stands for (HTTP Basic, as
    curl, httpx and ``langchain-ollama`` read it), for one host or several; ``{}`` when none has one.
    One header goes to every host, so the hosts may not carry different credentials.

    >>> basic_auth("http://me:pw@box:8080")
    {'Authorization': 'Basic bWU6cHc='}
    >>> basic_auth(["gpu-1:11434", "gpu-2"])
    {}
    """
    entries = value.split(",") if isinstance(value, str) else list(value or ())
    found: dict[str, str] = {}
    for entry in entries:
        authority = entry.strip().rpartition("://")[2].partition("/")[0]
        if "@" not in authority:
            continue
        user, _, password = authority.rpartition("@")[0].partition(":")
        token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
        header = {"Authorization": f"Basic {token}"}
        if found and header != found:
            raise InvalidRequestError(
                "the hosts carry different user:password@ credentials; one Authorization header goes to "
                "every host: give it once, or as headers={'Authorization': ...}"
            )
        found = header
    return found

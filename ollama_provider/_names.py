"""Model names: Ollama's ``[host/][namespace/]model[:tag]`` grammar, checked before any I/O.

>>> validate_model_name("llama3.2")
'llama3.2'
>>> validate_model_name("127.0.0.1:5000/library/all-minilm:latest")
'127.0.0.1:5000/library/all-minilm:latest'
>>> validate_model_name("bad name!")
Traceback (most recent call last):
...
ollama_provider.errors.InvalidRequestError: invalid model name 'bad name!': ...
>>> canonical_name("Llama3.2") == canonical_name("llama3.2:latest")
True
"""

from __future__ import annotations

import functools
import re

from .errors import InvalidRequestError

_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}"
_MODEL = re.compile(_PART)
_TAG = re.compile(_PART)
_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,79}")
_HOST = re.compile(r"(?:https?://)?[A-Za-z0-9_][A-Za-z0-9_.:-]{0,349}")
# ":cloud" / ":local" pick where a model runs and are stripped by the server before parsing
# ("<tag>-cloud" needs no stripping: it is a valid tag as it stands).
_SOURCE_SUFFIXES = (":cloud", ":local")
_GRAMMAR = "expected [host/][namespace/]model[:tag] with letters, digits, '_', '.', '-'"


def _split(name: str) -> tuple[str | None, str | None, str, str | None]:
    """Split into (host, namespace, model, tag); the tag only counts after the last '/'."""
    tag = None
    colon, slash = name.rfind(":"), name.rfind("/")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    parts = name.split("/")
    if len(parts) == 1:
        return None, None, parts[0], tag
    if len(parts) == 2:
        return None, parts[0], parts[1], tag
    return "/".join(parts[:-2]), parts[-2], parts[-1], tag


def validate_model_name(name: object) -> str:
    """Return ``name`` unchanged if the server would accept it, else raise InvalidRequestError."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError(
            "a model name is required (e.g. model='llama3.2:3b'); pass model= or set a default model"
        )
    return _check_grammar(name)


@functools.lru_cache(maxsize=256)  # the same few names come back on every request
def _check_grammar(name: str) -> str:
    bare = name
    for suffix in _SOURCE_SUFFIXES:
        if bare.endswith(suffix) and len(bare) > len(suffix):
            bare = bare[: -len(suffix)]
            break
    host, namespace, model, tag = _split(bare)
    ok = (
        bool(_MODEL.fullmatch(model))
        and (tag is None or bool(_TAG.fullmatch(tag)))
        and (namespace is None or bool(_NAMESPACE.fullmatch(namespace)))
        and (host is None or (len(host) <= 350 and bool(_HOST.fullmatch(host))))
    )
    if not ok:
        raise InvalidRequestError(f"invalid model name {name!r}: {_GRAMMAR}")
    return name


def canonical_name(name: str) -> str:
    """The name the server matches on: lower-cased, ``:latest`` added, default namespace dropped."""
    host, namespace, model, tag = _split(name.lower())
    short = model + ":" + (tag or "latest")
    if host not in (None, "registry.ollama.ai"):
        return f"{host}/{namespace}/{short}"
    if namespace not in (None, "library"):
        return f"{namespace}/{short}"
    return short

"""JSON pointers (RFC 6901) and the ``$ref``s of a definition that use them: the one place that
writes, reads and follows them.

A pointer is ``/records/repair/fields``: each token a key, or a list position written in decimal
without leading zeros, with ``~`` written ``~0`` and ``/`` written ``~1``. A ``$ref`` holds a pointer
as a URI fragment, ``#/records/repair/fields``, percent-encoded where a URI needs it (RFC 6901 §6:
decoded first, then split). Only references inside the same document are followed; nothing is fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote

from engine.errors import PointerToNowhere, ReferenceCycle, UnresolvableReference
from engine.source import DocumentPath, PathPart

_INDEX = re.compile(r"0|[1-9][0-9]*")

MAPPINGS = (dict, MappingProxyType, Mapping)
"""What a JSON mapping is here, plain or frozen: ``isinstance(x, MAPPINGS)`` answers in C for the two
kinds documents hold, where ``isinstance(x, Mapping)`` runs the ABC's Python hook on every call."""


def escape(token: PathPart) -> str:
    """A key (or list position) as a pointer token: ``a/b~c`` → ``a~1b~0c``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """A pointer token as the key it names: ``a~1b~0c`` → ``a/b~c`` (``~01`` is ``~1``, not ``/``)."""
    return token.replace("~1", "/").replace("~0", "~")


def pointer(path: Iterable[PathPart]) -> str:
    """``("records", "x", "fields")`` → ``/records/x/fields``; the root is the empty pointer."""
    return "".join("/" + escape(part) for part in path)


def reference(path: Iterable[PathPart]) -> str:
    """``("records", "x", "fields")`` → ``#/records/x/fields``, percent-encoded for use in a URI."""
    return "#" + quote(pointer(path), safe="/")


def is_local(ref: str) -> bool:
    """Whether ``ref`` names a place in the same document (``#`` or ``#/...``)."""
    return ref == "#" or ref.startswith("#/")


def tokens(ref: str) -> tuple[str, ...]:
    """The unescaped tokens of a local reference: ``#/a~1b/0`` → ``("a/b", "0")``."""
    if not is_local(ref):
        raise UnresolvableReference(
            f"`$ref` `{ref}` cannot be followed: a reference may point only inside this file, "
            "written as `#/` and a path, e.g. `#/records/<record>/fields`",
            ref=ref,
        )
    decoded = unquote(ref[1:])
    return tuple(unescape(token) for token in decoded.split("/")[1:]) if decoded else ()


def locate(document: Any, ref: str) -> DocumentPath:
    """The path ``ref`` names in ``document``, list positions as numbers; ``PointerToNowhere`` when a
    token names nothing there (a missing key, a position past the end or not in RFC 6901's form)."""
    found: list[PathPart] = []
    node = document
    for token in tokens(ref):
        if isinstance(node, MAPPINGS) and token in node:
            node = node[token]
            found.append(token)
        elif _is_list(node) and _INDEX.fullmatch(token) and int(token) < len(node):
            node = node[int(token)]
            found.append(int(token))
        else:
            where = f"under `{pointer(found)}`" if found else "at the top level"
            raise PointerToNowhere(
                f"`$ref` `{ref}` points to nothing in this file: there is no `{token}` {where}",
                ref=ref,
                found=tuple(found),
            )
    return tuple(found)


def resolve(document: Any, ref: str) -> Any:
    """The node ``ref`` names in ``document`` (``UnresolvableReference`` when there is none)."""
    return node_at(document, locate(document, ref))


def node_at(document: Any, path: DocumentPath) -> Any:
    """The node at ``path``, one that is known to be there (the schema or ``locate`` proved it)."""
    for part in path:
        document = document[part]
    return document


_ABSENT = object()


def holds(document: Any, path: DocumentPath) -> bool:
    """Whether ``document`` has a node at ``path``."""
    return lookup(document, path, _ABSENT) is not _ABSENT


def lookup(document: Any, path: DocumentPath, default: Any = None) -> Any:
    """The node at ``path`` in ``document``, or ``default`` when there is none."""
    for part in path:
        kind = type(document)  # exact types first: the checks ask this often, and the ABCs are slow
        if kind is MappingProxyType or kind is dict:
            if not (isinstance(part, str) and part in document):
                return default
        elif isinstance(part, str):
            if not (isinstance(document, MAPPINGS) and part in document):
                return default
        elif not ((kind is tuple or kind is list or _is_list(document)) and 0 <= part < len(document)):
            return default
        document = document[part]
    return document


def follow(document: Any, schema: Any) -> tuple[Any, ...]:
    """``schema`` and each schema its top-level ``$ref`` leads to in turn, until one without a local
    ``$ref``; ``ReferenceCycle`` when the references come back to one already followed."""
    chain = [schema]
    followed: list[str] = []
    while isinstance(schema, MAPPINGS) and isinstance(schema.get("$ref"), str) and is_local(schema["$ref"]):
        ref = schema["$ref"]
        if ref in followed:
            shown = " → ".join(f"`{r}`" for r in [*followed, ref])
            raise ReferenceCycle(
                f"`$ref` `{ref}` leads back to itself ({shown}) without reaching a schema",
                ref=ref,
                chain=(*followed, ref),
            )
        followed.append(ref)
        schema = resolve(document, ref)
        chain.append(schema)
    return tuple(chain)


def _is_list(node: Any) -> bool:
    return isinstance(node, Sequence) and not isinstance(node, (str, bytes))

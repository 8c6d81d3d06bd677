"""How a store notices that a history entry changed after it was written.

Replaying a history (``Runtime.verify``) proves the instance's state, data and deadlines follow from
its entries, but not that the entries are the ones written: a payload field no rule reads, an actor's
name or a time can change and still replay. So each entry is stored with a digest of its canonical
text (compact JSON, keys in the order ``entry_to_json`` writes them), of its instance's id and of its
position; reading it back, parsing it and writing it out again must give the same digest.

The digest is a check against damage (a disk, a careless ``UPDATE``), not a signature: whoever can
write the table can write a matching digest too. Entries stored before migration 5 have none, and
only replay checks them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.instances import Entry, entry_to_json

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def canonical(value: Any) -> str:
    """The compact JSON text stores write (``json.dumps`` with these options, without building an
    encoder each time)."""
    return _ENCODER.encode(value)


def entry_text(entry: Entry) -> str:
    return canonical(entry_to_json(entry))


def digest(instance_id: str, index: int, text: str) -> str:
    """The digest kept beside entry ``index`` of the instance, whose canonical text is ``text``."""
    material = f"{instance_id}\x00{index}\x00{text}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


def source_digest(text: str) -> str:
    """SHA-256 of a definition's text as registered: what finds it again whatever a loader makes of it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

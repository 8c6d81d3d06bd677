"""One-page PDF files (as Graphviz's cairo writes them) put together as the pages of one PDF.

Graphviz draws one page per run; a chart printed across several sheets is several runs. Each file's
objects are copied as they are, renumbered, under one page tree; their streams are not touched. Only
files with a classic cross-reference table are read (cairo 1.16 writes those); another kind is
refused with a ``RenderError`` rather than misread. The result carries no date, so the same pages give
the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.errors import RenderError

_REFERENCE = re.compile(rb"(\d+) (\d+) R\b")
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_STREAM = re.compile(rb"\bstream\r?\n")


def combine(pdfs: Sequence[bytes]) -> bytes:
    """The pages of every file in ``pdfs``, in order, as one PDF."""
    if not pdfs:
        raise RenderError("no pages to put in the PDF")
    objects: list[bytes] = []  # the new file's objects; object number n is objects[n - 1]
    kids: list[int] = []
    pages_number = 1  # the page tree comes first, so each page can point at it before it is written
    objects.append(b"")
    for pdf in pdfs:
        found, root, info = _objects(pdf)
        page_numbers = _page_numbers(found, root)
        # the catalog, page tree and document information (with cairo's creation date) are the new file's
        skipped = {root, info, *_page_tree_numbers(found, root)} - set(page_numbers)
        mapping: dict[int, int] = {}
        for number in sorted(found):
            if number not in skipped:
                mapping[number] = len(objects) + len(mapping) + 1
        for number in sorted(mapping):
            body = _renumber(found[number], mapping)
            if number in page_numbers:
                body = re.sub(rb"/Parent \d+ \d+ R", b"/Parent %d 0 R" % pages_number, body, count=1)
            objects.append(body)
        kids.extend(mapping[n] for n in page_numbers)
    objects[pages_number - 1] = (
        b"<< /Type /Pages /Kids [ " + b" ".join(b"%d 0 R" % k for k in kids) + b" ] /Count %d >>" % len(kids)
    )
    objects.append(b"<< /Producer (procflow) >>")
    info = len(objects)
    objects.append(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_number)
    return _write(objects, root=len(objects), info=info)


def _objects(pdf: bytes) -> tuple[dict[int, bytes], int, int]:
    """Every object's body (between ``N 0 obj`` and ``endobj``) by number, the catalog's number and
    the document information's (0 when there is none)."""
    start = pdf.rfind(b"startxref")
    if start < 0:
        raise RenderError("Graphviz's PDF has no cross-reference table; the pages cannot be put together")
    xref_at = int(pdf[start + len(b"startxref") :].split()[0])
    if not pdf.startswith(b"xref", xref_at):
        raise RenderError(
            "Graphviz's PDF keeps its cross-references in a stream (a newer cairo), which procflow cannot "
            "put together into pages: print the chart on a paper that holds it on one sheet"
        )
    trailer_at = pdf.index(b"trailer", xref_at)
    offsets: dict[int, int] = {}
    lines = pdf[xref_at + 4 : trailer_at].split(b"\n")
    first = 0
    for line in lines:
        fields = line.split()
        if len(fields) == 2:
            first = int(fields[0])
        elif len(fields) == 3:
            entry = _ENTRY.match(line.strip())
            if entry and entry.group(3) == b"n":
                offsets[first] = int(entry.group(1))
            first += 1
    root = re.search(rb"/Root (\d+) \d+ R", pdf[trailer_at:])
    if root is None:
        raise RenderError("Graphviz's PDF names no catalog; the pages cannot be put together")
    bodies = {}
    for number, offset in offsets.items():
        head = re.compile(rb"%d \d+ obj\s*" % number).match(pdf, offset)
        if head is None:
            raise RenderError(f"Graphviz's PDF object {number} is not where its table says")
        end = pdf.find(b"endobj", head.end())
        stream = _STREAM.search(pdf, head.end(), end if end >= 0 else len(pdf))
        if stream is not None:  # compressed data may hold "endobj": skip it by the stream's /Length
            length = _length(pdf, pdf[head.end() : stream.start()], offsets)
            end = pdf.find(b"endobj", stream.end() + length)
        if end < 0:
            raise RenderError(f"Graphviz's PDF object {number} has no end")
        bodies[number] = pdf[head.end() : end].rstrip()
    info = re.search(rb"/Info (\d+) \d+ R", pdf[trailer_at:])
    return bodies, int(root.group(1)), int(info.group(1)) if info else 0


def _length(pdf: bytes, dictionary: bytes, offsets: dict[int, int]) -> int:
    """A stream's /Length: written in its dictionary, or in the object it refers to."""
    direct = re.search(rb"/Length (\d+)(?! \d+ R)", dictionary)
    if direct:
        return int(direct.group(1))
    indirect = re.search(rb"/Length (\d+) \d+ R", dictionary)
    if indirect and int(indirect.group(1)) in offsets:
        value = re.compile(rb"\d+ \d+ obj\s*(\d+)").match(pdf, offsets[int(indirect.group(1))])
        if value:
            return int(value.group(1))
    raise RenderError("Graphviz's PDF has a stream of unknown length; the pages cannot be put together")


def _page_tree_numbers(found: dict[int, bytes], root: int) -> list[int]:
    """The catalog's page tree (the one /Pages node cairo writes), which the new file replaces."""
    pages = re.search(rb"/Pages (\d+) \d+ R", found[root])
    return [int(pages.group(1))] if pages else []


def _page_numbers(found: dict[int, bytes], root: int) -> list[int]:
    numbers = []
    for tree in _page_tree_numbers(found, root):
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", found[tree])
        numbers += [int(m.group(1)) for m in _REFERENCE.finditer(kids.group(1))] if kids else []
    if not numbers:
        raise RenderError("Graphviz's PDF has no page")
    return numbers


def _renumber(body: bytes, mapping: dict[int, int]) -> bytes:
    """References in the object's dictionary renumbered; stream data is left byte for byte."""
    stream = _STREAM.search(body)
    head, rest = (body[: stream.start()], body[stream.start() :]) if stream else (body, b"")

    def new(match: re.Match[bytes]) -> bytes:
        number = int(match.group(1))
        return b"%d 0 R" % mapping[number] if number in mapping else b"null"

    return _REFERENCE.sub(new, head) + rest


def _write(objects: list[bytes], *, root: int, info: int) -> bytes:
    out = bytearray(b"%PDF-1.5\n%\xb5\xed\xae\xfb\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (len(objects) + 1, root, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)

"""A small PDF reader for tests: each page's size, the sizes its text is drawn at and the text itself.

Enough for the PDFs procflow writes (cairo's pages put together, Chromium's print): a classic
cross-reference table, Flate-compressed content streams, fonts with a ToUnicode map. Text size is
read as it is printed: the ``Tf`` size times the text matrix's and the current transformation's scale.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field

_TOKEN = re.compile(
    rb"\s*(?:(?P<str>\((?:\\.|[^\\)])*\))|(?P<hex><[0-9A-Fa-f\s]*>)|(?P<arr>\[)|(?P<end>\])|"
    rb"(?P<dict><<|>>)|(?P<name>/[^\s/\[\]()<>{}]*)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+))|(?P<op>[A-Za-z'\"*]+))"
)


@dataclass
class Page:
    width: float
    height: float
    font_sizes: list[float] = field(default_factory=list)
    text: str = ""


def read_objects(pdf: bytes) -> dict[int, bytes]:
    start = pdf.rfind(b"startxref")
    xref = int(pdf[start + 9 :].split()[0])
    assert pdf.startswith(b"xref", xref), "a classic cross-reference table"
    trailer = pdf.index(b"trailer", xref)
    offsets: dict[int, int] = {}
    number = 0
    for line in pdf[xref + 4 : trailer].splitlines():
        fields = line.split()
        if len(fields) == 2:
            number = int(fields[0])
        elif len(fields) == 3:
            if fields[2] == b"n":
                offsets[number] = int(fields[0])
            number += 1
    objects = {}
    for number, offset in offsets.items():
        head = re.compile(rb"%d \d+ obj\s*" % number).match(pdf, offset)
        assert head, number
        objects[number] = pdf[head.end() :]
    for number, body in objects.items():  # cut each at its end, streams by their length
        stream = re.search(rb"\bstream\r?\n", body)
        endobj = body.find(b"endobj")
        if stream and stream.start() < endobj:
            length = re.search(rb"/Length (\d+)( \d+ R)?", body[: stream.start()])
            assert length
            size = int(length.group(1))
            if length.group(2):
                size = int(objects[size].split()[0])
            objects[number] = body[: stream.end() + size]
        else:
            objects[number] = body[:endobj]
    return objects


def stream_data(body: bytes) -> bytes:
    stream = re.search(rb"\bstream\r?\n", body)
    assert stream
    data = body[stream.end() :]
    return zlib.decompress(data) if b"/FlateDecode" in body[: stream.start()] else data


def _ref(text: bytes, key: bytes) -> int | None:
    found = re.search(rb"/" + key + rb"\s+(\d+) \d+ R", text)
    return int(found.group(1)) if found else None


def _unicode_map(data: bytes) -> dict[bytes, str]:
    mapping: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for code, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[bytes.fromhex(code.decode())] = bytes.fromhex(text.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for low, high, text in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first, last, base = int(low, 16), int(high, 16), int(text, 16)
            for code in range(first, last + 1):
                mapping[code.to_bytes(len(low) // 2, "big")] = chr(base + code - first)
    return mapping


def _fonts(objects: dict[int, bytes], page: bytes) -> dict[str, dict[bytes, str]]:
    """Each font resource name of the page with its ToUnicode map."""
    resources = page
    number = _ref(page, b"Resources")
    if number is not None:
        resources = objects[number]
    fonts_at = re.search(rb"/Font\s*(<<.*?>>|\d+ \d+ R)", resources, re.S)
    if not fonts_at:
        return {}
    fonts = fonts_at.group(1)
    if fonts.endswith(b"R"):
        fonts = objects[int(fonts.split()[0])]
    found = {}
    for name, number in re.findall(rb"/([^\s/<>]+)\s+(\d+) \d+ R", fonts):
        to_unicode = _ref(objects[int(number)], b"ToUnicode")
        found[name.decode()] = _unicode_map(stream_data(objects[to_unicode])) if to_unicode else {}
    return found


def pages(pdf: bytes) -> list[Page]:
    objects = read_objects(pdf)
    found = []
    for body in objects.values():
        if not re.search(rb"/Type\s*/Page\b(?!s)", body[:400]):
            continue
        box = re.search(rb"/MediaBox\s*\[\s*([-\d.\s]+)\]", body)
        assert box, "every page has its MediaBox here"
        x0, y0, x1, y1 = (float(v) for v in box.group(1).split())
        page = Page(x1 - x0, y1 - y0)
        contents = re.search(rb"/Contents\s*(\[[^\]]*\]|\d+ \d+ R)", body)
        assert contents
        numbers = [int(n) for n in re.findall(rb"(\d+) \d+ R", contents.group(1))]
        data = b"\n".join(stream_data(objects[n]) for n in numbers)
        _run(data, _fonts(objects, body), page)
        found.append(page)
    return found


def _scale(matrix: list[float]) -> float:
    a, b, c, d = matrix[:4]
    return math.sqrt(abs(a * d - b * c))


def _multiply(m: list[float], n: list[float]) -> list[float]:
    a, b, c, d, e, f = m
    p, q, r, s, t, u = n
    return [a * p + b * r, a * q + b * s, c * p + d * r, c * q + d * s, e * p + f * r + t, e * q + f * s + u]


def _run(data: bytes, fonts: dict[str, dict[bytes, str]], page: Page) -> None:
    """Follow the content stream's graphics state far enough to know each shown text's printed size."""
    ctm = [1.0, 0, 0, 1, 0, 0]
    stack: list[list[float]] = []
    tm = [1.0, 0, 0, 1, 0, 0]
    size, font = 0.0, ""
    operands: list[bytes] = []
    strings: list[bytes] = []
    text: list[str] = []
    for match in _TOKEN.finditer(data):
        kind, value = match.lastgroup, match.group(match.lastgroup or 0)
        if kind in ("num", "name"):
            operands.append(value)
        elif kind == "hex":
            strings.append(bytes.fromhex(value[1:-1].decode().replace(" ", "").replace("\n", "")))
        elif kind == "str":
            strings.append(value[1:-1])
        elif kind == "op":
            numbers = [float(v) for v in operands if not v.startswith(b"/")]
            if value == b"q":
                stack.append(ctm)
            elif value == b"Q" and stack:
                ctm = stack.pop()
            elif value == b"cm" and len(numbers) >= 6:
                ctm = _multiply(numbers[-6:], ctm)
            elif value == b"BT":
                tm = [1.0, 0, 0, 1, 0, 0]
            elif value == b"Tm" and len(numbers) >= 6:
                tm = numbers[-6:]
            elif value == b"Tf" and operands:
                font, size = operands[0][1:].decode(), numbers[-1] if numbers else 0.0
            elif value in (b"Tj", b"TJ", b"'", b'"'):
                shown = b"".join(strings)
                if shown:
                    page.font_sizes.append(round(size * _scale(tm) * _scale(ctm), 3))
                    mapping = fonts.get(font, {})
                    width = 2 if mapping and all(len(k) == 2 for k in list(mapping)[:1]) else 1
                    text.append("".join(mapping.get(shown[i : i + width], "") for i in range(0, len(shown), width)))
            elif value == b"ET":
                text.append("\n")
            operands, strings = [], []
    page.text = "".join(text)

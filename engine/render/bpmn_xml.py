"""BPMN's XML vocabulary as procflow writes it: the namespaces, qualified names, and the small elements
every part of the document uses (bounds, documentation, formal expressions, procflow's timer data,
ISO 8601 durations).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from engine.model import DataLimit, Duration
from engine.render.bpmn_layout import Box
from engine.render.dot import clean

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PROCFLOW_NS = "https://procflow.dev/schemas/bpmn-1"
"""The namespace of what procflow adds under ``extensionElements`` (sign-offs, parts, clocks, timers,
moves, shared transitions)."""
EXPRESSION_LANGUAGE = "https://procflow.dev/schemas/expression-1"
"""The ``language`` of every condition and timer expression: procflow's expression language."""

PREFIXES = {"bpmn": BPMN_NS, "bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "xsi": XSI_NS, "procflow": PROCFLOW_NS}


def qname(prefix: str, name: str) -> str:
    return f"{{{PREFIXES[prefix]}}}{name}"


def add_bounds(parent: ET.Element, box: Box) -> None:
    ET.SubElement(
        parent,
        qname("dc", "Bounds"),
        {
            "x": format_number(box.x),
            "y": format_number(box.y),
            "width": format_number(box.width),
            "height": format_number(box.height),
        },
    )


def format_number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def formal_expression() -> dict[str, str]:
    return {qname("xsi", "type"): "bpmn:tFormalExpression"}


def documentation_element(text: str) -> ET.Element:
    element = ET.Element(qname("bpmn", "documentation"))
    element.text = text
    return element


def add_documentation(parent: ET.Element, text: str) -> None:
    """``bpmn:documentation`` comes first among an element's children (the XSD's order)."""
    parent.insert(0, documentation_element(clean(text)))


def procflow_timer(limit: Duration | DataLimit | None) -> ET.Element | None:
    """What a timer's ISO 8601 text cannot say: working time on the calendar, a time before a date."""
    if isinstance(limit, Duration) and limit.working:
        return ET.Element(qname("procflow", "timer"), {"working": "true", "written": clean(limit.text)})
    if isinstance(limit, DataLimit):
        attrs = {"expression": clean(limit.expression)}
        if limit.working:
            attrs["working"] = "true"
        if limit.unit is not None:
            attrs["unit"] = limit.unit
        if limit.before is not None:
            attrs["before"] = iso_duration(limit.before)
        return ET.Element(qname("procflow", "timer"), attrs)
    return None


_ISO_UNITS = {"minute": "PT{}M", "hour": "PT{}H", "day": "P{}D", "week": "P{}W"}


def iso_duration(duration: Duration) -> str:
    """A duration as ISO 8601 (``P3D``, ``PT4H``); one written with several parts is kept as written."""
    if duration.unit == "second":
        return duration.text if duration.text.upper().startswith("P") else f"PT{duration.amount}S"
    return _ISO_UNITS[duration.unit].format(duration.amount)

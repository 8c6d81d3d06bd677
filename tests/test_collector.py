"""Loading pauses the garbage collector, and an embedding program gets it back as it was."""

import gc

import pytest
from conftest import FIXTURE

from engine import load_process_text
from engine.compiler import CompiledProcess
from engine.errors import DefinitionError


def test_loading_and_compiling_leave_the_collector_on() -> None:
    assert gc.isenabled()
    CompiledProcess(load_process_text(FIXTURE.read_text(encoding="utf-8"), "fixture.yaml"))
    assert gc.isenabled()


def test_a_refused_definition_leaves_the_collector_on() -> None:
    with pytest.raises(DefinitionError):
        load_process_text("id: [unclosed", "broken.yaml")
    assert gc.isenabled()


def test_a_program_that_turned_the_collector_off_finds_it_off() -> None:
    gc.disable()
    try:
        CompiledProcess(load_process_text(FIXTURE.read_text(encoding="utf-8"), "fixture.yaml"))
        assert not gc.isenabled()
    finally:
        gc.enable()

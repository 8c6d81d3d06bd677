"""Script injection through every free-text field of the shipped forms: each shipped procedure's
scenario is played with hostile markup added to every text its forms take (where the form accepts
it), then the case page, the inbox and the book's search show that text escaped, never as markup."""

from pathlib import Path

import pytest
from web_support import add_people, pages_app, sign_in

from engine.errors import EventRefused
from engine.scenarios import load_scenario
from engine.service import Workflows

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert("
SCENARIOS = sorted((ROOT / "processes" / "scenarios").glob("*.yaml"))


def hostile(value):
    """Every text in a payload with the markup added; other values as they are."""
    if isinstance(value, str):
        return value + HOSTILE
    if isinstance(value, dict):
        return {key: hostile(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [hostile(inner) for inner in value]
    return value


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_markup_people_typed_is_shown_as_text_on_every_page(tmp_path, path):
    scenario = load_scenario(path)
    process_file = ROOT / "processes" / f"{path.stem}.yaml"
    workflows = Workflows(f"sqlite:///{tmp_path / 'cases.db'}")
    workflows.register(process_file)
    case = workflows.start(path.stem, scenario.starter, at=scenario.start_at).id
    taken = 0
    for event in scenario.events:
        if event.advance or event.refused is not None or event.trigger is None or event.actor is None:
            continue
        try:  # the hostile text where the form takes free text; the scenario's own where it must not
            workflows.fire(case, event.trigger, event.actor, hostile(dict(event.payload)), at=event.at)
            taken += 1
        except EventRefused:
            try:
                workflows.fire(case, event.trigger, event.actor, dict(event.payload), at=event.at)
            except EventRefused:
                break
    assert taken > 0, "no form of the procedure took free text"
    roles = sorted(workflows.runtime(path.stem, workflows.get(case).content_hash).process.roles)
    app = pages_app(workflows, add_people(tmp_path / "users.yaml", {"qian": ["auditor"], "every": roles}))
    auditor = sign_in(app, "qian")
    for page in (auditor.get(f"/app/cases/{case}"), sign_in(app, "every").get("/app/inbox")):
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    shown = auditor.get(f"/app/cases/{case}").text
    assert ESCAPED in shown  # the text is there, as text
    found = auditor.get(f"/app/book/cases?process={path.stem}")
    assert found.status_code == 200 and "<script>alert" not in found.text
    workflows.close()

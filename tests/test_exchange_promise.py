"""售后退换货's promises, driven along several paths: the jewellery free exchange (十二项服务流程 11) is
open for three days counted from the purchase date to the day the customer applies, whatever the
review then takes, to the microsecond on the calendar's day; the first answer is due 24 hours after
the application and the follow-up a week after the refund or the new product's dispatch."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PROCESSES

from engine import Actor, GuardFailed, Runtime, instance_from_json, instance_to_json, load_process

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
US = dt.timedelta(microseconds=1)
PURCHASED = "2026-11-21"
LAST_MOMENT = dt.datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=SHANGHAI)
"""The end of the third day after the purchase, on the calendar (Asia/Shanghai)."""

CUSTOMER = Actor("chen", ["customer"])
AGENT = Actor("li", ["cs_agent"])
INSPECTOR = Actor("he", ["returns_inspector"])
LOGISTICS = Actor("zhou", ["logistics_staff"])
CASHIER = Actor("qian", ["finance_clerk"])

APPROVAL = {"reason_reasonable": True, "facts_verified": True}
INTACT = {"complete": True, "undamaged": True, "accessories_complete": True}
PAPERS = {"unworn": True, "warranty_card": True, "certificate": True}
PARCEL = {"carrier": "顺丰", "tracking_no": "SF1402233445"}


def application(request_type: str = "exchange") -> dict:
    return {
        "customer_name": "陈小姐",
        "contact": "13600001111",
        "product": "18K金锁骨链 款号 N-2087",
        "order_no": "SO-20261121-0458",
        "proof_of_purchase": "电子发票 04458821",
        "purchase_date": PURCHASED,
        "amount_paid": 2680,
        "reason": "链长偏短",
        "request_type": request_type,
    }


class Case:
    """One exchange case, each event at a given time."""

    def __init__(self, opened: dt.datetime):
        self.runtime = Runtime(load_process(PROCESSES / "exchange.yaml"))
        self.instance = self.runtime.start(CUSTOMER, at=opened, instance_id="TH-1")

    def fire(self, trigger: str, actor: Actor, when: dt.datetime, payload: dict | None = None) -> None:
        self.runtime.fire(self.instance, trigger, actor, payload or {}, at=when)

    def apply(self, when: dt.datetime, request_type: str = "exchange") -> Case:
        self.fire("submit", CUSTOMER, when, application(request_type))
        return self

    def ask_and_answer(self, asked: dt.datetime, answered: dt.datetime) -> None:
        self.fire("request_info", AGENT, asked, {"question": "是否佩戴过?"})
        self.fire("provide_information", CUSTOMER, answered, {"information": "未佩戴"})

    def refused(self, trigger: str, actor: Actor, when: dt.datetime, payload: dict, match: str) -> None:
        before = instance_to_json(self.instance)
        with pytest.raises(GuardFailed, match=match):
            self.fire(trigger, actor, when, payload)
        assert instance_to_json(self.instance) == before, "a refused event changes nothing"

    def clock(self, name: str, when: dt.datetime):
        return next(r for r in self.runtime.clocks(self.instance, when) if r.clock == name)

    def points(self, name: str) -> list[tuple[str, dt.datetime]]:
        return [
            (m.event, e.at)
            for e in self.instance.history
            for m in e.clocks
            if m.clock == name and m.event in ("warning", "limit", "ceiling")
        ]

    def assert_breaches_exactly_at(self, name: str, moment: dt.datetime) -> None:
        before = self.points(name)
        self.runtime.advance(self.instance, moment - US)
        assert self.points(name) == before
        self.runtime.advance(self.instance, moment)
        assert self.points(name)[len(before) :] == [("limit", moment)]

    def assert_replays(self) -> None:
        self.runtime.verify(self.instance)
        again = self.runtime.replay(self.instance.history, instance_id=self.instance.id)
        assert again.state == self.instance.state and again.data == self.instance.data
        assert instance_from_json(instance_to_json(self.instance)) == self.instance


# --- three days from the purchase date ------------------------------------------------------------------


@pytest.mark.parametrize(
    "applied",
    [
        dt.datetime(2026, 11, 21, 18, 0, tzinfo=SHANGHAI),  # the day of purchase
        LAST_MOMENT,
        dt.datetime(2026, 11, 24, 15, 59, 59, 999999, tzinfo=dt.UTC),  # the same moment, written in UTC
    ],
    ids=["purchase day", "last moment", "last moment in UTC"],
)
def test_an_application_within_three_days_of_the_purchase_date_is_approved_however_late_the_approval(applied):
    case = Case(applied - dt.timedelta(hours=1)).apply(applied)
    case.fire("approve", AGENT, applied + dt.timedelta(days=10), APPROVAL)
    assert case.instance.state == "instruct_return"
    assert (
        case.instance.data["days_since_purchase"] == (applied.astimezone(SHANGHAI).date() - dt.date(2026, 11, 21)).days
    )


def test_a_round_of_questions_that_runs_past_the_third_day_does_not_cost_the_customer_her_exchange():
    applied = dt.datetime(2026, 11, 24, 20, 0, tzinfo=SHANGHAI)  # the third day
    case = Case(applied).apply(applied)
    case.ask_and_answer(applied + dt.timedelta(hours=1), dt.datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI))
    case.ask_and_answer(
        dt.datetime(2026, 11, 26, 11, 0, tzinfo=SHANGHAI), dt.datetime(2026, 11, 27, 9, 0, tzinfo=SHANGHAI)
    )
    case.fire("approve", AGENT, dt.datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI), APPROVAL)
    assert case.instance.data["days_since_purchase"] == 3
    # and the exchange goes through to the end: the piece comes back unworn with its papers
    case.fire(
        "send_instructions",
        AGENT,
        dt.datetime(2026, 11, 27, 11, 0, tzinfo=SHANGHAI),
        {
            "return_method": "customer_ships",
            "return_address": "深圳市罗湖区水贝 售后中心",
            "packing_instructions": "原包装寄回",
        },
    )
    case.fire("ship", CUSTOMER, dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI), PARCEL)
    case.fire("pass", INSPECTOR, dt.datetime(2026, 11, 30, 10, 0, tzinfo=SHANGHAI), {**INTACT, **PAPERS})
    case.fire("dispatch", LOGISTICS, dt.datetime(2026, 11, 30, 16, 0, tzinfo=SHANGHAI), PARCEL)
    case.fire(
        "record_feedback",
        AGENT,
        dt.datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI),
        {"outcome_confirmed": True, "satisfaction": 5},
    )
    assert case.instance.state == "exchanged"
    case.assert_replays()


@pytest.mark.parametrize(
    "applied",
    [
        LAST_MOMENT + US,  # 00:00 on the fourth day
        dt.datetime(2026, 11, 24, 16, 0, tzinfo=dt.UTC),  # the same moment, written in UTC
        dt.datetime(2026, 12, 5, 9, 0, tzinfo=SHANGHAI),
    ],
    ids=["first moment of day four", "the same in UTC", "two weeks on"],
)
def test_an_application_after_the_third_day_is_refused_however_soon_it_is_reviewed(applied):
    case = Case(applied).apply(applied)
    match = r"days_between\(data.purchase_date, data.applied_on\) <= 3"
    case.refused("approve", AGENT, applied + US, APPROVAL, match)
    case.ask_and_answer(applied + dt.timedelta(minutes=5), applied + dt.timedelta(minutes=30))
    case.refused("approve", AGENT, applied + dt.timedelta(hours=1), APPROVAL, match)
    case.fire("reject", AGENT, applied + dt.timedelta(hours=2), {"rejection_reason": "已超过三天换款期"})
    assert case.instance.state == "rejected"
    case.assert_replays()


def test_the_three_days_count_to_the_application_not_to_when_the_case_was_opened():
    opened = dt.datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI)  # the customer opened the form the day after buying
    case = Case(opened).apply(LAST_MOMENT + US)  # and sent it on the fourth day
    case.refused("approve", AGENT, LAST_MOMENT + dt.timedelta(hours=1), APPROVAL, "days_between")


def test_a_refund_is_not_held_to_the_three_day_exchange_term():
    applied = dt.datetime(2026, 12, 20, 9, 0, tzinfo=SHANGHAI)
    case = Case(applied).apply(applied, "refund")
    case.fire("approve", AGENT, applied + dt.timedelta(hours=2), APPROVAL)
    assert case.instance.state == "instruct_return" and case.instance.data["days_since_purchase"] == 29


def test_an_exchange_approved_in_time_still_needs_the_piece_unworn_with_its_papers():
    applied = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
    case = Case(applied).apply(applied)
    case.fire("approve", AGENT, applied + dt.timedelta(hours=1), APPROVAL)
    case.fire(
        "send_instructions",
        AGENT,
        applied + dt.timedelta(hours=2),
        {
            "return_method": "pickup",
            "return_address": "深圳市罗湖区水贝 售后中心",
            "packing_instructions": "原包装",
        },
    )
    (told,) = case.instance.history[-1].notifications  # 3. 批准退换货: the customer is told how to send it back
    assert told.roles == ("customer",) and "深圳市罗湖区水贝 售后中心" in told.zh
    case.fire("collect", LOGISTICS, applied + dt.timedelta(days=1), PARCEL)
    worn = {**INTACT, **PAPERS, "unworn": False}
    case.refused("pass", INSPECTOR, applied + dt.timedelta(days=2), worn, "payload.unworn")
    case.refused(
        "pass",
        INSPECTOR,
        applied + dt.timedelta(days=2),
        {**INTACT, **PAPERS, "certificate": False},
        "payload.certificate",
    )
    case.fire("fail", INSPECTOR, applied + dt.timedelta(days=2), {"findings": "有佩戴痕迹"})
    assert case.instance.state == "return_to_customer"


# --- 24 hours to a first answer, a week to the follow-up ---------------------------------------------------


def test_the_first_answer_is_due_24_hours_after_the_application_not_after_the_case_was_opened():
    opened = dt.datetime(2026, 11, 23, 8, 0, tzinfo=SHANGHAI)
    applied = dt.datetime(2026, 11, 23, 10, 5, tzinfo=SHANGHAI)
    case = Case(opened).apply(applied)
    assert case.clock("first_answer", applied).started_at == applied
    case.assert_breaches_exactly_at("first_answer", applied + dt.timedelta(hours=24))
    breach = next(e for e in case.instance.history if any(m.event == "limit" for m in e.clocks))
    assert breach.trigger == "overdue" and case.instance.state == "review"
    assert case.runtime.overdue(case.instance, applied + dt.timedelta(hours=25))
    case.assert_replays()


def test_a_question_is_a_first_answer_and_the_review_after_the_customers_reply_gets_no_fresh_24_hours():
    applied = dt.datetime(2026, 11, 23, 10, 5, tzinfo=SHANGHAI)
    case = Case(applied).apply(applied)
    case.ask_and_answer(applied + dt.timedelta(hours=23, minutes=59), applied + dt.timedelta(days=2))
    later = applied + dt.timedelta(days=6)
    case.runtime.advance(case.instance, later)
    report = case.clock("first_answer", later)
    assert report.status == "stopped" and report.elapsed == dt.timedelta(hours=23, minutes=59)
    assert case.points("first_answer") == [] and case.instance.state == "review"
    assert [e.trigger for e in case.instance.history].count("overdue") == 0


@pytest.mark.parametrize("request_type", ["exchange", "refund"])
def test_the_follow_up_is_due_a_week_after_the_new_product_is_dispatched_or_the_refund_paid(request_type):
    applied = dt.datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
    case = Case(applied).apply(applied, request_type)
    case.fire("approve", AGENT, applied + dt.timedelta(hours=1), APPROVAL)
    case.fire(
        "send_instructions",
        AGENT,
        applied + dt.timedelta(hours=2),
        {
            "return_method": "customer_ships",
            "return_address": "深圳市罗湖区水贝 售后中心",
            "packing_instructions": "原包装",
        },
    )
    case.fire("ship", CUSTOMER, applied + dt.timedelta(days=1), PARCEL)
    case.fire("pass", INSPECTOR, applied + dt.timedelta(days=3), {**INTACT, **PAPERS})
    done = applied + dt.timedelta(days=4, hours=5)
    if request_type == "exchange":
        case.fire("dispatch", LOGISTICS, done, PARCEL)
    else:
        case.fire("pay_refund", CASHIER, done, {"refund_amount": 2680, "payment_reference": "RF-01"})
    assert case.clock("follow_up", done).started_at == done
    case.assert_breaches_exactly_at("follow_up", done + dt.timedelta(weeks=1))
    assert case.instance.state == "follow_up" and case.instance.history[-1].trigger == "overdue"
    # the reminder does not restart the week: nothing more is due after it
    case.runtime.advance(case.instance, done + dt.timedelta(weeks=3))
    assert case.points("follow_up") == [("limit", done + dt.timedelta(weeks=1))]
    case.assert_replays()

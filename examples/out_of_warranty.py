import datetime as dt

from engine import Actor, EventRefused, Runtime, load_process

now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
runtime = Runtime(load_process("processes/return_repair.yaml"), clock=lambda: now)
customer, agent, manager = Actor("wang", ["customer"]), Actor("li", ["cs_agent"]), Actor("zhao", ["sales_manager"])
receiver, engineer, supervisor = Actor("chen", ["receiver"]), Actor("liu", ["engineer"]), Actor("zhou", ["supervisor"])
order = {"customer_name": "王", "contact": "138", "model": "XK-200", "fault_description": "no display"}

repair = runtime.start(customer)
for trigger, actor, payload in [
    ("submit", customer, {**order, "channel": "电话", "proof_of_purchase": "INV-1"}),
    ("reviewed", agent, {"in_warranty": False}),  # the decision sends it to the sales manager
    ("approve", manager, {}),
    ("issue_order", agent, {**order, "order_no": "R-1", "ship_to_address": "Shanghai", "packing_notes": "box"}),
    ("shipped", customer, {"tracking_no": "SF1"}),
    (
        "register",
        receiver,
        {
            "received_date": "2026-11-24",
            "exterior_condition": "ok",
            "model_received": "XK-200",
            "model_matches": True,
            "fault_matches": True,
        },
    ),
    ("diagnosed", engineer, {"findings": "swollen capacitor", "fault_cause": "power board"}),
    ("submit_plan", engineer, {"repair_content": "new board", "parts": [], "estimated_hours": 2, "cost_estimate": 300}),
    ("approve", supervisor, {}),
    ("send_quote", manager, {"quote": 480}),
    ("plan_sent", agent, {"channel": "电话"}),
    ("sign", customer, {"accepts_charge": True}),
]:
    runtime.fire(repair, trigger, actor, payload)
print(repair.state)  # repair

for wrong in [
    lambda: runtime.fire(repair, "repaired", agent, {}),  # a service agent cannot do the repair
    lambda: runtime.fire(repair, "repaired", engineer, {"repair_hours": "two"}),
]:  # a bad form
    try:
        wrong()
    except EventRefused as refusal:
        print(f"{refusal.code}: {refusal}")

print([e.trigger for e in runtime.advance(repair, now + dt.timedelta(days=4)).fired])  # ['escalate']
runtime.verify(repair)  # replays the history and checks it gives this very state and data
print(len(repair.history), "events, replayed")

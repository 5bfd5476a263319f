"""A border post in its own process, for the concurrency test (run as a script).

    desk_worker.py POST_NAME MODE TRAVELLERS ROUNDS

MODE "desk-day": the post admits travellers R000000.. on 2025-05-25 (ROUNDS is unused), while an
ingest of their older crossings runs: errors other than already_in_country fail the worker.
MODE "shared": every post records the same events (same event ids), as when a message is
delivered to several posts; each must end up stored once. MODE "race": every post tries to
admit every traveller on the same day under its own event id; only one may win per traveller.
"""

import datetime as dt
import json
import random
import os
import sys
import time

from visafree.register import Document, RegisterError, open_register

post, mode, travellers, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
register = open_register(migrate=False)
order = list(range(travellers))
random.Random(post).shuffle(order)
outcome = {"admitted": 0, "already_in_country": 0, "repeated": 0}
base = dt.date(2025, 1, 1)

if mode == "links":
    # Officers linking renewed passports of a small pool of people while desks record them:
    # every operation locks whole groups; a deadlock would surface as an exception here.
    rng = random.Random(post)
    pool = [Document("KAZ", f"L{n:04d}", "KAZ", "ordinary", dt.date(2032, 1, 1)) for n in range(travellers)]
    keys = [register.key_of(d) for d in pool]
    outcome = {"links": 0, "entries": 0, "exits": 0, "refused": 0}
    for step in range(rounds):
        a, b = rng.sample(range(travellers), 2)
        kind = rng.choice(("link", "entry", "exit"))
        try:
            if kind == "link":
                register.link_documents(keys[a], keys[b], reason=f"{post} step {step}", officer=post)
                outcome["links"] += 1
            elif kind == "entry":
                register.record_entry(pool[a], base + dt.timedelta(days=step), officer=post, border_post="HAN")
                outcome["entries"] += 1
            else:
                register.record_exit(pool[a], base + dt.timedelta(days=step), officer=post, border_post="HAN")
                outcome["exits"] += 1
        except RegisterError as exc:
            assert exc.code in ("already_in_country", "out_of_order", "invalid", "window_limit"), exc
            outcome["refused"] += 1
    print(json.dumps(outcome))
    sys.exit(0)

if mode == "desk-day":
    # With START_FILE set, the desk waits (imported and connected) until the test creates it,
    # so that its decisions start while an ingest is storing, not before or after it.
    start_file = os.environ.get("VISAFREE_TEST_START_FILE")
    while start_file and not os.path.exists(start_file):
        time.sleep(0.005)
    outcome = {"decided": 0, "already_in_country": 0}
    for t in order:
        document = Document("KAZ", f"R{t:06d}", "KAZ", "ordinary", dt.date(2032, 1, 1))
        try:
            register.record_entry(document, dt.date(2025, 5, 25), officer=post, border_post=post, event_id=f"{post}-d{t}")
            outcome["decided"] += 1
        except RegisterError as exc:
            assert exc.code == "already_in_country", exc
            outcome["already_in_country"] += 1
    print(json.dumps(outcome))
    sys.exit(0)

for t in order:
    document = Document("KAZ", f"C{t:06d}", "KAZ", "ordinary", dt.date(2032, 1, 1))
    if mode == "race":
        try:
            decision = register.record_entry(document, base, officer=post, border_post=post, event_id=f"{post}-t{t}")
            outcome["admitted"] += 1
        except RegisterError as exc:
            assert exc.code == "already_in_country", exc
            outcome["already_in_country"] += 1
        continue
    for r in range(rounds):
        entry = base + dt.timedelta(days=20 * r)
        # One message delivered to every post: the same event, so the same content (the post
        # where it happened); another content under the same id would be a conflict.
        decision = register.record_entry(document, entry, officer=post, border_post="HAN", event_id=f"t{t}-r{r}-in")
        outcome["repeated" if decision.repeated else "admitted"] += 1
        register.record_exit(document, entry + dt.timedelta(days=12), officer=post, border_post="HAN", event_id=f"t{t}-r{r}-out")

print(json.dumps(outcome))

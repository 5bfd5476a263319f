"""A border post in its own process, for the concurrency test (run as a script).

    desk_worker.py POST_NAME MODE TRAVELLERS ROUNDS

MODE "shared": every post records the same events (same event ids), as when a message is
delivered to several posts; each must end up stored once. MODE "race": every post tries to
admit every traveller on the same day under its own event id; only one may win per traveller.
"""

import datetime as dt
import json
import random
import sys

from visafree.register import Document, RegisterError, open_register

post, mode, travellers, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
register = open_register(migrate=False)
order = list(range(travellers))
random.Random(post).shuffle(order)
outcome = {"admitted": 0, "already_in_country": 0, "repeated": 0}
base = dt.date(2025, 1, 1)

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
        decision = register.record_entry(document, entry, officer=post, border_post=post, event_id=f"t{t}-r{r}-in")
        outcome["repeated" if decision.repeated else "admitted"] += 1
        register.record_exit(document, entry + dt.timedelta(days=12), officer=post, border_post=post, event_id=f"t{t}-r{r}-out")

print(json.dumps(outcome))

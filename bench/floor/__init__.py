"""The portal with three more addresses, for the bench alone: where home's CPU goes.

`bench/stages/floor.py` serves it under gunicorn, beside (never instead of) the portal the other
stages measure, and asks each address in turn:

- `/_floor/bare`: answered before Django, so what gunicorn itself costs a request;
- `/healthz`: through the outer middlewares, as the orchestrator's probe;
- `/_floor/signed-in/`: the customer's session, user and customer read, and nothing else;
- `/_floor/home-unrendered/`: that, and home's own reads, with no page rendered;
- `/`: home itself.

Each step's CPU is what the next one adds, so the figures show how high home : healthz can go
however cheap each part of home became.
"""

# Answered by bench.floor.wsgi before Django: gunicorn's own cost of a request.
BARE = "/_floor/bare"

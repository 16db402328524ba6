"""Two writers on the SQLite file (the demo's web and worker, or two threads of one): the second
waits for the first, and neither fails with "database is locked".

The portal's own settings, in a process of their own, on a file database: the suite's
in-memory database shares one connection between threads and cannot show this.
"""

from __future__ import annotations

import json

import pytest

from tests.processes import manage

pytestmark = pytest.mark.subprocess

# The first transaction reads, then (after the other's write, or a second's wait for it)
# writes: what outbox.services.emails_expand does while the worker's heartbeat writes.
READ_THEN_WRITE = """
import json, threading
from django.db import connection, transaction

with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE marks (who TEXT)")
read, wrote, errors = threading.Event(), threading.Event(), []

def reads_then_writes():
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM marks")
                read.set()
                wrote.wait(2)  # the other's write, unless it waits for this transaction
                cursor.execute("INSERT INTO marks VALUES ('first')")
    except Exception as exc:
        errors.append(str(exc))
    finally:
        connection.close()

def writes():
    read.wait()
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO marks VALUES ('second')")
    except Exception as exc:
        errors.append(str(exc))
    finally:
        wrote.set()
        connection.close()

threads = [threading.Thread(target=reads_then_writes), threading.Thread(target=writes)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
with connection.cursor() as cursor:
    cursor.execute("SELECT who FROM marks ORDER BY who")
    print(json.dumps({"errors": errors, "rows": [row[0] for row in cursor.fetchall()]}))
"""


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path):
    done = manage(
        "shell",
        "-c",
        READ_THEN_WRITE,
        DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome == {"errors": [], "rows": ["first", "second"]}

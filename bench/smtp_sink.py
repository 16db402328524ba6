"""A real SMTP server for tests and benchmarks: it keeps what it receives, one JSON line each.

    python -m bench.smtp_sink --port 2525 --out received.jsonl [--delay 2] [--hang] [--refuse]

--delay answers each message after that many seconds (a slow provider); --hang never answers
the message (a stalled one); --refuse answers 451 (try again later). Stop it to play a server
that is down: connections are then refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out: Path, delay: float, hang: bool, refuse: bool) -> None:
        self.out, self.delay, self.hang, self.refuse = out, delay, hang, refuse
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 Try again later"
        if self.hang:
            await asyncio.sleep(3600)
        if self.delay:
            await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.original_content or envelope.content)
        parts = [message] if not message.is_multipart() else list(message.walk())
        payloads = [
            part.get_payload(decode=True)
            for part in parts
            if part.get_content_type() == "text/plain"
        ]
        text = next((p.decode("utf-8", "replace") for p in payloads if isinstance(p, bytes)), "")
        line = {
            "at": time.time(),
            "from": envelope.mail_from,
            "to": list(envelope.rcpt_tos),
            "subject": str(message.get("Subject", "")),
            "text": text,
        }
        with self.lock, self.out.open("a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
        return "250 OK"


def sink_start(*, port: int, out: Path, flags: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """The sink in a process of its own, returned once it listens (its first line)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink", "--port", str(port), "--out", str(out), *flags],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "SMTP sink on …": listening
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--refuse", action="store_true")
    args = parser.parse_args()
    controller = Controller(
        Sink(args.out, args.delay, args.hang, args.refuse), hostname="127.0.0.1", port=args.port
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP sink on 127.0.0.1:{args.port}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()

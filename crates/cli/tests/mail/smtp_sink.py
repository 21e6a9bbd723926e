"""An SMTP receiver for crates/cli/tests/mail.rs: accepts every message on 127.0.0.1:PORT and
writes each to DIR as its own .eml file (written whole, then renamed, so a reader never sees half
a message) before answering 250. The file DIR/../delay, when present, holds seconds to wait
before accepting each message: the test slows delivery down to kill the sender mid-send. The file
DIR/../tempfail, when present, names an address whose first message is answered 451 (a
temporary failure the sender must retry). Each file starts with an X-Sink-Mail-From header
holding the envelope sender (the VERP return path of marketing mail)."""

import asyncio
import os
import sys
import time
import uuid

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.delay_file = os.path.join(os.path.dirname(os.path.abspath(folder)), "delay")
        self.tempfail_file = os.path.join(os.path.dirname(os.path.abspath(folder)), "tempfail")
        self.refused = set()

    async def handle_DATA(self, server, session, envelope):
        try:
            with open(self.delay_file) as f:
                await asyncio.sleep(float(f.read().strip() or 0))
        except FileNotFoundError:
            pass
        try:
            with open(self.tempfail_file) as f:
                addr = f.read().strip()
            if addr and addr in envelope.rcpt_tos and addr not in self.refused:
                self.refused.add(addr)
                return "451 4.3.0 Try again later"
        except FileNotFoundError:
            pass
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        tmp = os.path.join(self.folder, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(f"X-Sink-Mail-From: <{envelope.mail_from}>\r\n".encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.folder, name))
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    os.makedirs(folder, exist_ok=True)
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A loopback SMTP sink for bench/send.sh: accepts every message (EHLO/HELO, MAIL, RCPT, DATA,
RSET, NOOP, QUIT; 8BITMIME and SMTPUTF8 offered, no PIPELINING), keeps nothing but counts, and writes once a second to
COUNT_FILE "<messages> <first message's time> <last message's time>" (Unix seconds).
Usage: smtp_sink.py PORT COUNT_FILE   (binds 127.0.0.1 only)."""
import asyncio, sys, time

port, count_file = int(sys.argv[1]), sys.argv[2]
state = {"n": 0, "first": 0.0, "last": 0.0}

async def session(reader, writer):
    writer.write(b"220 sink ESMTP\r\n")
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line[:4].upper()
            if cmd in (b"EHLO",):
                writer.write(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 52428800\r\n")
            elif cmd == b"HELO":
                writer.write(b"250 sink\r\n")
            elif cmd == b"DATA":
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                while True:
                    l = await reader.readline()
                    if not l or l == b".\r\n":
                        break
                now = time.time()
                if state["n"] == 0:
                    state["first"] = now
                state["n"] += 1
                state["last"] = now
                writer.write(b"250 2.0.0 queued\r\n")
            elif cmd == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    writer.close()

async def report():
    while True:
        with open(count_file + ".tmp", "w") as f:
            f.write(f"{state['n']} {state['first']:.3f} {state['last']:.3f}\n")
        import os
        os.replace(count_file + ".tmp", count_file)
        await asyncio.sleep(1)

async def main():
    server = await asyncio.start_server(session, "127.0.0.1", port)
    asyncio.create_task(report())
    async with server:
        await server.serve_forever()

asyncio.run(main())

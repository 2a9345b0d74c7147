#!/usr/bin/env python3
"""Slow HTTP clients for scripts/bench-slow-clients.sh (loopback only, bounded in time).

Opens CLIENTS connections to a server on 127.0.0.1 over RAMP seconds and holds them for
HOLD seconds, then closes everything and prints one JSON summary on stdout:

  half "headers" clients (slowloris): send a request line and a Host header, then one more
  header line every TRICKLE seconds, never the blank line that ends the headers;
  half "body" clients: send complete headers announcing a 4,096-byte JSON body, then 11
  bytes of it, then nothing.

A connection counts as dropped by the server when the server closes it (EOF or reset, with
or without an answer such as 408 first); its age then is the time since it connected. With
--reconnect a dropped client connects again at once (a real attacker does), so the pressure
stays at CLIENTS connections; the ages at --checkpoints are about the first generation, the
connections opened during the ramp. Progress goes to stderr.

Bounds: the whole run ends after RAMP + HOLD seconds (hard limit: + 10 s); a client makes
at most 50 connections; every connect and write has a timeout; only 127.0.0.1/::1/localhost
are accepted as targets.
"""

import argparse
import asyncio
import json
import resource
import sys
import time

MAX_GENERATIONS = 50
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Stats:
    def __init__(self):
        self.connects = 0
        self.connect_failures = 0
        self.connect_errors = {}
        self.dropped = []  # (kind, generation, age_s, answer status or None, closed_at_s)
        self.open = {}  # id -> (kind, generation, opened_at)
        self.checkpoints = {}


def status_of(data):
    """The status code of the first response line in `data`, if any."""
    if data.startswith(b"HTTP/"):
        parts = data.split(b" ", 2)
        if len(parts) >= 2 and parts[1].isdigit():
            return int(parts[1])
    return None


async def one_connection(args, stats, kind, generation, ident, t0, stop):
    """Runs one connection until the server drops it or `stop` is set. True if dropped."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(args.host, args.port), timeout=5
        )
    except (OSError, asyncio.TimeoutError) as error:
        stats.connect_failures += 1
        name = type(error).__name__
        stats.connect_errors[name] = stats.connect_errors.get(name, 0) + 1
        await asyncio.sleep(0.5)
        return False
    stats.connects += 1
    opened = time.monotonic()
    stats.open[ident] = (kind, generation, opened - t0)
    host = f"Host: {args.host}\r\n"
    if kind == "headers":
        first = f"POST {args.path} HTTP/1.1\r\n{host}".encode()
    else:
        first = (
            f"POST {args.path} HTTP/1.1\r\n{host}Content-Type: application/json\r\n"
            f"Content-Length: 4096\r\n\r\n"
        ).encode() + b'{"context":'
    answer = None
    dropped = False

    async def trickle():
        n = 0
        while kind == "headers":
            await asyncio.sleep(args.trickle)
            n += 1
            writer.write(f"X-Slow-{n}: y\r\n".encode())
            await asyncio.wait_for(writer.drain(), timeout=5)
        await asyncio.Event().wait()  # a body client sends nothing more

    trickler = None
    reading = None
    stopping = asyncio.ensure_future(stop.wait())
    try:
        writer.write(first)
        await asyncio.wait_for(writer.drain(), timeout=5)
        trickler = asyncio.ensure_future(trickle())
        reading = asyncio.ensure_future(reader.read(4096))
        while True:
            done, _ = await asyncio.wait(
                {reading, trickler, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            if stopping in done:
                break
            if trickler in done:
                trickler.result()  # raises when the server reset the connection
            if reading in done:
                data = reading.result()
                if not data:
                    dropped = True
                    break
                answer = answer or status_of(data)
                reading = asyncio.ensure_future(reader.read(4096))
    except (OSError, asyncio.TimeoutError):
        dropped = True
    finally:
        for task in (trickler, reading, stopping):
            if task is not None and not task.done():
                task.cancel()
        writer.close()
        stats.open.pop(ident, None)
    if dropped and not stop.is_set():
        closed = time.monotonic()
        stats.dropped.append((kind, generation, closed - opened, answer, closed - t0))
    return dropped and not stop.is_set()


async def client(args, stats, index, t0, stop):
    kind = "headers" if index % 2 == 0 else "body"
    await asyncio.sleep(args.ramp * index / max(args.clients, 1))
    for generation in range(MAX_GENERATIONS):
        if stop.is_set():
            return
        await one_connection(args, stats, kind, generation, (index, generation), t0, stop)
        if not args.reconnect:
            return


async def checkpoints(args, stats, t0):
    for at in sorted(args.checkpoints):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        first = sum(1 for (_, generation, _) in stats.open.values() if generation == 0)
        stats.checkpoints[f"{at:g}"] = {"open": len(stats.open), "first_generation_open": first}
        print(
            f"slow-clients: t={at:g}s: {len(stats.open)} slow connections open "
            f"({first} of the first {args.clients} still held), "
            f"{len(stats.dropped)} dropped by the server so far",
            file=sys.stderr,
            flush=True,
        )


def quantile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main_async(args):
    stats = Stats()
    stop = asyncio.Event()
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(client(args, stats, i, t0, stop)) for i in range(args.clients)]
    checker = asyncio.ensure_future(checkpoints(args, stats, t0))
    await asyncio.sleep(args.ramp + args.hold)
    first_left = sum(1 for (_, generation, _) in stats.open.values() if generation == 0)
    open_at_end = len(stats.open)
    stop.set()
    checker.cancel()
    await asyncio.wait(tasks, timeout=10)
    first = [d for d in stats.dropped if d[1] == 0]
    ages = [d[2] for d in first]
    answers = {}
    for d in stats.dropped:
        key = str(d[3]) if d[3] is not None else "none"
        answers[key] = answers.get(key, 0) + 1
    by_kind = {}
    for kind in ("headers", "body"):
        kind_ages = [d[2] for d in first if d[0] == kind]
        by_kind[kind] = {
            "dropped": len(kind_ages),
            "age_max_s": quantile(kind_ages, 1.0),
            "age_p50_s": quantile(kind_ages, 0.5),
        }
    return {
        "clients": args.clients,
        "hold_s": args.hold,
        "connects": stats.connects,
        "connect_failures": stats.connect_failures,
        "connect_errors": stats.connect_errors,
        "dropped": len(stats.dropped),
        "first_generation_dropped": len(first),
        "first_generation_open_at_end": first_left,
        "open_at_end": open_at_end,
        "first_generation_age_p50_s": quantile(ages, 0.5),
        "first_generation_age_max_s": quantile(ages, 1.0),
        "by_kind": by_kind,
        "answers": answers,
        "checkpoints": stats.checkpoints,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/ofrep/v1/evaluate/flags/bench-0000")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open them all")
    parser.add_argument("--hold", type=float, default=75.0, help="seconds to hold after the ramp")
    parser.add_argument("--trickle", type=float, default=2.0, help="seconds between slowloris header lines")
    parser.add_argument("--checkpoints", type=float, nargs="*", default=[30.0, 70.0])
    parser.add_argument("--reconnect", action="store_true", help="reconnect dropped clients")
    args = parser.parse_args()
    if args.host not in LOOPBACK:
        parser.error("only loopback targets (127.0.0.1, ::1, localhost) are allowed")
    if not (1 <= args.clients <= 10000 and 0 < args.hold <= 600 and 0 <= args.ramp <= 60):
        parser.error("clients must be 1..10000, hold 0..600 s, ramp 0..60 s")
    if args.trickle <= 0:
        parser.error("trickle must be above 0")
    # One fd per connection, and some to spare.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.clients * 2 + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    try:
        summary = asyncio.run(asyncio.wait_for(main_async(args), args.ramp + args.hold + 20))
    except asyncio.TimeoutError:
        print("slow-clients: hard time limit reached", file=sys.stderr)
        sys.exit(1)
    json.dump(summary, sys.stdout)
    print()


if __name__ == "__main__":
    main()

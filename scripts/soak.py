#!/usr/bin/env python3
"""Load driver for scripts/soak.sh (issue #11): mixed traffic against a running server, with
every read checked against what was sent, and the server's RSS and open fds sampled.

Workers loop over: add a new file (64 KiB to 4 MiB of random bytes) and read it back through
/ipfs/ (sha256 compared); re-read an earlier file through /ipfs/ or ipfs/cat (whole or a
range); pin add / pin rm; a metadata query. `--mode add-read` keeps only the add-and-read-back
step (the workload that once grew without bound). wrk, when given, loads cached content in
parallel; its non-2xx answers and socket errors count as errors.

Prints one line per sample and a summary; exits 1 on any error or mismatch. The last sample is
taken 5 s after the load stops (the memory the server keeps, not what was in flight); the
summary also gives the last sample under load.
"""
import argparse
import hashlib
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse

MCP = "/api/v0/mcp"


class Conn:
    """One keep-alive HTTP/1.1 connection, reopened after any failure."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.c = None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                return r.status, r.read(), r
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                # a keep-alive connection the server closed while idle: retry once, fresh
                if attempt == 1:
                    raise


class Totals:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = {}
        self.errors = []
        self.mismatches = 0
        self.bytes_in = 0

    def op(self, name, n=0):
        with self.lock:
            self.ops[name] = self.ops.get(name, 0) + 1
            self.bytes_in += n

    def error(self, what):
        with self.lock:
            self.errors.append(what)

    def mismatch(self, what):
        with self.lock:
            self.mismatches += 1
            self.errors.append("MISMATCH " + what)


def multipart(name, data):
    boundary = "soak%016x" % random.getrandbits(64)
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


class Worker(threading.Thread):
    def __init__(self, idx, args, totals, files, files_lock, stop):
        super().__init__(daemon=True)
        self.rng = random.Random(args.seed * 1000 + idx)
        self.conn = Conn(args.host, args.port)
        self.args, self.t, self.files, self.files_lock, self.stop = (
            args, totals, files, files_lock, stop)
        # plain reads: content must go out as stored, so no Accept-Encoding games here
        self.h = {"Accept-Encoding": "identity"}

    def fail(self, what, status, body):
        self.t.error(f"{what}: {status} {body[:200]!r}")

    def add_and_read(self):
        size = self.rng.randint(64 * 1024, 4 * 1024 * 1024)
        data = self.rng.randbytes(size)
        body, h = multipart("soak.bin", data)
        st, resp, _ = self.conn.request("POST", MCP + "/ipfs/add?pin=false", body, h)
        if st != 200:
            return self.fail("add", st, resp)
        cid = json.loads(resp)["cid"]
        self.t.op("add", size)
        self.check(cid, data)
        with self.files_lock:
            self.files.append((cid, hashlib.sha256(data).hexdigest(), size))
            if len(self.files) > 2000:
                del self.files[: len(self.files) - 2000]

    def check(self, cid, data):
        st, got, _ = self.conn.request("GET", "/ipfs/" + cid, headers=self.h)
        if st != 200:
            return self.fail("read-back " + cid, st, got)
        self.t.op("read", len(got))
        if got != data:
            self.t.mismatch(f"read-back {cid}: {len(got)} bytes, want {len(data)}")

    def reread(self):
        with self.files_lock:
            if not self.files:
                return
            cid, digest, size = self.rng.choice(self.files)
        if self.rng.random() < 0.5:
            path = "/ipfs/" + cid
        else:
            path = MCP + "/ipfs/cat/" + cid
        headers = dict(self.h)
        ranged = self.rng.random() < 0.5
        if ranged:
            start = self.rng.randrange(size)
            end = min(size - 1, start + self.rng.randint(0, 300_000))
            headers["Range"] = f"bytes={start}-{end}"
        st, got, _ = self.conn.request("GET", path, headers=headers)
        if st not in (200, 206):
            return self.fail("re-read " + path, st, got)
        self.t.op("reread", len(got))
        if ranged:
            if st != 206 or len(got) != end - start + 1:
                self.t.mismatch(f"range {start}-{end} of {cid}: {st}, {len(got)} bytes")
        elif hashlib.sha256(got).hexdigest() != digest:
            self.t.mismatch(f"re-read {cid}")

    def pin(self):
        with self.files_lock:
            if not self.files:
                return
            cid = self.rng.choice(self.files)[0]
        for verb in ("add", "rm"):
            st, body, _ = self.conn.request("POST", f"{MCP}/ipfs/pin/{verb}?arg={cid}")
            # two workers may race on one CID: 'not pinned' (409/404) is an honest answer
            if st != 200 and not (verb == "rm" and st in (404, 409)):
                return self.fail("pin " + verb, st, body)
            self.t.op("pin")

    def metadata(self):
        q = urllib.parse.urlencode(
            [("filter", "size_bytes >= 100000"), ("sort", "heat_score"), ("limit", "50")])
        st, body, _ = self.conn.request("GET", f"{MCP}/cache/metadata?{q}")
        if st != 200:
            return self.fail("metadata", st, body)
        self.t.op("metadata")

    def run(self):
        steps = [(self.add_and_read, 3), (self.reread, 4), (self.pin, 1), (self.metadata, 1)]
        if self.args.mode == "add-read":
            steps = [(self.add_and_read, 1)]
        funcs = [f for f, _ in steps]
        weights = [w for _, w in steps]
        while not self.stop.is_set():
            f = self.rng.choices(funcs, weights)[0]
            try:
                f()
            except Exception as e:  # a dropped connection, a timeout: an error, not a crash
                self.t.error(f"{f.__name__}: {type(e).__name__}: {e}")


def proc_figures(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) // 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


def memory_tier(host, port):
    try:
        c = http.client.HTTPConnection(host, port, timeout=10)
        c.request("GET", MCP + "/cache/stats")
        stats = json.loads(c.getresponse().read())
        mem = next(t for t in stats["tiers"] if t["tier"] == "memory")
        return mem["bytes"] // (1 << 20), mem["limit_bytes"] // (1 << 20)
    except Exception:
        return -1, -1


def start_wrk(args):
    procs = []
    for url in args.wrk_url or []:
        procs.append(subprocess.Popen(
            ["wrk", "-t1", f"-c{args.wrk_connections}", f"-d{args.seconds}s", "--latency",
             "-H", "Accept-Encoding: identity", url],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs


def wrk_summary(out):
    errors = 0
    reqs = "?"
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Non-2xx or 3xx responses:"):
            errors += int(line.split(":")[1])
        if line.startswith("Socket errors:"):
            # connect N, read N, write N, timeout N (timeouts are slow answers, still errors)
            errors += sum(int(p.split()[1]) for p in line.split(":", 1)[1].split(","))
        if line.startswith("Requests/sec:"):
            reqs = line.split(":")[1].strip()
    return errors, reqs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--interval", type=int, default=30)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--mode", choices=["mixed", "add-read"], default="mixed")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--wrk-url", action="append")
    p.add_argument("--wrk-connections", type=int, default=8)
    p.add_argument("--fill", action="store_true",
                   help="first add and read back files until the memory tier is 95%% full")
    p.add_argument("--json", help="write the samples and summary here")
    args = p.parse_args()

    totals, files, lock, stop = Totals(), [], threading.Lock(), threading.Event()
    if args.fill:
        filler = Worker(999, args, totals, files, lock, stop)
        while True:
            used, limit = memory_tier(args.host, args.port)
            if used >= 0.95 * limit or totals.errors:
                break
            filler.add_and_read()
        print(f"filled: memory tier {used} of {limit} MiB, RSS {proc_figures(args.pid)[0]} MiB",
              flush=True)
        totals.ops.clear()
        totals.bytes_in = 0
    wrk = start_wrk(args)
    workers = [Worker(i, args, totals, files, lock, stop) for i in range(args.workers)]
    for w in workers:
        w.start()
    samples = []
    t0 = time.time()
    print(f"{'t_s':>6} {'rss_mib':>8} {'fds':>5} {'mem_tier_mib':>12} {'ops':>7} "
          f"{'MiB_in':>8} {'errors':>6} {'mismatch':>8}", flush=True)

    def sample():
        rss, fds = proc_figures(args.pid)
        tier, _ = memory_tier(args.host, args.port)
        with totals.lock:
            s = dict(t=round(time.time() - t0), rss_mib=rss, fds=fds, memory_tier_mib=tier,
                     ops=sum(totals.ops.values()), mib_in=totals.bytes_in >> 20,
                     errors=len(totals.errors), mismatches=totals.mismatches)
        samples.append(s)
        print(f"{s['t']:>6} {rss:>8} {fds:>5} {tier:>12} {s['ops']:>7} {s['mib_in']:>8} "
              f"{s['errors']:>6} {s['mismatches']:>8}", flush=True)

    sample()
    next_at = t0 + args.interval
    while time.time() < t0 + args.seconds:
        time.sleep(max(0, min(next_at, t0 + args.seconds) - time.time()))
        if time.time() >= next_at:
            sample()
            next_at += args.interval
    stop.set()
    for w in workers:
        w.join(timeout=90)
    wrk_errors = 0
    wrk_rates = []
    for proc in wrk:
        out, _ = proc.communicate(timeout=120)
        e, rate = wrk_summary(out)
        wrk_errors += e
        wrk_rates.append(rate)
    # the end figure is taken once the last requests' buffers are freed and the allocator has
    # returned them (jemalloc purges after 1 s): retained memory, not what was in flight
    time.sleep(5)
    sample()
    # during the load: the first sample at or after one minute
    at_minute_1 = next((s for s in samples[:-1] if s["t"] >= 60), samples[0])
    end = samples[-1]
    growth = (end["rss_mib"] - at_minute_1["rss_mib"]) / max(1, at_minute_1["rss_mib"])
    fds = [s["fds"] for s in samples]
    summary = dict(
        seconds=args.seconds, mode=args.mode, ops=totals.ops, errors=len(totals.errors) + wrk_errors,
        mismatches=totals.mismatches, wrk_requests_per_sec=wrk_rates,
        rss_mib_at_minute_1=at_minute_1["rss_mib"], rss_mib_end_settled=end["rss_mib"],
        rss_mib_last_under_load=samples[-2]["rss_mib"] if len(samples) > 1 else end["rss_mib"],
        rss_mib_max=max(s["rss_mib"] for s in samples), rss_growth_after_minute_1=round(growth, 4),
        fds_min=min(fds), fds_max=max(fds))
    print("summary: " + json.dumps(summary), flush=True)
    for e in totals.errors[:20]:
        print("  error: " + e)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(samples=samples, summary=summary), f, indent=1)
    sys.exit(1 if summary["errors"] or summary["mismatches"] else 0)


if __name__ == "__main__":
    main()

"""`goscope trace --json`: the live event stream against what the traced
program itself says it did ("FACT ..." lines).

Every case runs the four build variants (default, stripped, pie, pie-stripped)
of one Go version at the same time (one goscope per variant). Mostly goscope
attaches by PID (`trace -p PID`) to a program held before its work
(GOSCOPE_WAIT_STDIN=1), which is then released; goscope stops by itself when
the program exits, and its stdout carries only JSON lines. The --all-ops
programs (pipeline, select_mix) are launched by goscope (`trace -- PROG`) on
two of the variants: on one the program shares goscope's stdout, and every line
there must be a whole FACT line or a whole JSON object; on the other the events
go to a file of their own (-o FILE). Every traced program must print the same
facts as an untraced run of it (pids, addresses and goids aside) and exit 0;
goscope must exit 0 and report 0 lost events.

What is checked, exactly (no "at least one" where the program gives a count):

- spawn_tree: the 9 go-create events of the tree: goid and parent as the
  program printed them, created_at = the line of the `go` statement in
  spawn_tree/main.go, created_in = the function containing it; all 9 exit.
- pipeline (--all-ops): per named channel, chan-make (cap, elem_size 8) once,
  sends / receives with a value / receives that saw the channel closed / closes
  as the program counted them, each send at the line of its source statement.
- hello_probe (default set): every rendezvous on the unbuffered channel is one
  park ("chan receive" by the receiver or "chan send" by the sender, on that
  channel) followed by one ready of the parked goroutine by the other one.
- mutex_contention: the gate waiters park with the reason the runtime gave the
  program, on the gate mutex (sync.Mutex), and take it contended; --all-ops:
  every Lock/Unlock of mu is seen (locks=4M, M per worker); default set: lock
  events are contended ones on the program's two mutexes only.
- rwmutex_contention (--locks): every RLock/RUnlock (1 by each of 5 goroutines,
  M by each of 4) and every write Lock/Unlock; the blocked readers and writer
  park on the RWMutex with the runtime's reasons, sync-block roles read/write.
- waitgroup_cond: wg-wait x3 on the WaitGroup, cond-wait x3 on the Cond, one
  Signal then one Broadcast by main, who woke whom, the parks with the program's
  reasons on the right objects.
- select_mix (--all-ops): select executions and chosen cases per select
  statement (cases matched by channel address and direction; -1 = default).
- bug_abba: attaching to an already deadlocked program ends cleanly and the
  summary names the two blocked goroutines.
- once: 50 attach/detach cycles on a serving http_server under load; it keeps
  serving, every request succeeds, and it shuts down cleanly with the right count.

GOSCOPE_VMTEST_KEEP=DIR keeps goscope's output of every run in DIR.
"""
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter

import vmtest
from vmtest import REPO, CaseFailed, GoProgram, LineReader, check, parse_fact, testprog

VARIANTS = ("default", "stripped", "pie", "pie-stripped")
TESTPROGS_SRC = os.path.join(REPO, "tests", "testprogs")
HOLD = "0.1"  # seconds the programs wait before exiting


# ---------------------------------------------------------------- plumbing

_say_lock = threading.Lock()


def say(msg):
    with _say_lock:
        sys.stdout.write(msg + "\n")
        sys.stdout.flush()


class _Reader(LineReader):
    """A LineReader that echoes whole lines (several run at once) and not JSON lines
    (thousands per run)."""

    def _run(self, pipe):
        for raw in iter(pipe.readline, ""):
            line = raw.rstrip("\n")
            if not line.startswith("{"):
                say(f"{self._prefix}{line}")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)


class Trace(vmtest.Watched):
    """`goscope trace ...` running in the background."""

    def __init__(self, binary, args, tag, env=None):
        self.argv = [binary] + list(args)
        say(f"[{tag}] $ " + " ".join(self.argv))
        proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        self.proc, self.name = proc, f"goscope ({tag})"
        self.out = _Reader(proc.stdout, f"[{tag} goscope] ")
        self.err = _Reader(proc.stderr, f"[{tag} goscope stderr] ")

    def wait_attached(self, timeout=30):
        try:
            self.err.wait_for(lambda l: "tracing PID" in l, timeout, f"{self.name} to attach")
        except CaseFailed as e:
            rc = self.proc.poll()
            raise CaseFailed(f"{e} (goscope exit status {rc}; stderr: {self.err.lines[-5:]})")

    def events(self, where):
        return parse_events(where, self.out.lines)


def parse_events(where, lines):
    evs = []
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            evs.append(json.loads(line))
        except ValueError as e:
            raise CaseFailed(f"{where}: goscope printed a line that is not JSON ({e}): {line[:300]!r}")
    return evs


class Prog(GoProgram):
    def __init__(self, path, tag, env=None, hold=True):
        self.tag = tag
        super().__init__(path, env=env, hold=hold)

    def _watch(self, proc, name, prefix):
        self.proc, self.name = proc, name
        self.out = _Reader(proc.stdout, f"[{self.tag}] ")
        self.err = _Reader(proc.stderr, f"[{self.tag} stderr] ")


def check_no_loss(where, err_lines):
    """The summary on stderr says how many events were lost: it must be 0."""
    lost = [int(m.group(1)) for l in err_lines for m in re.finditer(r"(\d+) (?:events? )?lost", l)]
    check(lost, f"{where}: goscope's summary says nothing about lost events: {err_lines[-8:]}")
    check(all(n == 0 for n in lost), f"{where}: goscope lost events: {[l for l in err_lines if 'lost' in l]}")


class Run:
    """One traced run: the program's facts and goscope's events."""

    def __init__(self, where, facts, events, err):
        self.where, self.facts, self.events, self.err = where, facts, events, err

    def fact(self, kind, **match):
        return [f for f in self.facts
                if f.get("_") == kind and all(f.get(k) == v for k, v in match.items())]

    def one_fact(self, kind, **match):
        fs = self.fact(kind, **match)
        check(len(fs) == 1, f"{self.where}: expected one 'FACT {kind} {match}' line, got {fs}")
        return fs[0]

    def roles(self, role):
        return [int(f["goid"]) for f in self.facts if f.get("role") == role and "goid" in f]

    def of(self, kind, **match):
        return [e for e in self.events
                if e.get("kind") == kind and all(e.get(k) == v for k, v in match.items())]


def _brief(evs, n=6):
    """A few events for a failure message, without their stacks."""
    out = [{k: v for k, v in e.items() if k != "stack"} for e in evs[:n]]
    return json.dumps(out) + (f" ... ({len(evs)} in all)" if len(evs) > n else "")


_VOLATILE = re.compile(r"\b(pid|addr|mutex_addr|goid|parent|sender|receiver|holder|writer|blocked_writer|waiter"
                       r"|leaked|cycle|elapsed_ms|rps)=\S+")


def _normalize(lines):
    """The program's facts without what differs from run to run (pids, addresses, goids)."""
    return [_VOLATILE.sub(r"\1=*", l) for l in lines if l.startswith("FACT ") and not l.startswith("FACT ready ")]


def _compare_outputs(where, plain, traced):
    a, b = _normalize(plain), _normalize(traced)
    check(sorted(a) == sorted(b),
          f"{where}: the program's facts differ traced vs untraced:\n  untraced {a}\n  traced   {b}")
    # Lines printed by main alone (no goid) come in a fixed order.
    a, b = [l for l in a if "goid=" not in l], [l for l in b if "goid=" not in l]
    check(a == b, f"{where}: facts in a different order traced vs untraced:\n  untraced {a}\n  traced   {b}")


def _untraced(path, env, where):
    e = {k: v for k, v in os.environ.items() if not k.startswith("GOSCOPE_")}
    e.update(env)
    r = subprocess.run([path], capture_output=True, text=True, timeout=60, env=e, stdin=subprocess.DEVNULL)
    check(r.returncode == 0, f"{where}: the untraced program exited {r.returncode}: {r.stderr[-2000:]}")
    return r.stdout.splitlines()


def trace_run(goscope, go, variant, prog, trace_args=(), env=None, launch=False, timeout=90):
    """Runs PROG untraced, then traced by `goscope trace --json TRACE_ARGS`: attached
    (-p) to the program held before its work, or launching it (--). Checks both exit
    statuses, that nothing was lost and that the program printed the same facts as
    untraced; returns the facts and the events (in time order)."""
    where = f"go{go}/{variant}/{prog}" + (" (launched)" if launch else "")
    tag = f"{variant}/{prog}"
    path = testprog(go, variant, prog)
    # A goroutine still inside a runtime call when main returns is never seen
    # leaving it (the process is gone): GOSCOPE_HOLD lets every goroutine finish.
    env = dict({"GOSCOPE_HOLD": HOLD}, **(env or {}))
    plain = _untraced(path, env, where)
    gs = p = None
    tmp = tempfile.TemporaryDirectory(prefix="goscope-vmtest-")
    try:
        if launch:
            genv = dict(os.environ)
            genv.update(env)
            # Shared stdout (the program's facts and goscope's events in one stream), or
            # the events in a file of their own (-o) on the variants in EVENTS_TO_FILE.
            to_file = variant in EVENTS_TO_FILE
            opath = os.path.join(tmp.name, "events.jsonl")
            gs = Trace(goscope, ["trace", "--json", *trace_args, *(["-o", opath] if to_file else []), "--", path],
                       tag, env=genv)
            grc = gs.wait(timeout)
            out = [l for l in gs.out.lines if l.startswith("FACT ")]
            if to_file:
                check(os.path.exists(opath), f"{where}: goscope -o {opath} wrote no file")
                with open(opath) as f:
                    events_lines = f.read().splitlines()
                stray = [l for l in gs.out.lines if not l.startswith("FACT ")]
                check(not stray, f"{where}: with -o FILE, goscope's stdout should carry only the program's "
                                 f"output, not: {[l[:200] for l in stray[:5]]}")
                bad = [l for l in events_lines if not l.startswith("{")]
                check(not bad, f"{where}: -o FILE has lines that are not JSON objects: {[l[:200] for l in bad[:5]]}")
            else:
                events_lines = gs.out.lines
                odd = [l for l in gs.out.lines if not l.startswith("FACT ") and not l.startswith("{")]
                check(not odd, f"{where}: goscope's stdout (shared with the launched program) has lines that are "
                               f"neither a whole FACT line nor a whole JSON event: goscope's event lines are "
                               f"split by the program's writes (they are not written one whole line at a time): "
                               f"{[l[:200] for l in odd[:5]]}")
            _keep(where, events_lines + out)
            status = [m.group(1) for l in gs.err.lines for m in re.finditer(r"exited with status (\d+)", l)]
            check(status == ["0"], f"{where}: goscope does not report the program's exit status 0: "
                                   f"{gs.err.lines[-6:]}")
        else:
            p = Prog(path, tag, env=env)
            gs = Trace(goscope, ["trace", "-p", str(p.pid), "--json", *trace_args], tag)
            gs.wait_attached()
            p.release()
            prc = p.wait(timeout)
            grc = gs.wait(60)
            out = p.out.lines
            events_lines = gs.out.lines
            _keep(where, events_lines + out)
            check(prc == 0, f"{where}: the program exited {prc} under goscope: {p.err.lines[-10:]}")
    finally:
        if gs is not None:
            gs.kill()
        if p is not None:
            p.kill()
        tmp.cleanup()
    check(grc == 0, f"{where}: goscope exited {grc}: {gs.err.lines[-10:]}")
    facts = [f for f in (parse_fact(l) for l in out) if f is not None]
    check(any(f.get("_") == "done" for f in facts), f"{where}: the program did not print FACT done")
    _compare_outputs(where, plain, out)
    check_no_loss(where, gs.err.lines)
    events = parse_events(where, events_lines)
    check(events, f"{where}: goscope printed no event")
    for e in events:
        for k in ("t", "time_ns", "kind", "goid", "tid", "stack"):
            check(k in e, f"{where}: event without {k!r}: {_brief([e])}")
    events.sort(key=lambda e: e["time_ns"])
    return Run(where, facts, events, gs.err.lines)


def _keep(where, lines):
    """GOSCOPE_VMTEST_KEEP=DIR keeps goscope's and the program's output of each run there."""
    d = os.environ.get("GOSCOPE_VMTEST_KEEP")
    if d:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, where.replace("/", "_").replace(" ", "_") + ".out"), "a") as f:
            f.write("\n".join(lines) + "\n")


def run_jobs(go, jobs):
    """Runs the jobs {label: fn()} at the same time; fails listing every job that failed."""
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        futs = {ex.submit(fn): label for label, fn in jobs.items()}
        for fut in concurrent.futures.as_completed(futs):
            try:
                fut.result()
            except CaseFailed as e:
                failures.append(f"[{futs[fut]}] {e}")
            except Exception as e:  # a bug in the case is a failure too
                failures.append(f"[{futs[fut]}] {type(e).__name__}: {e}")
    if failures:
        raise CaseFailed(f"go{go}: {len(failures)} of {len(jobs)} runs failed:\n  " + "\n  ".join(sorted(failures)))


def on_all_variants(go, fn):
    """fn(variant) for every variant at once."""
    run_jobs(go, {v: (lambda v=v: fn(v)) for v in VARIANTS})


def source_line(prog, pattern):
    """Line number (1-based) of the one line of tests/testprogs/PROG/main.go matching PATTERN."""
    path = os.path.join(TESTPROGS_SRC, prog, "main.go")
    with open(path) as f:
        hits = [i + 1 for i, l in enumerate(f) if re.search(pattern, l)]
    if len(hits) != 1:
        raise CaseFailed(f"{path}: expected one line matching {pattern!r}, found lines {hits}")
    return hits[0]


def _at(where_str, prog, line):
    return isinstance(where_str, str) and where_str.endswith(f"/{prog}/main.go:{line}")


def in_prog(e, prog):
    """The event happened in PROG's own main.go (not, e.g., in the FACT printer, whose
    writes to stdout may wait on the file's lock: a semacquire park of its own)."""
    return re.search(rf"/{prog}/main\.go:\d+$", e.get("site") or "") is not None


def _obj_addrs(e):
    return [o.get("addr") for o in e.get("objects", [])]


# ---------------------------------------------------------------- 1. spawn_tree

def case_trace_spawn_tree(goscope, go):
    """Every goroutine of the tree is created once, by its parent, at its `go` statement."""
    line_child = source_line("spawn_tree", r"^\s*go node\(me, 1, i\)")
    line_grandchild = source_line("spawn_tree", r"^\s*go node\(me, depth\+1, i\)")

    def one(variant):
        r = trace_run(goscope, go, variant, "spawn_tree")
        spawns = r.fact("spawn")
        check(len(spawns) == 9, f"{r.where}: expected 9 FACT spawn lines, got {len(spawns)}")
        want = {int(f["goid"]): (int(f["parent"]), int(f["depth"])) for f in spawns}
        creates = [e for e in r.of("go-create")
                   if isinstance(e.get("created_at"), str) and "/spawn_tree/main.go:" in e["created_at"]]
        got = Counter(e["goid"] for e in creates)
        check(len(creates) == 9 and set(got) == set(want),
              f"{r.where}: go-create events from spawn_tree/main.go for goroutines {sorted(got.elements())}, "
              f"the program spawned {sorted(want)}")
        for e in creates:
            parent, depth = want[e["goid"]]
            check(e.get("parent") == parent,
                  f"{r.where}: goroutine {e['goid']}: parent {e.get('parent')}, the program says {parent}: "
                  f"{_brief([e])}")
            line, fn = (line_child, "main.main") if depth == 1 else (line_grandchild, "main.node")
            check(_at(e.get("created_at"), "spawn_tree", line),
                  f"{r.where}: goroutine {e['goid']} (depth {depth}): created_at {e.get('created_at')!r}, "
                  f"expected spawn_tree/main.go:{line}")
            check(e.get("created_in") == fn,
                  f"{r.where}: goroutine {e['goid']}: created_in {e.get('created_in')!r}, expected {fn!r}")
            check(isinstance(e.get("start_func"), str) and e["start_func"].startswith("main."),
                  f"{r.where}: goroutine {e['goid']}: start_func {e.get('start_func')!r}, expected main.*")
        exits = Counter(e["goid"] for e in r.of("go-exit") if e["goid"] in want)
        check(set(exits) == set(want) and all(n == 1 for n in exits.values()),
              f"{r.where}: go-exit events of the tree's goroutines: {dict(exits)}, expected each of "
              f"{sorted(want)} once")
        say(f"ok: {r.where}: 9 go-create (parents, created_at :{line_child}/:{line_grandchild}), 9 go-exit")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 2. pipeline --all-ops

def _named_chans(r):
    chans = {}
    for f in r.facts:
        if f.get("_") == "chan" and "addr" in f and "cap" in f:
            chans.setdefault(f["name"], (f["addr"], int(f["cap"])))
    return chans


def check_pipeline(r):
    chans = _named_chans(r)
    check(set(chans) == {"nums", "squares", "result"}, f"{r.where}: FACT chan lines: {chans}")
    counts = {f["name"]: f for f in r.facts if f.get("_") == "chan" and "sends" in f}
    check(set(counts) == set(chans), f"{r.where}: FACT chan count lines: {counts}")
    addr_name = {a: n for n, (a, _) in chans.items()}
    for name, (addr, cap) in chans.items():
        makes = r.of("chan-make", chan=addr)
        check(len(makes) == 1, f"{r.where}: {len(makes)} chan-make events for {name}={addr}: {_brief(makes)}")
        check(makes[0].get("cap") == cap and makes[0].get("elem_size") == 8,
              f"{r.where}: chan-make of {name}: cap {makes[0].get('cap')} elem_size {makes[0].get('elem_size')}, "
              f"expected cap {cap} elem_size 8")
        check(makes[0].get("goid") == r.roles("main")[0],
              f"{r.where}: chan-make of {name} by goroutine {makes[0].get('goid')}, not main")
        sends = r.of("chan-send", chan=addr)
        recvs = r.of("chan-recv", chan=addr)
        not_ok = [e for e in sends + recvs if e.get("ok") is not True]
        check(not not_ok, f"{r.where}: {name}: blocking channel operations that did not complete: {_brief(not_ok)}")
        got = {
            "sends": len(sends),
            "recvs": sum(1 for e in recvs if e.get("received") is True),
            "recv_closed": sum(1 for e in recvs if e.get("received") is False),
            "closes": len(r.of("chan-close", chan=addr)),
        }
        want = {k: int(counts[name][k]) for k in got}
        check(got == want, f"{r.where}: channel {name} ({addr}): goscope saw {got}, the program counted {want}")
    # Where: every send at its own statement of pipeline/main.go, in the right goroutine.
    lines = {"nums": source_line("pipeline", r"^\s*nums <- i$"),
             "squares": source_line("pipeline", r"^\s*squares <- v \* v$"),
             "result": source_line("pipeline", r"^\s*result <- sum$")}
    senders = {"nums": set(r.roles("gen")), "squares": set(r.roles("square")), "result": set(r.roles("sink"))}
    for name, line in lines.items():
        for e in r.of("chan-send", chan=chans[name][0]):
            check(_at(e.get("site"), "pipeline", line),
                  f"{r.where}: send on {name} at site {e.get('site')!r}, expected pipeline/main.go:{line}: "
                  f"{_brief([e])}")
            check(e["goid"] in senders[name],
                  f"{r.where}: send on {name} by goroutine {e['goid']}, the program's senders are {senders[name]}")
            check(e.get("stack") and e["stack"][0].get("func", "").startswith("runtime.chansend"),
                  f"{r.where}: send on {name}: innermost frame {e['stack'][:1]}, expected runtime.chansend*")
    other = [e for e in r.of("chan-send") + r.of("chan-recv") + r.of("chan-close")
             if e["chan"] not in addr_name and e["goid"] in set(r.roles("gen") + r.roles("square") + r.roles("sink"))]
    check(not other, f"{r.where}: the pipeline goroutines used channels the program does not have: {_brief(other)}")
    return {n: counts[n]["sends"] for n in chans}


# The --all-ops programs run launched on two variants and attached on the other two:
# both ways of starting, every variant, and one traced run each (detaching takes a while).
LAUNCHED = ("default", "pie-stripped")
EVENTS_TO_FILE = ("pie-stripped",)  # launched with -o FILE: the events apart from the program's output


def case_trace_pipeline(goscope, go):
    """--all-ops: channel operation counts per channel exactly as the program counted them."""
    def one(variant):
        r = trace_run(goscope, go, variant, "pipeline", ["--all-ops"], env={"GOSCOPE_N": "100"},
                      launch=variant in LAUNCHED)
        sends = check_pipeline(r)
        say(f"ok: {r.where}: facts as untraced; chan-make/send/recv/recv_closed/close counts equal the "
            f"facts ({sends} sends); sends at their source lines")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 3. hello_probe: who woke whom

def case_trace_hello_wakeups(goscope, go):
    """Default probe set: each of the K rendezvous on the unbuffered channel is one park
    of one side on that channel and one ready of it by the other side."""
    k = 30

    def one(variant):
        r = trace_run(goscope, go, variant, "hello_probe", env={"GOSCOPE_K": str(k)})
        ch = _named_chans(r)["ch"][0]
        s, rc = r.roles("sender"), r.roles("receiver")
        check(len(s) == 1 and len(rc) == 1, f"{r.where}: sender/receiver facts: {s} {rc}")
        s, rc = s[0], rc[0]
        reasons = {rc: "chan receive", s: "chan send"}
        parks = [e for e in r.of("park") if e["goid"] in (s, rc) and in_prog(e, "hello_probe")]
        bad = [e for e in parks if e.get("object") != ch or e.get("reason") != reasons[e["goid"]]
               or e.get("object_kind") != "chan" or _obj_addrs(e) != [ch]]
        check(not bad, f"{r.where}: parks of the sender ({s}) / receiver ({rc}) not as "
                       f"'chan send'/'chan receive' on ch={ch}: {_brief(bad)}")
        check(len(parks) == k, f"{r.where}: {len(parks)} parks of sender/receiver, expected one per rendezvous "
                               f"({k}): {_brief(parks)}")
        readies = [e for e in r.of("ready") if e.get("wakee") in (s, rc) and in_prog(e, "hello_probe")]
        foreign = [e for e in readies if e["goid"] not in (s, rc) or e["goid"] == e["wakee"]]
        check(not foreign, f"{r.where}: sender/receiver made runnable by someone else: {_brief(foreign)}")
        # In time order every park is followed by exactly the ready of that goroutine by the other one.
        seq = sorted(parks + readies, key=lambda e: e["time_ns"])
        waiting = set()
        for e in seq:
            if e["kind"] == "park":
                check(e["goid"] not in waiting, f"{r.where}: goroutine {e['goid']} parked twice without a ready")
                waiting.add(e["goid"])
            else:
                check(e["wakee"] in waiting, f"{r.where}: ready of {e['wakee']} by {e['goid']} while it was not "
                                             f"parked: {_brief([e])}")
                waiting.discard(e["wakee"])
        check(not waiting, f"{r.where}: goroutines {waiting} parked and never readied")
        s2r = sum(1 for e in readies if e["goid"] == s)
        r2s = sum(1 for e in readies if e["goid"] == rc)
        check(s2r == sum(1 for e in parks if e["goid"] == rc) and s2r + r2s == k,
              f"{r.where}: {s2r} readies sender->receiver, {r2s} receiver->sender; expected {k} in all")
        # main waits in wg.Wait; if it had to park there, the last Done (sender or receiver) woke it.
        main = r.roles("main")[0]
        main_parks = [e for e in r.of("park", goid=main) if e.get("object_kind") == "sync.WaitGroup"]
        if main_parks:
            woke = [e for e in r.of("ready") if e["wakee"] == main and e["time_ns"] > main_parks[-1]["time_ns"]]
            check(woke and woke[0]["goid"] in (s, rc),
                  f"{r.where}: main ({main}) parked in wg.Wait and was made runnable by {_brief(woke)}, "
                  f"not by the sender or receiver")
        say(f"ok: {r.where}: {k} rendezvous: {s2r} x sender g{s} woke receiver g{rc}, {r2s} x the reverse")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 4. mutex_contention

def _check_gate(r, default_set):
    gate = r.fact("mutex", name="gate")[0]["addr"]
    mu = r.fact("mutex", name="mu")[0]["addr"]
    main = r.roles("main")[0]
    waiters, workers = r.roles("gate_waiter"), r.roles("worker")
    check(len(waiters) == 3 and len(workers) == 4, f"{r.where}: roles {waiters} {workers}")
    blocked = {int(f["goid"]): f["reason"] for f in r.fact("blocked")}
    check(set(blocked) == set(waiters), f"{r.where}: FACT blocked {blocked} vs gate waiters {waiters}")
    for g in waiters:
        parks = [e for e in r.of("park", goid=g) if in_prog(e, "mutex_contention")]
        check(parks, f"{r.where}: gate waiter {g} never parked in mutex_contention/main.go "
                     f"(its parks: {_brief(r.of('park', goid=g))})")
        bad = [e for e in parks if e.get("reason") != blocked[g] or e.get("object") != gate
               or e.get("object_kind") != "sync.Mutex" or _obj_addrs(e) != [gate]]
        check(not bad, f"{r.where}: gate waiter {g}: parks not as [{blocked[g]}] on sync.Mutex {gate}: {_brief(bad)}")
        locks = r.of("mutex-lock", goid=g, object=gate)
        check(len(locks) == 1 and locks[0].get("contended") is True and locks[0].get("wait_ns", 0) > 0,
              f"{r.where}: gate waiter {g}: expected one contended mutex-lock on {gate} with a wait_ns: "
              f"{_brief(locks)}")
        blocks = [e for e in r.of("sync-block", goid=g) if in_prog(e, "mutex_contention")]
        check(blocks and all(e.get("object") == gate and e.get("object_kind") == "sync.Mutex" for e in blocks),
              f"{r.where}: gate waiter {g}: sync-block events not on sync.Mutex {gate}: {_brief(blocks)}")
    unl = r.of("mutex-unlock", goid=main, object=gate)
    check(len(unl) == 1 and unl[0].get("contended") is True,
          f"{r.where}: main's gate.Unlock() with 3 waiters: expected one contended mutex-unlock: {_brief(unl)}")
    if default_set:
        ours = set(waiters + workers + [main])
        lk = [e for e in r.of("mutex-lock") + r.of("mutex-unlock") if e["goid"] in ours]
        bad = [e for e in lk if e.get("object") not in (gate, mu) or e.get("object_kind") != "sync.Mutex"
               or e.get("contended") is not True]
        check(not bad, f"{r.where}: default set: mutex events that are not contended ones on gate/mu: {_brief(bad)}")
    return gate, blocked[waiters[0]]


def case_trace_mutex(goscope, go):
    """The gate waiters park on the gate mutex with the runtime's reason; --all-ops
    (every variant): every Lock and Unlock of mu is seen; default probe set (default
    variant): only contended lock events, on the program's two mutexes."""
    def all_ops(variant):
        r = trace_run(goscope, go, variant, "mutex_contention", ["--all-ops"], env={"GOSCOPE_N": "300"})
        gate, reason = _check_gate(r, default_set=False)
        final = [f for f in r.fact("mutex", name="mu") if "locks" in f]
        check(len(final) == 1, f"{r.where}: FACT mutex name=mu locks=... missing")
        mu, locks, per = final[0]["addr"], int(final[0]["locks"]), int(final[0]["per_goroutine"])
        workers = set(r.roles("worker"))
        for kind in ("mutex-lock", "mutex-unlock"):
            evs = r.of(kind, object=mu)
            by = Counter(e["goid"] for e in evs)
            check(len(evs) == locks and set(by) == workers and all(n == per for n in by.values()),
                  f"{r.where}: --all-ops: {len(evs)} {kind} events on mu={mu} ({dict(by)}), the program did "
                  f"{locks} ({per} by each of {sorted(workers)})")
            bad = [e for e in evs if e.get("object_kind") != "sync.Mutex"]
            check(not bad, f"{r.where}: {kind} on mu not of kind sync.Mutex: {_brief(bad)}")
            g = r.of(kind, object=gate)
            check(len(g) == 4, f"{r.where}: --all-ops: {len(g)} {kind} events on gate={gate}, expected 4 "
                               f"(main + 3 waiters): {_brief(g)}")
        cont = sum(1 for e in r.of("mutex-lock", object=mu) if e.get("contended"))
        say(f"ok: {r.where}: --all-ops: gate waiters parked [{reason}] on {gate}; {locks} Lock and {locks} "
            f"Unlock of mu ({cont} contended)")

    def default_set():
        r = trace_run(goscope, go, "default", "mutex_contention", env={"GOSCOPE_N": "300"})
        gate, reason = _check_gate(r, default_set=True)
        say(f"ok: {r.where}: default set: gate waiters parked [{reason}] on {gate}; "
            f"{len(r.of('mutex-lock'))} contended mutex-lock events, all on gate/mu")

    jobs = {v: (lambda v=v: all_ops(v)) for v in VARIANTS}
    jobs["default (default set)"] = default_set
    run_jobs(go, jobs)


# ---------------------------------------------------------------- 4b. rwmutex_contention --locks

def case_trace_rwmutex_locks(goscope, go):
    """--locks (without --all-ops): every RLock/RUnlock and every write Lock/Unlock of
    the RWMutex, through the inlined fast paths too; blocked readers and the blocked
    writer park on it with the runtime's reasons and block in the right role."""
    m = 100

    def one(variant):
        r = trace_run(goscope, go, variant, "rwmutex_contention", ["--locks"], env={"GOSCOPE_N": str(m)})
        rw = r.fact("rwmutex", name="rw")[0]["addr"]
        load = [f for f in r.fact("rwmutex", name="rw") if f.get("phase") == "load"]
        check(len(load) == 1 and int(load[0]["rlocks"]) == 4 * m, f"{r.where}: FACT rwmutex phase=load: {load}")
        wlocks = int(load[0]["locks"])
        blocked = {int(f["goid"]): f["reason"] for f in r.fact("blocked")}
        readers = [int(f["goid"]) for f in r.facts if f.get("role") == "reader" and f.get("phase") == "readers_wait"]
        writers = [int(f["goid"]) for f in r.facts if f.get("role") == "writer"]
        check(len(readers) == 3 and len(writers) == 1 and set(blocked) == set(readers + writers),
              f"{r.where}: facts: readers {readers}, writer {writers}, blocked {blocked}")
        for g in readers + writers:
            role = "read" if g in readers else "write"
            parks = [e for e in r.of("park", goid=g) if in_prog(e, "rwmutex_contention")]
            check(parks and all(e.get("reason") == blocked[g] and e.get("object") == rw
                                and e.get("object_kind") == "sync.RWMutex" for e in parks),
                  f"{r.where}: {role}r {g}: parks not as [{blocked[g]}] on sync.RWMutex {rw}: "
                  f"{_brief(parks or r.of('park', goid=g))}")
            blocks = [e for e in r.of("sync-block", goid=g) if in_prog(e, "rwmutex_contention")]
            check(blocks and all(e.get("object") == rw and e.get("object_kind") == "sync.RWMutex"
                                 and e.get("role") == role for e in blocks),
                  f"{r.where}: {role}r {g}: sync-block events not on sync.RWMutex {rw} in role {role!r}: "
                  f"{_brief(blocks or r.of('sync-block', goid=g))}")
        # Read locks: 3 + 2 single ones in the first phases, M by each of the 4 load readers.
        for kind in ("rlock", "runlock"):
            evs = r.of(kind, object=rw)
            per = sorted(Counter(e["goid"] for e in evs).values())
            check(per == [1] * 5 + [m] * 4,
                  f"{r.where}: --locks: {len(evs)} {kind} events on {rw}, per goroutine {per}; the program took "
                  f"{4 * m + 5} read locks (1 by each of 5 goroutines, {m} by each of 4)")
            bad = [e for e in evs if e.get("object_kind") != "sync.RWMutex"]
            check(not bad, f"{r.where}: {kind} events not of kind sync.RWMutex: {_brief(bad)}")
        # Write locks: main's and the blocked writer's, then M/10 by each of 2 load writers.
        for kind in ("mutex-lock", "mutex-unlock"):
            n = len(r.of(kind, object=rw))
            check(n == wlocks + 2, f"{r.where}: --locks: {n} {kind} events on {rw}, the program took the write "
                                   f"lock {wlocks + 2} times")
        say(f"ok: {r.where}: --locks: {4 * m + 5} RLock/RUnlock, {wlocks + 2} Lock/Unlock of {rw}; readers "
            f"parked [{blocked[readers[0]]}] (read), writer [{blocked[writers[0]]}] (write)")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 5. waitgroup_cond

def case_trace_waitgroup_cond(goscope, go):
    def one(variant):
        r = trace_run(goscope, go, variant, "waitgroup_cond")
        wg = r.one_fact("waitgroup", name="wg", add_total="5")
        wg_addr, wait_calls = wg["addr"], int(wg["wait_calls"])
        cf = [f for f in r.fact("cond", name="c") if "signals" in f]
        check(len(cf) == 1, f"{r.where}: FACT cond name=c ... signals= missing")
        c = cf[0]["addr"]
        main = r.roles("main")[0]
        wg_waiters, cond_waiters = r.roles("wg_waiter"), r.roles("cond_waiter")
        blocked = {int(f["goid"]): f for f in r.fact("blocked")}

        waits = r.of("wg-wait", object=wg_addr)
        check(len(waits) == wait_calls and Counter(e["goid"] for e in waits) == Counter(wg_waiters + [main]),
              f"{r.where}: wg-wait on {wg_addr}: by {[e['goid'] for e in waits]}, the program called Wait "
              f"{wait_calls} times, by {wg_waiters} and main {main}")
        check(all(e.get("object_kind") == "sync.WaitGroup" for e in waits),
              f"{r.where}: wg-wait object_kind: {_brief(waits)}")
        cw = r.of("cond-wait", object=c)
        check(sorted(e["goid"] for e in cw) == sorted(cond_waiters) and
              all(e.get("object_kind") == "sync.Cond" for e in cw),
              f"{r.where}: cond-wait on {c}: {_brief(cw)}; the waiters are {cond_waiters}")
        sig = r.of("cond-signal", object=c)
        check([e.get("broadcast") for e in sig] == [False, True] and all(e["goid"] == main for e in sig),
              f"{r.where}: cond-signal on {c}: expected Signal then Broadcast by main {main}: {_brief(sig)}")

        for g, f in blocked.items():
            on = {"wg": (wg_addr, "sync.WaitGroup"), "c": (c, "sync.Cond")}[f["on"]]
            parks = [e for e in r.of("park", goid=g) if e.get("reason") == f["reason"] and in_prog(e, "waitgroup_cond")]
            check(parks, f"{r.where}: goroutine {g}: no park with reason {f['reason']!r} "
                         f"(its parks: {_brief(r.of('park', goid=g))})")
            bad = [e for e in parks if (e.get("object"), e.get("object_kind")) != on]
            check(not bad, f"{r.where}: goroutine {g} parked [{f['reason']}] not on {on}: {_brief(bad)}")

        # Who woke whom: Signal woke exactly the goroutine that says "by=signal", Broadcast the other two.
        by_signal = [int(f["goid"]) for f in r.fact("woken", by="signal")]
        by_bcast = [int(f["goid"]) for f in r.fact("woken", by="broadcast")]
        check(len(by_signal) == 1 and len(by_bcast) == 2, f"{r.where}: FACT woken lines {by_signal} {by_bcast}")
        t_sig, t_bc = sig[0]["time_ns"], sig[1]["time_ns"]
        mid = {e["wakee"] for e in r.of("ready", goid=main)
               if e.get("wakee") in cond_waiters and t_sig <= e["time_ns"] < t_bc}
        check(mid == set(by_signal), f"{r.where}: between Signal and Broadcast main made {mid} runnable, "
                                     f"the program says Signal woke {by_signal}")
        late = {e["wakee"] for e in r.of("ready", goid=main)
                if e.get("wakee") in by_bcast and e["time_ns"] >= t_bc}
        check(late == set(by_bcast), f"{r.where}: after Broadcast main made {late} runnable, expected {by_bcast}")
        say(f"ok: {r.where}: {wait_calls} wg-wait, 3 cond-wait, Signal woke g{by_signal[0]}, Broadcast "
            f"g{by_bcast[0]} g{by_bcast[1]}, parks [{blocked[wg_waiters[0]]['reason']}] [sync.Cond.Wait]")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 6. select_mix --all-ops

SELECTS = {
    "recv3": {("a", "recv"): "case_a", ("b", "recv"): "case_b", ("c", "recv"): "case_c",
              ("done", "recv"): "case_done"},
    "send_or_stop": {("out", "send"): "case_send", ("stop", "recv"): "case_stop"},
    "nonblocking": {("q", "send"): "case_q", ("r", "send"): "case_r"},
}
CLOSED_CASES = {"case_done", "case_stop"}  # receives that return because the channel was closed


def check_select_mix(r):
    chans = {n: a for n, (a, _) in _named_chans(r).items()}
    check(set(chans) == {"a", "b", "c", "done", "out", "stop", "q", "r"}, f"{r.where}: FACT chan lines {chans}")
    name_of = {a: n for n, a in chans.items()}
    sels = r.of("select")
    counted = {}
    for sname, cases in SELECTS.items():
        want_cases = set(cases)
        mine = []
        for e in sels:
            got = {(name_of.get(c.get("chan")), c.get("dir")) for c in e.get("cases", [])}
            if got == want_cases and len(e["cases"]) == len(want_cases):
                mine.append(e)
        fact = r.one_fact("select", name=sname)
        want = {k: int(v) for k, v in fact.items() if k not in ("_", "name")}
        got = Counter()
        for e in mine:
            got["executions"] += 1
            ch = e.get("chosen")
            if ch == -1:
                got["default"] += 1
                check(e.get("blocking") is False, f"{r.where}: {sname}: default chosen in a blocking select")
                continue
            check(isinstance(ch, int) and 0 <= ch < len(e["cases"]), f"{r.where}: {sname}: chosen {ch}: {_brief([e])}")
            c = e["cases"][ch]
            key = cases[(name_of[c["chan"]], c["dir"])]
            got[key] += 1
            if c["dir"] == "recv":
                check(e.get("received") is (key not in CLOSED_CASES),
                      f"{r.where}: {sname}: {key} chosen with received={e.get('received')}: {_brief([e])}")
        got = {k: got.get(k, 0) for k in want}
        check(got == want, f"{r.where}: select {sname}: goscope saw {got}, the program counted {want}")
        blocking = {e.get("blocking") for e in mine}
        check(blocking == {sname != "nonblocking"},
              f"{r.where}: select {sname}: blocking flags {blocking}")
        counted[sname] = got["executions"]
    known = [set(c) for c in SELECTS.values()]
    strays = [e for e in sels if any(c.get("chan") in name_of for c in e.get("cases", []))
              and {(name_of.get(c.get("chan")), c.get("dir")) for c in e["cases"]} not in known]
    check(not strays, f"{r.where}: select events on the program's channels with unexpected cases: {_brief(strays)}")
    for n, count in (("a", 10), ("b", 20), ("c", 30)):
        sends = r.of("chan-send", chan=chans[n])
        check(len(sends) == count and all(e.get("ok") for e in sends),
              f"{r.where}: {len(sends)} chan-send on {n}, the producer sent {count}")
    return counted


def case_trace_select(goscope, go):
    """--all-ops: select executions and chosen cases per select statement."""
    def one(variant):
        r = trace_run(goscope, go, variant, "select_mix", ["--all-ops"], launch=variant in LAUNCHED)
        counted = check_select_mix(r)
        say(f"ok: {r.where}: facts as untraced; select executions and chosen cases equal the facts: {counted}")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 9. attach to a deadlocked program

def case_trace_attach_blocked(goscope, go):
    """bug_abba already deadlocked: `trace -p` sees no event about it but must end
    cleanly, with the blocked goroutines (from the attach snapshot) in its summary."""
    def one(variant):
        where = f"go{go}/{variant}/bug_abba"
        p = Prog(testprog(go, variant, "bug_abba"), f"{variant}/bug_abba", env={"GOSCOPE_HOLD": "60"}, hold=False)
        try:
            p.wait_fact(lambda f: f.get("_") == "settled", 30, "FACT settled")
            gs = Trace(goscope, ["trace", "-p", str(p.pid), "--json", "-d", "1s"], f"{variant}/bug_abba")
            try:
                grc = gs.wait(60)
            finally:
                gs.kill()
            check(p.proc.poll() is None, f"{where}: the program is gone after goscope detached")
        finally:
            p.kill()
        check(grc == 0, f"{where}: goscope exited {grc}: {gs.err.lines[-10:]}")
        check_no_loss(where, gs.err.lines)
        gs.events(where)  # whatever it printed is JSON
        blocked = [f["goid"] for f in p.facts() if f.get("_") == "blocked"]
        check(len(blocked) == 2, f"{where}: FACT blocked lines: {blocked}")
        err = "\n".join(gs.err.lines)
        missing = [g for g in blocked if not re.search(rf"(\bg|goroutine |goid[ =:\"]*){g}\b", err)]
        check(not missing, f"{where}: goscope's summary does not name blocked goroutines {missing}:\n{err}")
        say(f"ok: {where}: attached to the deadlocked program, summary names g{blocked[0]} g{blocked[1]}")

    on_all_variants(go, one)


# ---------------------------------------------------------------- 8. attach/detach x50

def _get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def once_trace_attach_detach_50(goscope):
    """50 attach/detach cycles (-d 200ms and SIGINT, alternately) on an http_server
    serving a steady load; every request succeeds, and the server finishes cleanly
    with exactly the number of /count requests made."""
    cycles = 50
    go = "1.26"
    prog = Prog(testprog(go, "default", "http_server"), "http_server", env={"GOSCOPE_HOLD": "600"}, hold=False)
    stop = threading.Event()
    stats = Counter()
    errors = []

    def load(port):
        while not stop.is_set():
            try:
                st, body = _get(f"http://127.0.0.1:{port}/count")
                if st == 200 and body.strip().isdigit():
                    stats["count"] += 1
                else:
                    errors.append(f"/count -> {st} {body!r}")
                st, body = _get(f"http://127.0.0.1:{port}/hello")
                if st == 200 and body == "hello\n":
                    stats["hello"] += 1
                else:
                    errors.append(f"/hello -> {st} {body!r}")
                time.sleep(0.005)  # a steady load, not a CPU hog: goscope needs the cores too
            except Exception as e:  # any failed request is a finding
                errors.append(f"{type(e).__name__}: {e}")
                time.sleep(0.05)

    threads = []
    try:
        listen = prog.wait_fact(lambda f: f.get("_") == "listen", 30, "FACT listen")
        prog.wait_fact(lambda f: f.get("_") == "serving", 30, "FACT serving")
        port = int(listen["port"])
        threads = [threading.Thread(target=load, args=(port,), daemon=True) for _ in range(2)]
        say(f"{cycles} attach/detach cycles on http_server pid {prog.pid}")
        for t in threads:
            t.start()
        t0 = time.monotonic()
        events = 0
        for i in range(cycles):
            where = f"attach/detach cycle {i + 1}/{cycles}"
            if i % 2 == 0:
                argv = [goscope, "trace", "-p", str(prog.pid), "--json", "-d", "200ms"]
                r = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
                rc, out, err = r.returncode, r.stdout, r.stderr.splitlines()
            else:
                gs = Trace(goscope, ["trace", "-p", str(prog.pid), "--json"], "http_server")
                try:
                    gs.wait_attached()
                    time.sleep(0.1)
                    gs.proc.send_signal(signal.SIGINT)
                    rc = gs.wait(60)
                finally:
                    gs.kill()
                out, err = "\n".join(gs.out.lines), gs.err.lines
            check(rc == 0, f"{where}: goscope exited {rc}: {err[-8:]}")
            check_no_loss(where, err)
            events += len(out.splitlines())
            check(prog.proc.poll() is None, f"{where}: http_server died (exit {prog.proc.returncode})")
            check(not errors, f"{where}: requests to the traced server failed: {errors[:5]}")
        elapsed = time.monotonic() - t0
        stop.set()
        for t in threads:
            t.join(20)
        check(not errors, f"requests to the traced server failed: {errors[:5]}")
        check(stats["count"] > cycles, f"only {stats['count']} /count requests during {cycles} cycles")
        st, body = _get(f"http://127.0.0.1:{port}/count")
        check(st == 200 and body == f"{stats['count'] + 1}\n",
              f"/count after the cycles says {body!r}, {stats['count'] + 1} expected")
        st, body = _get(f"http://127.0.0.1:{port}/quit")
        check(st == 200 and body == "bye\n", f"/quit -> {st} {body!r}")
        rc = prog.wait(30)
    finally:
        stop.set()
        prog.kill()
    check(rc == 0, f"http_server exited {rc} after {cycles} attach/detach cycles: {prog.err.lines[-10:]}")
    shut = [f for f in prog.facts() if f.get("_") == "shutdown"]
    check(shut and int(shut[0]["requests_served"]) == stats["count"] + 1,
          f"http_server served {shut} /count requests, the client made {stats['count'] + 1}")
    check(any(f.get("_") == "done" for f in prog.facts()), "http_server did not print FACT done")
    say(f"ok: {cycles} attach/detach cycles in {elapsed:.1f}s ({elapsed / cycles:.2f}s each, {events} event "
        f"lines); {stats['count'] + 1} /count and {stats['hello']} /hello requests all answered; clean exit")


def case_trace_list_probes(goscope, go):
    """`trace --list-probes` prints the plan without attaching: the default set holds
    the park/ready entries, --all-ops adds the channel operations, and every site's
    file offset maps to its address through the binary's one text segment."""
    prog = testprog(go, "default", "pipeline")

    def plan(*extra):
        p = subprocess.run([goscope, "trace", "--list-probes", "--json", *extra, "--", prog],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        check(p.returncode == 0, f"--list-probes {extra}: exit {p.returncode}: {p.stderr}")
        return json.loads(p.stdout)

    default, all_ops = plan(), plan("--all-ops")
    check(default["binary"] == prog, f"binary {default['binary']!r}, expected {prog!r}")
    hooks = Counter(s["hook"] for s in default["sites"])
    say(f"default set: {dict(hooks)}; --all-ops: {len(all_ops['sites'])} sites")
    for h in ("gopark", "ready", "newproc1", "goexit1"):
        check(hooks[h] >= 1, f"default plan lacks {h}: {dict(hooks)}")
    check(not any(s["hook"] in ("chansend", "chanrecv") for s in default["sites"]),
          "the default plan probes every channel operation")
    check(any(s["hook"] == "chansend" for s in all_ops["sites"]), "--all-ops plan lacks chansend")
    check(len(all_ops["sites"]) > len(default["sites"]), "--all-ops is not larger than the default set")
    deltas = {s["address"] - s["file_offset"] for s in all_ops["sites"]}
    check(len(deltas) == 1, f"file offsets do not map to addresses by one text segment: {deltas}")
    for s in all_ops["sites"]:
        check(s["location"].startswith(s["function"] + "+0x") or s["location"] == s["function"],
              f"location {s['location']!r} is not in {s['function']}")
    gopark = next(s for s in default["sites"] if s["hook"] == "gopark")
    check(gopark["site"] == "entry", f"gopark probed at {gopark['site']}")
    text = subprocess.run([goscope, "trace", "--list-probes", "--", prog], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL).stdout
    check(f"0x{gopark['address']:x}" in text and gopark["location"] in text,
          f"the text listing lacks gopark's site: {text}")


def case_trace_deep_stack(goscope, go):
    """A goroutine blocked 40 calls deep: its park still names the channel (the data
    words are not overwritten by frames) and carries the full recorded depth of
    frames, main.deep after main.deep, none of them zero or unknown."""
    k, depth = 5, 40

    def one(variant):
        r = trace_run(goscope, go, variant, "hello_probe", env={"GOSCOPE_K": str(k), "GOSCOPE_DEPTH": str(depth)})
        ch = _named_chans(r)["ch"][0]
        rc = r.roles("receiver")[0]
        parks = [e for e in r.of("park", goid=rc) if e.get("reason") == "chan receive"]
        check(parks, f"{r.where}: the receiver ({rc}) never parked on chan receive")
        for e in parks:
            check(e.get("object") == ch and _obj_addrs(e) == [ch],
                  f"{r.where}: a park 40 calls deep does not name ch={ch}: {_brief([e])}")
            funcs = [f.get("func", "") for f in e["stack"]]
            check(len(funcs) >= 30, f"{r.where}: only {len(funcs)} frames recorded 40 calls deep: {funcs}")
            check(funcs.count("main.deep") >= 25, f"{r.where}: main.deep frames missing from {funcs}")
            check(all(funcs), f"{r.where}: frames without a function: {funcs}")
        say(f"ok: {r.where}: {len(parks)} parks 40 calls deep name ch and carry {len(parks[0]['stack'])} frames")

    on_all_variants(go, one)

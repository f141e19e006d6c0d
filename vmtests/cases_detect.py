"""Deadlock and leak detection end to end: goscope's findings against the facts
the test programs print about themselves.

- case_detect_dump_bugs: each bug program (bug_abba, bug_chancycle,
  bug_rlock_recursive, bug_wgnever, bug_rangeleak, bug_sendleak,
  example_deadlock) in variants default, stripped and pie-stripped is run into its
  blocked state (`FACT settled`; example_deadlock: `FACT stalled`), then
  `goscope dump -p PID --findings F.json` must exit 1 with the program's rule, the
  goroutines the program names, the objects it names, and leave it running.
- case_detect_trace_bugs: the same programs launched by
  `goscope trace -q --deadlock-after 1s --findings F.json -- PROG` (GOSCOPE_HOLD
  4 s), variants default and stripped: the same checks, and the program must still
  exit 0 by itself; bug_allasleep (the runtime's own "all goroutines are asleep"
  abort, exit status 2) must give GS107 naming both goroutines with goscope
  exiting 1; bug_abba with --locks must give confidence "certain".
- case_detect_healthy: programs that are blocked a lot but never deadlocked or
  leaking must give no GS1xx (deadlock) and no GS201 (leak) finding and exit 0
  (default --fail-on error; warnings GS3xx are allowed): healthy_idle under trace
  (~8 s, --deadlock-after 1s) and under dump (4.5 s after it settled, so every
  goroutine has been blocked longer than the default 3 s); pipeline, timers,
  waitgroup_cond, mutex_contention, select_mix under trace; http_server under
  trace with a load from the test, then idle in accept, then /quit.

Checked exactly, from the facts:
  bug_abba         GS101, cycle {g1,g2}: g1 waits for mutex B held by g2, g2 for A held by g1
  bug_chancycle    GS102, cycle {x,y}: x waits on c1 for y, y on c2 for x
  bug_rlock_recursive GS103, cycle {r,w}, edges on rw
  bug_wgnever      GS104, goroutines {waiter}, object wg
  bug_rangeleak    GS201, leaked goroutines exactly {consumer}, object items
  bug_sendleak     GS201, leaked goroutines exactly {g0,g1,g2}, objects result0..2
  example_deadlock GS101, cycle = two workers, edges on the alice and bob mutexes
Any other deadlock or leak finding (GS1xx, GS201) naming a goroutine outside the
program's expected set is a false positive and fails the case.

Each run prints one line `VERDICT mode=... go=... variant=... prog=... verdict=...`
(TP true positive, FN false negative, TN, FP; `TP+FP` when an extra finding came
with the right one; `MISMATCH` for the right rule with the wrong goroutines or
objects); vmtests/DETECTION_RESULTS.md is made from those lines. A case runs every
program before failing, listing every problem.

GOSCOPE_VMTEST_KEEP=DIR keeps the findings JSON of every run in DIR;
GOSCOPE_DETECT_ONLY=prog,prog runs only those programs (vmtests/repeat.py --only,
to measure how often a case misses; never set in CI).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request

from vmtest import CaseFailed, GoProgram, check, parse_fact, testprog
from cases_trace import Trace, run_jobs, say

BUGS = ("bug_abba", "bug_chancycle", "bug_rlock_recursive", "bug_wgnever", "bug_rangeleak", "bug_sendleak",
        "example_deadlock")
DUMP_VARIANTS = ("default", "stripped", "pie-stripped")
TRACE_VARIANTS = ("default", "stripped")
RULE = {"bug_abba": "GS101", "bug_chancycle": "GS102", "bug_rlock_recursive": "GS103", "bug_wgnever": "GS104",
        "bug_rangeleak": "GS201", "bug_sendleak": "GS201", "example_deadlock": "GS101", "bug_allasleep": "GS107"}


def _selected(progs):
    only = {p for p in os.environ.get("GOSCOPE_DETECT_ONLY", "").split(",") if p}
    return tuple(p for p in progs if not only or p in only)


def is_bug_rule(rule):
    """Deadlock (GS1xx) and leak (GS201) rules: what a healthy program must never raise."""
    return rule.startswith("GS1") or rule == "GS201"


def _addr(s):
    return int(s, 16) if isinstance(s, str) else int(s)


def _keep(where, text):
    d = os.environ.get("GOSCOPE_VMTEST_KEEP")
    if d:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, re.sub(r"[/ ]", "_", where) + ".findings.json"), "w") as f:
            f.write(text)


def load_findings(where, path):
    check(os.path.exists(path), f"{where}: goscope wrote no --findings file {path}")
    with open(path) as f:
        text = f.read()
    _keep(where, text)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise CaseFailed(f"{where}: --findings file is not JSON ({e}): {text[:500]!r}")
    check(isinstance(doc, dict) and isinstance(doc.get("findings"), list),
          f"{where}: --findings JSON has no findings list: {text[:500]!r}")
    return doc["findings"]


def brief(findings):
    """The findings without stacks, for messages."""
    out = []
    for f in findings:
        out.append({"rule": f.get("rule"), "confidence": f.get("confidence"),
                    "goroutines": [g.get("goid") for g in f.get("goroutines", [])],
                    "cycle": f.get("cycle"),
                    "objects": [(o.get("address"), o.get("kind")) for o in f.get("objects", [])],
                    "title": f.get("title")})
    return json.dumps(out)


def goids_of(f):
    return {g["goid"] for g in f.get("goroutines", [])}


def cycle_goids(f):
    s = set()
    for e in f.get("cycle", []):
        s.add(e["from"])
        if e.get("to"):
            s.add(e["to"])
    return s


# ---------------------------------------------------------------- expectations from the facts

class Expect:
    """What the program says goscope must find: rule, goroutines, edges, objects."""

    def __init__(self, prog, facts):
        self.prog = prog
        self.rule = RULE[prog]
        self.goids = set()      # goroutines the finding must name (cycle or leak), exactly
        self.edges = None       # {(from, object address, to)} exactly, when the facts say
        self.edge_objects = None  # set of object addresses the cycle edges must use, exactly
        self.objects = set()    # object addresses that must be among the finding's objects
        self.allowed = set()    # goroutines that other findings may name (blocked behind the bug)
        self.leak = self.rule == "GS201"
        named = {}
        for f in facts:
            if f.get("_") in ("chan", "mutex", "rwmutex", "waitgroup") and "addr" in f and "name" in f:
                named.setdefault(f["name"], _addr(f["addr"]))
        settled = next((f for f in facts if f.get("_") == "settled"), None)
        blocked = [f for f in facts if f.get("_") == "blocked"]
        if prog == "bug_abba":
            self.goids = {int(g) for g in settled["cycle"].split(",")}
            self.edges = {(int(b["goid"]), named[b["on"]], int(b["holder"])) for b in blocked}
            self.objects = {named["A"], named["B"]}
        elif prog == "bug_chancycle":
            self.goids = {int(g) for g in settled["cycle"].split(",")}
            self.edges = {(int(b["goid"]), named[b["on"]], int(b["waits_for"])) for b in blocked}
            self.objects = {named["c1"], named["c2"]}
        elif prog == "bug_rlock_recursive":
            self.goids = {int(g) for g in settled["cycle"].split(",")}
            self.edge_objects = {named["rw"]}
            self.objects = {named["rw"]}
        elif prog == "bug_wgnever":
            self.goids = {int(settled["waiter"])}
            self.objects = {named["wg"]}
        elif prog in ("bug_rangeleak", "bug_sendleak"):
            self.goids = {int(g) for g in settled["leaked"].split(",")}
            self.objects = {named[b["on"]] for b in blocked}
        elif prog == "example_deadlock":
            workers = {int(f["goid"]) for f in facts if f.get("role") == "worker"}
            self.workers = workers
            self.goids = None  # two of the workers: checked below
            self.edge_objects = {named["alice"], named["bob"]}
            self.objects = {named["alice"], named["bob"]}
            # Blocked behind the cycle: the other workers (Lock) and the producer (full queue).
            self.allowed = workers | {int(f["goid"]) for f in facts if f.get("role") == "producer"}
        elif prog == "bug_allasleep":
            self.goids = {int(f["goid"]) for f in facts if f.get("blocks")}
        if self.goids is not None:
            self.allowed |= self.goids

    def judge(self, findings):
        """(verdict, problems): is the expected finding there, exactly, and nothing else?"""
        mine = [f for f in findings if f.get("rule") == self.rule]
        problems = []
        if self.leak:
            got = set()
            for f in mine:
                got |= goids_of(f)
            match = [f for f in mine if goids_of(f) & self.goids]
            if not match:
                return "FN", [f"no {self.rule} finding names the leaked goroutines {sorted(self.goids)}"]
            if got != self.goids:
                problems.append(f"{self.rule} findings name goroutines {sorted(got)}, the program leaked "
                                f"exactly {sorted(self.goids)}")
            objs = set()
            for f in match:
                objs |= {_addr(o["address"]) for o in f.get("objects", [])}
            if not self.objects <= objs:
                problems.append(f"{self.rule} findings' objects {sorted(hex(a) for a in objs)} lack the leaked "
                                f"goroutines' channels {sorted(hex(a) for a in self.objects)}")
            used = match
        else:
            def names_it(f):
                ids = cycle_goids(f) | goids_of(f)
                if self.goids is None:
                    return len(ids & self.workers) >= 2
                return bool(ids & self.goids)
            match = [f for f in mine if names_it(f)]
            if not match:
                return "FN", [f"no {self.rule} finding about goroutines "
                              f"{sorted(self.goids) if self.goids is not None else 'two workers'}"]
            if len(match) > 1:
                problems.append(f"{len(match)} {self.rule} findings for one bug (expected one)")
            f = match[0]
            used = [f]
            cyc = cycle_goids(f)
            if self.prog == "bug_wgnever":
                if goids_of(f) != self.goids:
                    problems.append(f"{self.rule} names goroutines {sorted(goids_of(f))}, the program's waiter "
                                    f"is {sorted(self.goids)}")
            elif self.prog == "bug_allasleep":
                ids = cyc | goids_of(f)
                if not self.goids <= ids or ids - self.goids - {1}:
                    problems.append(f"{self.rule} names goroutines {sorted(ids)}, the blocked ones are "
                                    f"{sorted(self.goids)}")
            elif self.goids is None:  # example_deadlock
                if len(cyc) != 2 or not cyc <= self.workers:
                    problems.append(f"cycle goroutines {sorted(cyc)}, expected two of the workers "
                                    f"{sorted(self.workers)}")
            elif cyc != self.goids:
                problems.append(f"cycle goroutines {sorted(cyc)}, the program's cycle is {sorted(self.goids)}")
            got_edges = {(e["from"], _addr(e["object"]), e.get("to")) for e in f.get("cycle", [])}
            if self.edges is not None and got_edges != self.edges:
                problems.append(f"cycle edges {sorted((a, hex(o), b) for a, o, b in got_edges)}, the program "
                                f"says {sorted((a, hex(o), b) for a, o, b in self.edges)}")
            if self.edge_objects is not None and {o for _, o, _ in got_edges} != self.edge_objects:
                problems.append(f"cycle edge objects {sorted(hex(o) for _, o, _ in got_edges)}, the program's "
                                f"objects are {sorted(hex(o) for o in self.edge_objects)}")
            objs = {_addr(o["address"]) for o in f.get("objects", [])}
            if not self.objects <= objs:
                problems.append(f"objects {sorted(hex(a) for a in objs)} lack the program's "
                                f"{sorted(hex(a) for a in self.objects)}")
        # Other deadlock/leak findings: false positives unless about goroutines
        # blocked behind this very bug.
        extra = [f for f in findings if is_bug_rule(f.get("rule", "")) and f not in used
                 and (cycle_goids(f) | goids_of(f)) - self.allowed]
        verdict = "MISMATCH" if problems else "TP"
        if extra:
            problems.append(f"other deadlock/leak findings about goroutines outside "
                            f"{sorted(self.allowed)}: {brief(extra)}")
            verdict += "+FP"
        return verdict, problems


def verdict_line(mode, go, variant, prog, verdict, note=""):
    say(f"VERDICT mode={mode} go={go} variant={variant} prog={prog} verdict={verdict}"
        + (f" note={json.dumps(note)}" if note else ""))


def _settle_fact(prog):
    return "stalled" if prog == "example_deadlock" else "settled"


# ---------------------------------------------------------------- dump

def _dump(goscope, pid, findings_path, *extra):
    argv = [goscope, "dump", "-p", str(pid), "--findings", findings_path, *extra]
    say("$ " + " ".join(argv))
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    say(f"  (exit {r.returncode} after {time.monotonic() - t0:.1f}s)")
    for line in r.stderr.splitlines()[-15:]:
        say(f"  [dump stderr] {line}")
    return r


def _dump_one(goscope, go, variant, prog_name, tmp):
    where = f"dump go{go}/{variant}/{prog_name}"
    prog = GoProgram(testprog(go, variant, prog_name), env={"GOSCOPE_HOLD": "120"}, hold=False)
    try:
        kind = _settle_fact(prog_name)
        prog.wait_fact(lambda f: f.get("_") == kind, 60, f"FACT {kind}")
        path = os.path.join(tmp, f"{variant}-{prog_name}.json")
        r = _dump(goscope, prog.pid, path)
        alive = prog.proc.poll() is None
    finally:
        prog.kill()
    problems = []
    if r.returncode != 1:
        problems.append(f"goscope dump exited {r.returncode}, expected 1 (findings): {r.stderr[-1500:]}")
    if not alive:
        problems.append("the program is no longer running after goscope dump")
    if r.returncode == 2:
        verdict = "ERROR"
        findings = []
    else:
        findings = load_findings(where, path)
        verdict, more = Expect(prog_name, prog.facts()).judge(findings)
        problems += more
    # The text form on stdout, after the goroutines, names the rule too.
    if findings and not re.search(rf"\[{RULE[prog_name]} ", r.stdout):
        problems.append(f"the text on stdout does not show [{RULE[prog_name]} ...]: {r.stdout[-1500:]}")
    verdict_line("dump", go, variant, prog_name, verdict, "; ".join(problems))
    if problems:
        return [f"{where}: {p}" for p in problems] + [f"{where}: findings: {brief(findings)}"]
    say(f"ok: {where}: {RULE[prog_name]} as the program says; exit 1; program still running")
    return []


def case_detect_dump_bugs(goscope, go):
    problems = []
    with tempfile.TemporaryDirectory(prefix="goscope-detect-") as tmp:
        for variant in DUMP_VARIANTS:
            for prog_name in _selected(BUGS):
                problems += _dump_one(goscope, go, variant, prog_name, tmp)
    check(not problems, f"go{go}: {len(problems)} problems:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------- trace

def _trace(goscope, go, variant, prog_name, tmp, hold="4", extra=(), tag_extra=""):
    """Launches PROG under `goscope trace -q --deadlock-after 1s --findings F`;
    returns (goscope exit, program exit status goscope reported, facts, findings path, trace)."""
    tag = f"{variant}/{prog_name}{tag_extra}"
    path = os.path.join(tmp, re.sub(r"[/ ]", "_", tag) + ".json")
    env = dict(os.environ)
    env.update({"GOSCOPE_HOLD": hold, "GOTRACEBACK": "all"})
    env.pop("GOSCOPE_WAIT_STDIN", None)
    t = Trace(goscope, ["trace", "-q", "--deadlock-after", "1s", "--findings", path, *extra, "--",
                        testprog(go, variant, prog_name)], tag, env=env)
    try:
        rc = t.wait(float(hold) + 90)
    finally:
        t.kill()
    facts = [f for f in (parse_fact(l) for l in t.out.lines) if f is not None]
    status = [m.group(1) for l in t.err.lines for m in re.finditer(r"exited with status (\d+)", l)]
    return rc, status, facts, path, t


def _trace_bug(goscope, go, variant, prog_name, tmp, extra=(), want_conf=None, mode="trace"):
    where = f"{mode} go{go}/{variant}/{prog_name}"
    # example_deadlock's deadlock forms only after its first second of light traffic
    # (later under tracing on a loaded machine): give the live judge time to see it.
    hold = "8" if prog_name == "example_deadlock" else "4"
    rc, status, facts, path, t = _trace(goscope, go, variant, prog_name, tmp, hold=hold, extra=extra,
                                        tag_extra=" ".join(extra))
    problems = []
    if rc != 1:
        problems.append(f"goscope trace exited {rc}, expected 1 (findings): {t.err.lines[-10:]}")
    want_status = "2" if prog_name == "bug_allasleep" else "0"
    if status != [want_status]:
        problems.append(f"goscope reports the program's exit status {status}, expected [{want_status}]")
    kind = "stalled" if prog_name == "example_deadlock" else ("goid" if prog_name == "bug_allasleep" else "settled")
    if not any(f.get("_") == kind or (kind == "goid" and f.get("blocks")) for f in facts):
        problems.append(f"the program never printed FACT {kind} under goscope")
        verdict, findings = "ERROR", []
    elif rc == 2:
        verdict, findings = "ERROR", []
    else:
        findings = load_findings(where, path)
        verdict, more = Expect(prog_name, facts).judge(findings)
        problems += more
        if want_conf:
            f = next((f for f in findings if f.get("rule") == RULE[prog_name]), None)
            if f is not None and f.get("confidence") != want_conf:
                problems.append(f"confidence {f.get('confidence')!r}, expected {want_conf!r} "
                                f"({f.get('confidence_reason')})")
                verdict = "MISMATCH"
        if not any(f"[{RULE[prog_name]} " in l for l in t.err.lines):
            problems.append(f"goscope's stderr does not show [{RULE[prog_name]} ...]")
    verdict_line(mode, go, variant, prog_name, verdict, "; ".join(problems))
    if problems:
        raise CaseFailed("\n    ".join([f"{where}: {p}" for p in problems] + [f"findings: {brief(findings)}"]))
    say(f"ok: {where}: {RULE[prog_name]} as the program says; goscope exit 1, program exit {want_status}")


def case_detect_trace_bugs(goscope, go):
    jobs = {}
    with tempfile.TemporaryDirectory(prefix="goscope-detect-") as tmp:
        for prog_name in _selected(BUGS + ("bug_allasleep",)):
            for variant in TRACE_VARIANTS:
                jobs[f"{variant}/{prog_name}"] = (lambda v=variant, p=prog_name:
                                                 _trace_bug(goscope, go, v, p, tmp))
        if _selected(("bug_abba",)):
            jobs["default/bug_abba --locks"] = lambda: _trace_bug(goscope, go, "default", "bug_abba", tmp,
                                                                  extra=("--locks",), want_conf="certain",
                                                                  mode="trace--locks")
        # Two at a time: CI has two cores, and each run is mostly waiting (GOSCOPE_HOLD).
        failures = []
        names = list(jobs)
        for i in range(0, len(names), 2):
            try:
                run_jobs(go, {n: jobs[n] for n in names[i:i + 2]})
            except CaseFailed as e:
                failures.append(str(e))
    check(not failures, "\n".join(failures))


# ---------------------------------------------------------------- healthy programs

def _judge_healthy(where, findings):
    bad = [f for f in findings if is_bug_rule(f.get("rule", ""))]
    return ("FP" if bad else "TN"), ([f"deadlock/leak findings on a healthy program: {brief(bad)}"] if bad else [])


def _healthy_trace(goscope, go, prog_name, tmp, hold):
    where = f"trace go{go}/default/{prog_name}"
    rc, status, facts, path, t = _trace(goscope, go, "default", prog_name, tmp, hold=hold)
    problems = []
    if rc != 0:
        problems.append(f"goscope trace exited {rc}, expected 0: {t.err.lines[-10:]}")
    if status != ["0"]:
        problems.append(f"goscope reports the program's exit status {status}, expected [0]")
    if not any(f.get("_") == "done" for f in facts):
        problems.append("the program did not print FACT done")
    findings = load_findings(where, path) if rc != 2 else []
    verdict, more = _judge_healthy(where, findings)
    problems += more
    if rc == 2:
        verdict = "ERROR"
    verdict_line("trace", go, "default", prog_name, verdict, "; ".join(problems))
    if problems:
        return [f"{where}: {p}" for p in problems]
    say(f"ok: {where}: no deadlock or leak finding ({len(findings)} other findings), exit 0")
    return []


def _healthy_dump(goscope, go, tmp):
    where = f"dump go{go}/default/healthy_idle"
    prog = GoProgram(testprog(go, "default", "healthy_idle"), env={"GOSCOPE_HOLD": "30"}, hold=False)
    try:
        prog.wait_fact(lambda f: f.get("_") == "settled", 30, "FACT settled")
        time.sleep(4.5)  # every goroutine blocked longer than the default --deadlock-after (3 s)
        path = os.path.join(tmp, "dump-healthy_idle.json")
        r = _dump(goscope, prog.pid, path)
        alive = prog.proc.poll() is None
    finally:
        prog.kill()
    problems = []
    if r.returncode != 0:
        problems.append(f"goscope dump exited {r.returncode}, expected 0: {r.stderr[-1500:]}")
    if not alive:
        problems.append("the program is no longer running after goscope dump")
    findings = load_findings(where, path) if r.returncode != 2 else []
    verdict, more = _judge_healthy(where, findings)
    problems += more
    if r.returncode == 2:
        verdict = "ERROR"
    verdict_line("dump", go, "default", "healthy_idle", verdict, "; ".join(problems))
    if problems:
        return [f"{where}: {p}" for p in problems]
    say(f"ok: {where}: no deadlock or leak finding ({len(findings)} other findings), exit 0")
    return []


def _get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode()


def _healthy_http(goscope, go, tmp):
    """http_server launched by goscope: 3 s of load from two clients, 4 s idle in
    accept (longer than --deadlock-after), then /quit."""
    where = f"trace go{go}/default/http_server"
    path = os.path.join(tmp, "http_server.json")
    env = dict(os.environ)
    env.update({"GOSCOPE_HOLD": "120", "GOSCOPE_PORT": "0", "GOSCOPE_LOAD": "0"})
    t = Trace(goscope, ["trace", "-q", "--deadlock-after", "1s", "--findings", path, "--",
                        testprog(go, "default", "http_server")], "http_server", env=env)
    problems, served = [], 0
    try:
        def fact(kind):
            return t.out.wait_for(lambda l: (parse_fact(l) if (parse_fact(l) or {}).get("_") == kind else None),
                                  30, f"FACT {kind}")
        port = int(fact("listen")["port"])
        fact("serving")
        stop, errors, counts = threading.Event(), [], [0, 0]

        def load(i):
            while not stop.is_set():
                try:
                    st, body = _get(f"http://127.0.0.1:{port}/count")
                    if st == 200:
                        counts[i] += 1
                    else:
                        errors.append(f"/count -> {st}")
                    _get(f"http://127.0.0.1:{port}/hello")
                    time.sleep(0.002)
                except Exception as e:
                    errors.append(f"{type(e).__name__}: {e}")
                    time.sleep(0.05)
        threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(2)]
        for th in threads:
            th.start()
        time.sleep(3)
        stop.set()
        for th in threads:
            th.join(20)
        served = sum(counts)
        if errors:
            problems.append(f"requests failed under goscope: {errors[:5]}")
        if served < 10:
            problems.append(f"only {served} /count requests answered in 3 s")
        time.sleep(4)  # idle: blocked in accept, keep-alive connections in netpoll
        st, body = _get(f"http://127.0.0.1:{port}/quit")
        if st != 200:
            problems.append(f"/quit -> {st} {body!r}")
        rc = t.wait(60)
    finally:
        t.kill()
    facts = [f for f in (parse_fact(l) for l in t.out.lines) if f is not None]
    status = [m.group(1) for l in t.err.lines for m in re.finditer(r"exited with status (\d+)", l)]
    if rc != 0:
        problems.append(f"goscope trace exited {rc}, expected 0: {t.err.lines[-10:]}")
    if status != ["0"]:
        problems.append(f"goscope reports the program's exit status {status}, expected [0]")
    shut = [f for f in facts if f.get("_") == "shutdown"]
    if not shut or int(shut[0]["requests_served"]) != served:
        problems.append(f"http_server says {shut}, the client made {served} /count requests")
    findings = load_findings(where, path) if rc != 2 else []
    verdict, more = _judge_healthy(where, findings)
    problems += more
    verdict_line("trace", go, "default", "http_server", "ERROR" if rc == 2 else verdict, "; ".join(problems))
    if problems:
        return [f"{where}: {p}" for p in problems]
    say(f"ok: {where}: {served} requests, idle, /quit: no deadlock or leak finding, exit 0")
    return []


HEALTHY_TRACE = (("healthy_idle", "8"), ("pipeline", "1.5"), ("timers", "1.5"), ("waitgroup_cond", "1.5"),
                 ("mutex_contention", "1.5"), ("select_mix", "1.5"))


def case_detect_healthy(goscope, go):
    problems = []
    with tempfile.TemporaryDirectory(prefix="goscope-detect-") as tmp:
        for prog_name, hold in HEALTHY_TRACE:
            problems += _healthy_trace(goscope, go, prog_name, tmp, hold)
        problems += _healthy_dump(goscope, go, tmp)
        problems += _healthy_http(goscope, go, tmp)
    check(not problems, f"go{go}: {len(problems)} problems:\n  " + "\n  ".join(problems))

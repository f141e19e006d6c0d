"""`goscope dump -p PID` against the Go runtime's own dump of the same process.

Each bug program is run into its documented blocked state (`FACT settled`), then
goscope reads its goroutines from outside (`dump --json`, and once the text form),
and the program is made to print its own dump (SIGQUIT, GOTRACEBACK=all), which
ends it. What is compared:

- goroutine ids: every goroutine of the runtime's dump (goroutine 0, the g0 of a
  thread, excepted) is in goscope's, and every goroutine goscope has that the
  runtime did not print is one goscope classifies as a runtime-internal (system)
  goroutine, which GOTRACEBACK=all may omit;
- the state / wait reason (the runtime's bracket text before the first comma,
  " (scan)" removed): equal for every goroutine named in a `FACT blocked` line,
  and equal to the reason the program itself reported; other goroutines are
  compared and differences printed (runtime goroutines may move meanwhile);
- the top user frame (first frame the runtime shows at GOTRACEBACK=all: not
  runtime.*, except exported ones) and the `created by` function and parent goid,
  for every non-system goroutine in both dumps;
- spawn_tree: every `FACT spawn goid parent` goroutine is there, with that parent
  (where the Go version records parents, 1.21+);
- for a `FACT blocked ... on=NAME` whose NAME is a `FACT chan`, the channel
  address is in what goscope says the goroutine waits on;
- for a `FACT blocked ... on=NAME` whose NAME is a `FACT mutex / rwmutex /
  waitgroup`, goscope maps the semaphore it sleeps on (found in
  runtime.semtable) back to exactly that object;
- `--pprof` writes a goroutine profile that go tool pprof of the same version
  reads without the binary: each blocked goroutine one sample, labelled with
  its goid and state, its stack reaching the program's main.* code;
- the program was still alive after the dumps (goscope does not stop or harm it).

Variants default, pie, stripped and pie-stripped: in stripped binaries goscope
finds runtime.allgs and runtime.semtable from the code of runtime.allgadd and
runtime.semrelease1, the g and sudog offsets from the
generated table, and symbolizes from .gopclntab.
"""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

from vmtest import CaseFailed, GoProgram, check, go_tool, testprog

PROGRAMS = ("bug_chancycle", "bug_sendleak", "bug_wgnever", "bug_abba", "bug_rlock_recursive",
            "bug_rangeleak", "spawn_tree")
VARIANTS = ("default", "pie", "stripped", "pie-stripped")

HEADER = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[(.*)\]:$")
CREATED = re.compile(r"^created by (\S+)(?: in goroutine (\d+))?$")


def _reason(bracket):
    return bracket.split(",")[0].replace(" (scan)", "").strip()


def _shown(fn):
    """The runtime's showframe at GOTRACEBACK=all."""
    if "." not in fn:
        return False
    if not fn.startswith("runtime."):
        return True
    return len(fn) > 8 and fn[8].isupper()


def _func_name(line):
    i = line.rfind("(")
    return line[:i] if i > 0 else line


def parse_go_dump(lines):
    """{goid: {'reason', 'frames': [fn...], 'created_by', 'parent'}} from a runtime traceback."""
    gs, cur = {}, None
    for line in lines:
        m = HEADER.match(line)
        if m:
            goid = int(m.group(1))
            cur = {"reason": _reason(m.group(2)), "frames": [], "created_by": None, "parent": None}
            if goid != 0:
                gs[goid] = cur
            continue
        if cur is None or not line or line.startswith("\t"):
            if not line:
                cur = None
            continue
        c = CREATED.match(line)
        if c:
            cur["created_by"] = c.group(1)
            cur["parent"] = int(c.group(2)) if c.group(2) else None
        elif not line.startswith("..."):
            cur["frames"].append(_func_name(line))
    return gs


def _top_user(frames):
    shown = [f for f in frames if _shown(f)]
    return shown[0] if shown else (frames[0] if frames else None)


def _run_dump(goscope, pid, *extra):
    argv = [goscope, "dump", "-p", str(pid), "--fail-on", "never", *extra]
    print("$ " + " ".join(argv), flush=True)
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    ms = (time.monotonic() - t0) * 1000
    print(r.stderr, end="", flush=True)
    return r, ms


def _compare(prog_name, variant, ours, go_gs, facts):
    where = f"{prog_name}/{variant}"
    by_id = {g["goid"]: g for g in ours["goroutines"]}
    check(go_gs, f"{where}: no goroutine found in the runtime's SIGQUIT dump")
    missing = sorted(set(go_gs) - set(by_id))
    check(not missing, f"{where}: goroutines {missing} are in the runtime's dump but not in goscope's")
    extra = sorted(g for g in set(by_id) - set(go_gs) if not by_id[g]["system"])
    check(not extra, f"{where}: goscope shows non-system goroutines {extra} the runtime did not print")

    blocked = {int(f["goid"]): f for f in facts if f.get("_") == "blocked"}
    spawns = [f for f in facts if f.get("_") == "spawn"]
    check(blocked or spawns, f"{where}: program printed no FACT blocked or FACT spawn line")
    for f in spawns:  # spawn_tree: every goroutine of the tree, with its parent (Go 1.21+ records it)
        goid, parent = int(f["goid"]), int(f["parent"])
        check(goid in by_id, f"{where}: spawned goroutine {goid} missing from goscope's dump")
        pg = by_id[goid]["parent_goid"]
        check(pg is None or pg == parent, f"{where}: goroutine {goid}: parent {pg}, the program says {parent}")
    chans = {f["name"]: int(f["addr"], 16) for f in facts if f.get("_") == "chan" and "addr" in f}
    locks = {f["name"]: int(f["addr"], 16) for f in facts
             if f.get("_") in ("mutex", "rwmutex", "waitgroup") and "addr" in f}
    for goid, f in blocked.items():
        check(goid in by_id, f"{where}: blocked goroutine {goid} missing from goscope's dump")
        g = by_id[goid]
        check(g["header"] == go_gs[goid]["reason"],
              f"{where}: goroutine {goid}: goscope says [{g['header']}], the runtime [{go_gs[goid]['reason']}]")
        check(g["header"] == f["reason"],
              f"{where}: goroutine {goid}: goscope says [{g['header']}], the program says {f['reason']!r}")
        on = f.get("on")
        if on in chans:
            addrs = [int(w["address"], 16) for w in g["waiting_on"]]
            check(chans[on] in addrs,
                  f"{where}: goroutine {goid} waits on {on}={hex(chans[on])}, goscope says {g['waiting_on']}")
        if on in locks:
            # The semaphore is mapped back to the sync object that owns it: the
            # very address the program printed with %p.
            owners = [int(w["object"]["address"], 16) for w in g["waiting_on"]
                      if w["kind"] == "semaphore" and w.get("object")]
            check(locks[on] in owners,
                  f"{where}: goroutine {goid} waits on {on}={hex(locks[on])}, goscope says {g['waiting_on']}")

    compared = 0
    for goid, gg in go_gs.items():
        g = by_id[goid]
        if g["header"] != gg["reason"]:
            print(f"note: {where}: goroutine {goid} [{g['header']}] vs runtime [{gg['reason']}] "
                  "(not a blocked goroutine of the program: it may have moved)")
        if g["system"]:
            continue
        ours_top = _top_user([fr["function"] or "?" for fr in g["frames"]])
        check(ours_top == _top_user(gg["frames"]),
              f"{where}: goroutine {goid}: top frame {ours_top!r}, runtime {_top_user(gg['frames'])!r}")
        cb = g["created_by"]["function"] if g["created_by"] else None
        if gg["created_by"] is not None or goid != 1:
            check(cb == gg["created_by"], f"{where}: goroutine {goid}: created by {cb!r}, runtime {gg['created_by']!r}")
        if gg["parent"] is not None:
            check(g["parent_goid"] == gg["parent"],
                  f"{where}: goroutine {goid}: parent {g['parent_goid']}, runtime {gg['parent']}")
        compared += 1
    return compared


def _check_pprof(goscope, go, prog):
    """--pprof writes a goroutine profile that this version's go tool pprof reads
    without the binary: every blocked goroutine is a sample labelled with its id
    and state, its stack symbolized down to the program's own function."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "goroutines.pb.gz")
        r, _ = _run_dump(goscope, prog.pid, "--pprof", path)
        check(r.returncode == 0 and os.path.exists(path), f"goscope dump --pprof failed: {r.stderr}")
        rc, out = go_tool(go, ["pprof", "-symbolize=none", "-traces", path], tmp)
        check(rc == 0, f"go tool pprof cannot read the goroutine profile: {out}")
        print(out, flush=True)
        samples = out.split("-----------+")
        for f in prog.facts():
            if f.get("_") != "blocked":
                continue
            mine = [smp for smp in samples if re.search(rf"^\s*goid:\s+{f['goid']}$", smp, re.M)]
            check(len(mine) == 1, f"goroutine {f['goid']} is not exactly one sample of the profile")
            check(re.search(rf"^\s*wait_reason:\s+{re.escape(f['reason'])}$", mine[0], re.M),
                  f"goroutine {f['goid']}'s sample lacks wait_reason {f['reason']!r}: {mine[0]}")
            check(re.search(r"^\s+(\d+\s+)?main\.", mine[0], re.M),
                  f"goroutine {f['goid']}'s stack has no main.* frame: {mine[0]}")


def _one(goscope, go, prog_name, variant, text_too):
    prog = GoProgram(testprog(go, variant, prog_name), env={"GOSCOPE_HOLD": "120"}, hold=False)
    try:
        prog.wait_fact(lambda f: f.get("_") == "settled", 60, "FACT settled")
        r, ms = _run_dump(goscope, prog.pid, "--json")
        check(r.returncode == 0, f"goscope dump exited {r.returncode}: {r.stderr}")
        ours = json.loads(r.stdout)
        if text_too:
            t, _ = _run_dump(goscope, prog.pid)
            check(t.returncode == 0, f"goscope dump (text) exited {t.returncode}")
            print(t.stdout, flush=True)
            for f in prog.facts():
                if f.get("_") == "blocked":
                    check(re.search(rf"^goroutine {f['goid']} \[{re.escape(f['reason'])}[,\]]", t.stdout, re.M),
                          f"text dump lacks 'goroutine {f['goid']} [{f['reason']}' header")
            t, _ = _run_dump(goscope, prog.pid, "--group=always")
            check(t.returncode == 0, f"goscope dump --group=always exited {t.returncode}")
            print(t.stdout, flush=True)
            for f in prog.facts():
                if f.get("_") == "blocked":
                    one = rf"^goroutine {f['goid']} \[{re.escape(f['reason'])}[,\]]"
                    many = rf"^\d+ goroutines \[{re.escape(f['reason'])}[,\]][^\n]*: (\d+ )*{f['goid']}( |$)"
                    check(re.search(one, t.stdout, re.M) or re.search(many, t.stdout, re.M),
                          f"grouped text dump lacks goroutine {f['goid']} [{f['reason']}]")
            _check_pprof(goscope, go, prog)
        check(prog.proc.poll() is None, "the program is no longer running after goscope dump")
        os.kill(prog.pid, signal.SIGQUIT)
        rc = prog.wait(30)
        check(rc != 0, "program survived SIGQUIT?")
        go_gs = parse_go_dump(prog.err.lines)
    finally:
        prog.kill()
    n = _compare(prog_name, variant, ours, go_gs, prog.facts())
    print(f"ok: go{go} {prog_name}/{variant}: {len(ours['goroutines'])} goroutines read in "
          f"{ours['read_ms']:.1f} ms (command {ms:.0f} ms), {len(go_gs)} in the runtime's dump, "
          f"{n} user goroutines compared", flush=True)


def case_dump_matches_runtime(goscope, go):
    first = True
    for variant in VARIANTS:
        for prog_name in PROGRAMS:
            _one(goscope, go, prog_name, variant, text_too=first)
            first = False



def case_dump_leaves_target_running(goscope, go):
    """Dumps taken while a pipeline runs flat out (goroutines change under the
    reads: torn reads must be marked, never crash goscope or disturb the program),
    then the program must finish normally with the right result."""
    n = 1500000  # the program checks N(N+1)(2N+1)/6 in int64: keep N(N+1)(2N+1) < 2^63
    for variant in ("default", "stripped"):
        prog = GoProgram(testprog(go, variant, "pipeline"), env={"GOSCOPE_N": str(n)}, hold=True)
        dumps, marked = 0, 0
        try:
            prog.release()
            prog.wait_fact(lambda f: f.get("role") == "sink", 30, "the pipeline to start")
            deadline = time.monotonic() + 60
            while prog.proc.poll() is None and time.monotonic() < deadline:
                r = subprocess.run([goscope, "dump", "-p", str(prog.pid), "--json", "--fail-on", "never"], capture_output=True,
                                   text=True, timeout=60)
                if r.returncode != 0:
                    # Fine only if the program was finishing: it may still be
                    # tearing down (memory gone, not yet a zombie) for a moment.
                    try:
                        prog.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        raise CaseFailed(f"goscope dump failed on a live program: {r.stderr}")
                    break
                d = json.loads(r.stdout)
                check(d["goroutines"], "a dump without goroutines")
                marked += sum(1 for g in d["goroutines"] if g["inconsistent"] or g["stack_state"] == "torn")
                dumps += 1
            rc = prog.wait(120)
        finally:
            prog.kill()
        check(rc == 0, f"pipeline exited {rc} after being dumped")
        want = n * (n + 1) * (2 * n + 1) // 6
        results = [f for f in prog.facts() if f.get("_") == "result"]
        check(results and int(results[0]["sum"]) == want, f"pipeline result wrong after dumps: {results}")
        check(dumps >= 2, f"only {dumps} dumps while the pipeline ran: make it run longer")
        print(f"ok: go{go} pipeline/{variant}: {dumps} dumps while running ({marked} goroutines marked "
              f"torn or inconsistent), program finished with the right sum", flush=True)

"""Recording, replay and exports end to end: `goscope capture` of every bug
program and of the http server under load, then every file it wrote read by the
tool meant to read it.

- case_record_capture_bugs: each bug program (default variant) is launched by
  `goscope capture --deadlock-after 1s -o DIR -- PROG` (GOSCOPE_HOLD 4 s,
  example_deadlock 8 s). Checked: exit 1; every file of the folder is there and
  not empty; findings.json has the program's rule naming the goroutines and
  objects the program names (the detection vmtests' judge); `goscope report
  DIR/trace.gst` gives the same findings (rule and fingerprint) as the live
  session did, and exit 1; this version's `go tool pprof -top` and `-traces` read
  block, mutex, goroutine and offcpu profiles without the binary, and the
  goroutine profile has a sample labelled with each goroutine of the bug;
  timeline.json parses, has a track per goroutine of the bug, and every flow
  start has its end; report.html names the rule and draws each deadlock's
  wait-for graph (<svg>);
  `goscope export trace.gst -o events.jsonl` writes one JSON object per event.
- case_record_capture_http: `goscope capture -p PID -d 4s` of the http server
  while the test sends it requests: every file is written, pprof reads the
  profiles, the report has no deadlock or leak finding, exit 0.
- once_record_damaged_trace: a recording cut short, and one with a flipped byte,
  still give their readable part with `goscope report` (summary printed, exit 2,
  a warning that says what is wrong and where); a file that is no trace is a
  clear error (exit 2).
"""
import json
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.request

from vmtest import CaseFailed, GoProgram, check, go_tool, parse_fact, testprog
from cases_trace import Trace, say
from cases_detect import BUGS, RULE, Expect, brief, load_findings

CAPTURE_FILES = ("trace.gst", "report.html", "findings.txt", "findings.json", "findings.sarif", "block.pb.gz",
                 "mutex.pb.gz", "goroutine.pb.gz", "offcpu.pb.gz", "block.folded", "offcpu.folded",
                 "timeline.json")
PROFILES = ("block", "mutex", "goroutine", "offcpu")


def _run(argv, timeout=120):
    say("$ " + " ".join(argv))
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    say(f"  (exit {r.returncode})")
    return r


def _same_findings(live, replayed):
    """The findings as (rule, fingerprint): what must survive a round trip."""
    a = sorted((f["rule"], f["fingerprint"]) for f in live)
    b = sorted((f["rule"], f["fingerprint"]) for f in replayed)
    return a == b, a, b


def _check_folder(where, d):
    problems = []
    for name in CAPTURE_FILES:
        p = os.path.join(d, name)
        if not os.path.exists(p) or os.path.getsize(p) == 0:
            problems.append(f"{where}: capture wrote no (or an empty) {name}")
    return problems


def _check_profiles(where, go, d, goids):
    """This version's pprof reads every profile without the binary; the goroutine
    profile has a sample for each of `goids`."""
    problems = []
    for kind in PROFILES:
        path = os.path.join(d, f"{kind}.pb.gz")
        for mode in ("-top", "-traces"):
            rc, out = go_tool(go, ["pprof", "-symbolize=none", mode, path], d)
            if rc != 0:
                problems.append(f"{where}: go tool pprof {mode} cannot read {kind}.pb.gz: {out[-800:]}")
                continue
            if kind == "goroutine" and mode == "-traces":
                for g in goids:
                    if not re.search(rf"^\s*goid:\s+{g}$", out, re.M):
                        problems.append(f"{where}: goroutine profile has no sample labelled goid {g}")
                if not re.search(r"^\s+(\d+\s+)?main\.", out, re.M):
                    problems.append(f"{where}: goroutine profile has no main.* frame: {out[-800:]}")
    return problems


def _check_timeline(where, d, goids):
    problems = []
    with open(os.path.join(d, "timeline.json")) as f:
        try:
            doc = json.load(f)
        except ValueError as e:
            return [f"{where}: timeline.json is not JSON: {e}"]
    events = doc.get("traceEvents", doc if isinstance(doc, list) else [])
    tracks = {e.get("tid") for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"}
    for g in goids:
        if g not in tracks:
            problems.append(f"{where}: timeline.json has no track for goroutine {g} (tracks: {sorted(tracks)[:20]})")
    starts = {e.get("id") for e in events if e.get("ph") == "s"}
    ends = {e.get("id") for e in events if e.get("ph") == "f"}
    if starts != ends:
        problems.append(f"{where}: timeline.json flows without both ends: {sorted(starts ^ ends)[:10]}")
    if not any(e.get("ph") == "X" for e in events):
        problems.append(f"{where}: timeline.json has no slices")
    return problems


def _capture_bug(goscope, go, prog_name, tmp):
    where = f"capture go{go}/{prog_name}"
    d = os.path.join(tmp, prog_name)
    live_path = os.path.join(tmp, prog_name + ".live.json")
    hold = "8" if prog_name == "example_deadlock" else "4"
    env = dict(os.environ)
    env.update({"GOSCOPE_HOLD": hold, "GOTRACEBACK": "all"})
    env.pop("GOSCOPE_WAIT_STDIN", None)
    t = Trace(goscope, ["capture", "--deadlock-after", "1s", "-d", "60s", "--findings", live_path, "-o", d, "--",
                        testprog(go, "default", prog_name)], f"{go}/{prog_name}", env=env)
    try:
        rc = t.wait(float(hold) + 120)
    finally:
        t.kill()
    facts = [f for f in (parse_fact(l) for l in t.out.lines) if f is not None]
    problems = []
    if rc != 1:
        return [f"{where}: goscope capture exited {rc}, expected 1 (findings): {t.err.lines[-15:]}"]
    problems += _check_folder(where, d)
    if problems:
        return problems
    live = load_findings(where + " live", live_path)
    captured = load_findings(where, os.path.join(d, "findings.json"))
    expect = Expect(prog_name, facts)
    verdict, more = expect.judge(captured)
    if verdict != "TP":
        problems.append(f"{where}: findings.json verdict {verdict}: {more}; {brief(captured)}")
    same, a, b = _same_findings(live, captured)
    if not same:
        problems.append(f"{where}: the folder's findings differ from the live session's: live {a}, folder {b}")

    # Round trip: the report of the trace file gives what the live session found.
    rep_path = os.path.join(tmp, prog_name + ".report.json")
    r = _run([goscope, "report", os.path.join(d, "trace.gst"), "--findings", rep_path])
    if r.returncode != 1:
        problems.append(f"{where}: goscope report exited {r.returncode}, expected 1: {r.stderr[-800:]}")
    else:
        same, a, b = _same_findings(live, load_findings(where + " report", rep_path))
        if not same:
            problems.append(f"{where}: report of the trace differs from live: live {a}, report {b}")
        if f"[{RULE[prog_name]} " not in r.stdout:
            problems.append(f"{where}: report's text does not show [{RULE[prog_name]} ...]")

    goids = sorted(expect.goids) if expect.goids is not None else sorted(expect.workers)[:2]
    if prog_name == "example_deadlock":
        goids = []  # which two workers deadlock is the program's choice; the judge checked it
    problems += _check_profiles(where, go, d, goids)
    problems += _check_timeline(where, d, goids)
    with open(os.path.join(d, "report.html"), encoding="utf-8", errors="replace") as f:
        html = f.read()
    if RULE[prog_name] not in html:
        problems.append(f"{where}: report.html does not name the rule {RULE[prog_name]}")
    if RULE[prog_name].startswith("GS1") and "<svg" not in html:
        problems.append(f"{where}: report.html draws no wait-for graph (<svg>) of the deadlock")
    if re.search(r"""(src|href)\s*=\s*["']?https?://""", html):
        problems.append(f"{where}: report.html fetches from the network")

    jsonl = os.path.join(tmp, prog_name + ".jsonl")
    r = _run([goscope, "export", os.path.join(d, "trace.gst"), "-o", jsonl])
    if r.returncode != 0:
        problems.append(f"{where}: export to JSON lines exited {r.returncode}: {r.stderr[-500:]}")
    else:
        with open(jsonl) as f:
            lines = f.read().splitlines()
        try:
            kinds = {json.loads(l)["kind"] for l in lines}
        except (ValueError, KeyError) as e:
            kinds = set()
            problems.append(f"{where}: events.jsonl has a line that is no event object: {e}")
        if "park" not in kinds:
            problems.append(f"{where}: events.jsonl has no park event ({len(lines)} lines, kinds {sorted(kinds)})")
    if not problems:
        say(f"ok: {where}: {RULE[prog_name]} live = report = folder; pprof, timeline, HTML and JSON lines read")
    return problems


def case_record_capture_bugs(goscope, go):
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for prog_name in BUGS:
            try:
                problems += _capture_bug(goscope, go, prog_name, tmp)
            except CaseFailed as e:
                problems.append(f"capture go{go}/{prog_name}: {e}")
    if problems:
        raise CaseFailed("\n".join(problems))


def case_record_capture_http(goscope, go):
    with tempfile.TemporaryDirectory() as tmp:
        prog = GoProgram(testprog(go, "default", "http_server"), env={"GOSCOPE_HOLD": "60"}, hold=False)
        try:
            prog.wait_fact(lambda f: f.get("_") == "serving", 30, "FACT serving")
            addr = next((f["addr"] for f in prog.facts() if f.get("_") == "listen"), None)
            check(addr, f"http_server printed no address: {prog.facts()}")
            stop = threading.Event()
            sent = [0]

            def load():
                while not stop.is_set():
                    try:
                        urllib.request.urlopen(f"http://{addr}/count", timeout=5).read()
                        sent[0] += 1
                    except OSError:
                        time.sleep(0.05)

            loaders = [threading.Thread(target=load, daemon=True) for _ in range(4)]
            for th in loaders:
                th.start()
            d = os.path.join(tmp, "cap")
            r = _run([goscope, "capture", "-p", str(prog.pid), "-d", "4s", "-o", d], timeout=180)
            stop.set()
            for th in loaders:
                th.join(10)
            check(prog.proc.poll() is None, "the http server is not running after goscope capture")
        finally:
            prog.kill()
        where = f"capture go{go}/http_server"
        check(r.returncode == 0, f"{where}: capture exited {r.returncode}, expected 0: {r.stderr[-1500:]}")
        check(sent[0] > 0, f"{where}: no request got through while capturing")
        problems = _check_folder(where, d)
        if not problems:
            problems += _check_profiles(where, go, d, [])
            problems += _check_timeline(where, d, [])
            found = load_findings(where, os.path.join(d, "findings.json"))
            bad = [f for f in found if f["rule"].startswith("GS1") or f["rule"] == "GS201"]
            if bad:
                problems.append(f"{where}: deadlock or leak findings on a healthy server: {brief(bad)}")
            for line in r.stdout.splitlines():
                say(f"  {line}")
        if problems:
            raise CaseFailed("\n".join(problems))
        say(f"ok: {where}: {sent[0]} requests while capturing; every file written and read")


def once_record_damaged_trace(goscope):
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "run.gst")
        env = dict(os.environ)
        env.update({"GOSCOPE_N": "20000"})
        env.pop("GOSCOPE_WAIT_STDIN", None)
        r = subprocess.run([goscope, "record", "--all-ops", "-o", trace, "--", testprog("1.22", "default", "pipeline")],
                           capture_output=True, text=True, timeout=120, env=env)
        check(r.returncode == 0, f"goscope record exited {r.returncode}: {r.stderr[-1500:]}")
        whole = _run([goscope, "report", "--json", trace])
        check(whole.returncode == 0, f"report of the whole trace exited {whole.returncode}: {whole.stderr[-800:]}")
        total = json.loads(whole.stdout)["trace"]["events"]
        check(total > 20000, f"the whole trace has only {total} events")
        with open(trace, "rb") as f:
            data = f.read()

        cut = os.path.join(tmp, "cut.gst")
        with open(cut, "wb") as f:
            f.write(data[: len(data) * 2 // 3])
        r = _run([goscope, "report", "--json", cut])
        check(r.returncode == 2, f"report of a cut trace exited {r.returncode}, expected 2")
        check(re.search(r"WARNING: .*(cut short|ends|truncated)", r.stderr),
              f"report of a cut trace does not say it is cut: {r.stderr[-800:]}")
        got = json.loads(r.stdout)["trace"]["events"]
        check(0 < got < total, f"cut trace: {got} of {total} events read; expected the readable part")
        say(f"ok: a trace cut at 2/3 still gives {got} of {total} events, exit 2, with: {r.stderr.strip()[-300:]}")

        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x40
        bad = os.path.join(tmp, "flipped.gst")
        with open(bad, "wb") as f:
            f.write(flipped)
        r = _run([goscope, "report", "--json", bad])
        check(r.returncode == 2, f"report of a damaged trace exited {r.returncode}, expected 2")
        check(re.search(r"WARNING: .*checksum", r.stderr), f"report does not name the checksum: {r.stderr[-800:]}")
        got = json.loads(r.stdout)["trace"]["events"]
        check(0 < got < total, f"damaged trace: {got} of {total} events read; expected those before the damage")
        say(f"ok: a flipped byte gives {got} of {total} events, exit 2, with: {r.stderr.strip()[-300:]}")

        notrace = os.path.join(tmp, "notes.txt")
        with open(notrace, "w") as f:
            f.write("hello\n" * 100)
        r = _run([goscope, "report", notrace])
        check(r.returncode == 2 and "not a goscope trace" in r.stderr,
              f"report of a text file: exit {r.returncode}, stderr {r.stderr[-500:]!r}")
        r = _run([goscope, "report", os.path.join(tmp, "missing.gst")])
        check(r.returncode == 2 and "missing.gst" in r.stderr, f"report of a missing file: {r.stderr[-500:]!r}")
        say("ok: not-a-trace and missing files are clear errors, exit 2")

"""`goscope stat`: counters per process, thread and goroutine, and the CPU
profile, against tests/testprogs/cpu_spin, which says which goroutine burns the
CPU (`FACT goid=<g> role=hot`, spinning in main.burn) and which ones do next to
nothing (role=idle, main.idle) or spin too (role=worker, main.work).

Per Go version of the matrix (default variant; the program is launched by
goscope, `stat ... -- cpu_spin`, unless said otherwise):

- case_stat_consistency: 1 hot + 2 workers + 5 idle, `-d 3s --json`: exit 0;
  the default counters, hardware ones "not supported" exactly when there is no
  PMU; task-clock and context-switches counted and > 0; the parts add up to the
  whole (process = threads, goroutines + unattributed = process), the goroutines
  carry most of the CPU and the three spinning goroutines most of that (the
  tolerances and their reasons are at TOLERANCES below); goroutines sorted by
  task-clock; the workers in main.work.
- case_stat_hot_goroutine: 1 hot + 5 idle: in JSON the hot goroutine is first, in
  main.burn, with >= 80% of the goroutines' task-clock, and every idle goroutine
  is listed with a small task-clock; the CPU samples (on by default) are on the
  hot goroutine and its current function is main.burn; in text, perf stat's
  layout, the hot goid first in the top-goroutines table, each hardware counter
  once as "<not supported>" and the PMU note once (no PMU), or counted (PMU).
- case_stat_cpu_profile: `-o cpu.pb.gz` read by this version's `go tool pprof`:
  type cpu, top flat function main.burn, samples ~ 99 Hz x the CPU time the
  process used (its task-clock), as many as stat's JSON says, `-tags` has the
  hot goid with most samples; `-o cpu.folded`: the heaviest stack ends in
  main.burn.
- case_stat_attach: `stat -p PID -d 2s --json` on a cpu_spin already spinning:
  the hot goroutine (created before the attach) is first, in main.burn; the
  threads are those of /proc/PID/task; the program keeps running after stat.
- case_capture_cpu: `goscope capture -d 3s -o DIR -- cpu_spin` also writes
  cpu.pb.gz (pprof top = main.burn, goid label of the hot goroutine) and
  cpu.folded, beside every other file of the folder; exit 0 (no finding).

Once:

- once_stat_hardware: with a hardware PMU (sysfs cpu or cpu_core): cycles and
  instructions counted and > 0, "insn per cycle" printed; without: their rows
  "<not supported>", the note once, software counters counted, exit 0. Both:
  `-e task-clock,cycles` measures exactly those two.
- once_stat_errors: unknown -e name, a dead PID, a bad -d, a program that is not
  Go, no target: exit 2, a message naming the problem, no crash, and no test
  program left running.

Every JSON document must name the program (pid, command, Go version as the
program printed them) and its threads by the program's name (comm); the thread
names and the per-goroutine samples are reported at the end of a case, so that
a wrong name does not hide the rest.

GOSCOPE_VMTEST_KEEP=DIR keeps goscope's output of every run in DIR.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from vmtest import CaseFailed, GoProgram, check, go_tool, parse_fact, testprog
from cases_trace import say
from cases_record import _check_folder

PROG = "cpu_spin"
HOLD = "60"  # the program spins longer than any stat run; goscope ends it (launched) or the case kills it
SOFTWARE = ("task-clock", "context-switches", "cpu-migrations", "page-faults")
HARDWARE = ("cycles", "instructions", "cache-references", "cache-misses", "branches", "branch-misses",
            "stalled-cycles-frontend", "stalled-cycles-backend")
DEFAULT_EVENTS = SOFTWARE + HARDWARE
PMU_NOTE = "no hardware PMU"
SAMPLE_HZ = 99  # stat's default -F

# TOLERANCES (case_stat_consistency), and why:
# - process vs the sum of its threads, 2%: the process's counters are the sum over
#   its threads' (model::StatResult), so they differ only by rounding and by a
#   thread read a moment apart from the others.
# - goroutines + unattributed vs the process, 5%: both come from the same thread
#   counters, split at the goroutine switches (runtime.execute / schedule); a
#   slice open when the session starts or ends, and the probes' own time around a
#   switch, may fall on either side or be lost.
# - goroutines alone >= 70% of the process: cpu_spin allocates nothing (no GC),
#   so what runs outside goroutines is the scheduler and the timer / sleep
#   wake-ups of 5 idle goroutines: a few percent at most, even on a loaded machine.
# - hot + 2 workers >= 80% of the goroutines: the other goroutines (5 idle ones
#   waking 20 times a second for a few hundred additions, main asleep) use well
#   under 1% of a CPU against ~2 CPUs of spinning.
TOL_THREADS = 0.02
TOL_SPLIT = 0.05
MIN_GOROUTINE_SHARE = 0.70
MIN_SPINNERS_SHARE = 0.80
MIN_HOT_SHARE = 0.80  # one spinner against idle goroutines (hot_goroutine, attach, profile labels)
MAX_IDLE_VS_HOT = 0.05  # an idle goroutine's task-clock against the hot one's


# ---------------------------------------------------------------- plumbing

def has_pmu():
    return any(os.path.exists(f"/sys/bus/event_source/devices/{d}") for d in ("cpu", "cpu_core"))


def _env(extra=None):
    env = dict(os.environ)
    env.pop("GOSCOPE_WAIT_STDIN", None)  # goscope holds the program it launches itself
    env.update({"GOTRACEBACK": "all", "GOSCOPE_HOLD": HOLD})
    env.update(extra or {})
    return env


def _keep(where, text):
    d = os.environ.get("GOSCOPE_VMTEST_KEEP")
    if d:
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, re.sub(r"[/ ]", "_", where) + ".out"), "w") as f:
            f.write(text)


def _crashed(r):
    """Why the run looks like a crash, or None."""
    if r.returncode < 0:
        return f"killed by signal {-r.returncode}"
    for needle in ("Segmentation", "terminate called", "Aborted", "core dumped", "AddressSanitizer",
                   "runtime error", "Traceback"):
        if needle in r.stderr:
            return f"stderr says {needle!r}"
    return None


class StatRun:
    """One `goscope ARGS...` run to its end: exit code, stdout split into the
    launched program's FACT lines and goscope's own output, stderr."""

    def __init__(self, goscope, args, where, env=None, timeout=120):
        self.where = where
        argv = [goscope] + list(args)
        say(f"[{where}] $ " + " ".join(argv))
        t0 = time.monotonic()
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise CaseFailed(f"{where}: goscope did not finish within {timeout}s: {e.stderr!r}")
        self.elapsed = time.monotonic() - t0
        self.rc, self.stdout, self.stderr = r.returncode, r.stdout, r.stderr
        lines = r.stdout.splitlines()
        self.facts = [f for f in (parse_fact(l) for l in lines) if f is not None]
        self.own = "\n".join(l for l in lines if not l.startswith("FACT "))
        _keep(where, f"$ {' '.join(argv)}\nexit {r.returncode}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}")
        say(f"[{where}] exit {self.rc} after {self.elapsed:.1f}s")
        shown = [l for l in lines if l.startswith("FACT ")] + (self.own.splitlines()[:150] if not
                                                                 self.own.lstrip().startswith("{") else [])
        for l in shown:
            say(f"[{where} stdout] {l}")
        for l in r.stderr.splitlines()[-40:]:
            say(f"[{where} stderr] {l}")
        crash = _crashed(r)
        check(crash is None, f"{where}: goscope crashed ({crash}): {r.stderr[-2000:]}")

    def expect_rc(self, want):
        check(self.rc == want, f"{self.where}: goscope exited {self.rc}, expected {want}: {self.stderr[-2000:]}")

    def fact(self, fact_kind=None, **kv):
        """The first FACT line of kind `fact_kind` (None: a fact without a kind) with these key=values."""
        for f in self.facts:
            if f.get("_") == fact_kind and all(f.get(k) == v for k, v in kv.items()):
                return f
        raise CaseFailed(f"{self.where}: the program printed no FACT {fact_kind or ''} {kv}: {self.facts}")

    def json(self):
        """goscope's stdout must be exactly one JSON object (besides the program's FACT lines)."""
        try:
            doc = json.loads(self.own)
        except ValueError as e:
            raise CaseFailed(f"{self.where}: --json output is not one JSON object ({e}): {self.own[:1500]!r}")
        check(isinstance(doc, dict), f"{self.where}: --json output is not an object: {self.own[:500]!r}")
        return doc


def _goids(run):
    """hot goid, idle goids, worker goids from the program's facts."""
    hot = int(run.fact(role="hot")["goid"])
    settled = run.fact("settled", kind="cpu")
    check(int(settled["hot"]) == hot, f"{run.where}: settled hot={settled['hot']} but role=hot goid={hot}")
    idle = [int(f["goid"]) for f in run.facts if f.get("role") == "idle"]
    workers = [int(f["goid"]) for f in run.facts if f.get("role") == "worker"]
    check(len(idle) == int(settled["idle"]) and len(workers) == int(settled["workers"]),
          f"{run.where}: facts name {len(idle)} idle and {len(workers)} workers, settled says {settled}")
    return hot, idle, workers


def value(where, counters, name, what):
    """The scaled value of a counted counter; fails when it is not counted."""
    c = counters.get(name)
    check(isinstance(c, dict), f"{where}: {what} has no counter {name!r}: {sorted(counters)}")
    check(c.get("state") == "counted" and isinstance(c.get("value"), (int, float)),
          f"{where}: {what}: {name} is not counted: {c}")
    return float(c["value"])


def task_clock(counters):
    """task-clock in ns, 0 when not counted (a goroutine that never ran in the window)."""
    c = counters.get("task-clock", {})
    return float(c["value"]) if c.get("state") == "counted" and "value" in c else 0.0


def _check_doc_shape(where, doc, facts=None, pid=None):
    """The keys of the JSON document, the target it names (pid, command, Go version
    as the program printed them: `facts`, or `pid` alone), the counter objects."""
    for key in ("pid", "command", "go_version", "duration_ns", "pmu", "counters", "process", "threads",
                "per_goroutine", "per_goroutine_note", "goroutines", "sites", "unattributed", "samples",
                "lost_samples", "notes"):
        check(key in doc, f"{where}: --json has no {key!r}: keys {sorted(doc)}")
    if facts is not None:
        start = next(f for f in facts if f.get("_") == "start")
        pid = int(start["pid"])
        check(doc["go_version"] == start["go"], f"{where}: go_version {doc['go_version']!r}, the program runs "
              f"{start['go']}")
    if pid is not None:
        check(doc["pid"] == pid, f"{where}: pid {doc['pid']}, the program is {pid}")
    check(PROG in doc["command"], f"{where}: command {doc['command']!r} does not name {PROG}")
    check(doc["per_goroutine"] is True,
          f"{where}: no per-goroutine counts: per_goroutine_note {doc['per_goroutine_note']!r}, notes {doc['notes']}")
    for c in [doc["process"], doc["unattributed"]] + [t["counters"] for t in doc["threads"]] + \
            [g["counters"] for g in doc["goroutines"]] + [s["counters"] for s in doc["sites"]]:
        for name, v in c.items():
            check(v.get("state") in ("counted", "not counted", "not supported"), f"{where}: {name} state {v}")
            check(("value" in v) == (v["state"] == "counted"), f"{where}: {name}: value iff counted: {v}")


def thread_name_problems(where, doc):
    """Every thread of the program is named as the program (comm), however it was
    started. Collected and raised at the end of a case, so that the rest of the
    case runs anyway."""
    bad = [(t["tid"], t["name"]) for t in doc["threads"] if t["name"] != PROG]
    if bad:
        return [f"{where}: threads named otherwise than {PROG!r}: {bad} "
                f"(all: {[(t['tid'], t['name']) for t in doc['threads']]})"]
    return []


def raise_late(problems):
    if problems:
        raise CaseFailed("\n".join(problems))


def _check_pmu(where, doc):
    """Hardware counters are "not supported" exactly when there is no PMU, and the
    JSON agrees with sysfs about the PMU."""
    pmu = has_pmu()
    check(doc["pmu"]["hardware"] is pmu,
          f"{where}: pmu.hardware is {doc['pmu']['hardware']}, sysfs says {'a' if pmu else 'no'} PMU")
    if not pmu:
        check(PMU_NOTE in doc["pmu"]["note"], f"{where}: pmu.note does not say {PMU_NOTE!r}: {doc['pmu']}")
    for c in doc["counters"]:
        st = doc["process"][c["name"]]["state"]
        if c["hardware"]:
            check((st == "not supported") == (not pmu),
                  f"{where}: hardware counter {c['name']} is {st!r} with{'' if pmu else ' no'} PMU")
        else:
            check(st == "counted", f"{where}: software counter {c['name']} is {st!r}")


def _by_goid(doc):
    return {g["goid"]: g for g in doc["goroutines"]}


# ---------------------------------------------------------------- pprof and folded

def _pprof(where, go, args, cwd):
    rc, out = go_tool(go, ["pprof", "-symbolize=none"] + args, cwd)
    say(f"[{where}] go tool pprof {' '.join(args)} -> exit {rc}\n" +
        "\n".join("    " + l for l in out.splitlines()[:25]))
    check(rc == 0, f"{where}: go{go} tool pprof {' '.join(args)} failed: {out[-1500:]}")
    return out


def pprof_top_flat(where, out):
    """The function of the first row of `pprof -top` (highest flat)."""
    lines = out.splitlines()
    head = next((i for i, l in enumerate(lines) if re.match(r"^\s+flat\s+flat%\s+sum%\s+cum\s+cum%", l)), None)
    check(head is not None and head + 1 < len(lines), f"{where}: pprof -top printed no table: {out[-1500:]}")
    return lines[head + 1].split()[-1]


def pprof_total(where, out):
    m = re.search(r"of ([\d.]+) total", out)
    check(m, f"{where}: pprof -top printed no total: {out[:800]}")
    return float(m.group(1))


def pprof_goid_tags(where, out):
    """[(count, percent, goid)] of the goid label, as `pprof -tags` lists them (most first)."""
    lines = out.splitlines()
    start = next((i for i, l in enumerate(lines) if re.match(r"^\s*goid: Total", l)), None)
    check(start is not None, f"{where}: pprof -tags shows no goid label: {out[-1500:]}")
    tags = []
    for l in lines[start + 1:]:
        m = re.match(r"^\s*([\d.]+)\s*\(\s*([\d.]+)%\):\s*(\S+)\s*$", l)
        if not m:
            break
        tags.append((float(m.group(1)), float(m.group(2)), m.group(3)))
    check(tags, f"{where}: the goid label has no values: {out[-1500:]}")
    return tags


def check_cpu_pprof(where, go, path, hot, cwd):
    """pprof reads the profile as a CPU profile; main.burn is on top; the hot
    goroutine carries most samples. Returns the number of samples."""
    check(os.path.exists(path) and os.path.getsize(path) > 0, f"{where}: no (or an empty) {path}")
    out = _pprof(where, go, ["-top", path], cwd)
    check(re.search(r"^Type: cpu$", out, re.M), f"{where}: the profile's default type is not cpu: {out[:500]}")
    top = pprof_top_flat(where, out)
    check(top == "main.burn", f"{where}: top flat function is {top!r}, expected main.burn: {out[-1500:]}")
    n = pprof_total(where, _pprof(where, go, ["-sample_index=samples", "-top", path], cwd))
    tags = pprof_goid_tags(where, _pprof(where, go, ["-sample_index=samples", "-tags", path], cwd))
    check(tags[0][2] == str(hot) and tags[0][1] >= 100 * MIN_HOT_SHARE,
          f"{where}: the hot goroutine {hot} should have >= {100 * MIN_HOT_SHARE:.0f}% of the samples; "
          f"goid tags: {tags[:8]}")
    return n


def read_folded(where, path):
    check(os.path.exists(path) and os.path.getsize(path) > 0, f"{where}: no (or an empty) {path}")
    stacks = []
    with open(path) as f:
        for l in f.read().splitlines():
            m = re.match(r"^(\S.*) (\d+)$", l)
            check(m, f"{where}: {os.path.basename(path)} has a line that is not 'frames count': {l!r}")
            stacks.append((m.group(1).split(";"), int(m.group(2))))
    return stacks


def check_folded(where, path):
    stacks = read_folded(where, path)
    frames, n = max(stacks, key=lambda s: s[1])
    check(frames[-1] == "main.burn", f"{where}: the heaviest folded stack ({n}) ends in {frames[-1]!r}, not "
          f"main.burn: {';'.join(frames)}")
    total = sum(c for _, c in stacks)
    burn = sum(c for fr, c in stacks if fr[-1] == "main.burn")
    check(burn >= MIN_HOT_SHARE * total, f"{where}: stacks ending in main.burn have {burn} of {total} samples")
    say(f"ok: {where}: folded: {len(stacks)} stacks, {total} samples, {burn} end in main.burn")


# ---------------------------------------------------------------- cases

def case_stat_consistency(goscope, go):
    where = f"stat go{go} consistency"
    run = StatRun(goscope, ["stat", "-d", "3s", "--json", "--", testprog(go, "default", PROG)], where,
                  env=_env({"GOSCOPE_WORKERS": "2", "GOSCOPE_IDLE": "5"}))
    run.expect_rc(0)
    hot, idle, workers = _goids(run)
    doc = run.json()
    _check_doc_shape(where, doc, run.facts)
    names = [c["name"] for c in doc["counters"]]
    check(sorted(names) == sorted(DEFAULT_EVENTS), f"{where}: default counters {names}, expected {DEFAULT_EVENTS}")
    for c in doc["counters"]:
        check(c["hardware"] == (c["name"] in HARDWARE), f"{where}: counter {c} hardware flag wrong")
        check(c["unit"] == ("ns" if c["name"] == "task-clock" else "count"), f"{where}: counter {c} unit wrong")
    _check_pmu(where, doc)
    dur = doc["duration_ns"] / 1e9
    check(2.8 <= dur <= 4.5, f"{where}: duration {dur:.3f}s for -d 3s")

    proc = value(where, doc["process"], "task-clock", "the process")
    cs = value(where, doc["process"], "context-switches", "the process")
    check(proc > 0 and cs > 0, f"{where}: process task-clock {proc}, context-switches {cs}: expected > 0")
    ncpu = os.cpu_count()
    check(proc <= dur * 1e9 * ncpu * 1.05,
          f"{where}: task-clock {proc / 1e6:.1f} ms in {dur:.2f}s on {ncpu} CPUs is more than the machine has")

    threads = sum(task_clock(t["counters"]) for t in doc["threads"])
    check(abs(proc - threads) <= TOL_THREADS * proc,
          f"{where}: process task-clock {proc / 1e6:.2f} ms, its {len(doc['threads'])} threads sum to "
          f"{threads / 1e6:.2f} ms (tolerance {TOL_THREADS:.0%})")

    gs = sum(task_clock(g["counters"]) for g in doc["goroutines"])
    un = task_clock(doc["unattributed"])
    check(abs(gs + un - proc) <= TOL_SPLIT * proc,
          f"{where}: goroutines {gs / 1e6:.2f} ms + unattributed {un / 1e6:.2f} ms = {(gs + un) / 1e6:.2f} ms, "
          f"process {proc / 1e6:.2f} ms (tolerance {TOL_SPLIT:.0%})")
    check(gs >= MIN_GOROUTINE_SHARE * proc,
          f"{where}: goroutines have {gs / 1e6:.2f} ms of the process's {proc / 1e6:.2f} ms "
          f"({gs / proc:.1%} < {MIN_GOROUTINE_SHARE:.0%})")

    by = _by_goid(doc)
    for g in [hot] + workers:
        check(g in by, f"{where}: spinning goroutine {g} missing from goroutines {sorted(by)}")
    check(by[hot]["function"] == "main.burn", f"{where}: hot goroutine {hot} function {by[hot]['function']!r}")
    for g in workers:
        check(by[g]["function"] == "main.work", f"{where}: worker {g} function {by[g]['function']!r}")
    spin = sum(task_clock(by[g]["counters"]) for g in [hot] + workers)
    check(spin >= MIN_SPINNERS_SHARE * gs,
          f"{where}: hot + workers have {spin / 1e6:.2f} ms of the goroutines' {gs / 1e6:.2f} ms "
          f"({spin / gs:.1%} < {MIN_SPINNERS_SHARE:.0%})")
    tcs = [task_clock(g["counters"]) for g in doc["goroutines"]]
    check(tcs == sorted(tcs, reverse=True), f"{where}: goroutines not sorted by task-clock: {tcs[:12]}")
    late = thread_name_problems(where, doc)
    say(f"ok: {where}: process {proc / 1e6:.1f} ms = threads {threads / 1e6:.1f} ms; goroutines "
        f"{gs / 1e6:.1f} ms + unattributed {un / 1e6:.1f} ms; hot + workers {spin / gs:.1%} of the goroutines; "
        f"{cs:.0f} context switches")
    raise_late(late)


def case_stat_hot_goroutine(goscope, go):
    path = testprog(go, "default", PROG)
    where = f"stat go{go} hot --json"
    run = StatRun(goscope, ["stat", "-d", "3s", "--json", "--", path], where, env=_env())
    run.expect_rc(0)
    hot, idle, _ = _goids(run)
    doc = run.json()
    _check_doc_shape(where, doc, run.facts)
    check(doc["goroutines"], f"{where}: no goroutines: {doc['per_goroutine_note']!r}")
    top = doc["goroutines"][0]
    check(top["goid"] == hot, f"{where}: first goroutine is {top['goid']} ({top['function']}), the hot one is {hot}")
    check(top["function"] == "main.burn", f"{where}: hot goroutine's function is {top['function']!r}")
    gs = sum(task_clock(g["counters"]) for g in doc["goroutines"])
    hot_tc = task_clock(top["counters"])
    check(hot_tc >= MIN_HOT_SHARE * gs,
          f"{where}: hot goroutine has {hot_tc / 1e6:.2f} of {gs / 1e6:.2f} ms ({hot_tc / max(gs, 1):.1%})")
    # CPU sampling is on by default (-F 99): the samples that hit the hot goroutine
    # are counted on it, and its last one says where it is. (Reported at the end,
    # like the thread names: the text output is checked anyway.)
    late = []
    if not doc["samples"] > 0:
        late.append(f"{where}: no CPU samples at the default -F 99")
    elif top["samples"] < MIN_HOT_SHARE * doc["samples"]:
        late.append(f"{where}: {top['samples']} of {doc['samples']} CPU samples are on the hot goroutine")
    if top["current"] != "main.burn":
        late.append(f"{where}: hot goroutine's current function is {top['current']!r}, expected main.burn")
    by = _by_goid(doc)
    for g in idle:
        check(g in by, f"{where}: idle goroutine {g} (wakes every 50 ms) not listed: {sorted(by)}")
        check(by[g]["function"] == "main.idle", f"{where}: idle goroutine {g} function {by[g]['function']!r}")
        check(by[g]["slices"] >= 5, f"{where}: idle goroutine {g} ran {by[g]['slices']} times in 3 s (every 50 ms)")
        tc = task_clock(by[g]["counters"])
        check(tc <= MAX_IDLE_VS_HOT * hot_tc,
              f"{where}: idle goroutine {g} used {tc / 1e6:.3f} ms against the hot one's {hot_tc / 1e6:.1f} ms")
    site = [s for s in doc["sites"] if s["goroutines"] == len(idle)]
    check(site, f"{where}: no creation site with the {len(idle)} idle goroutines: "
          f"{[(s['created_at'], s['goroutines']) for s in doc['sites']]}")
    late += thread_name_problems(where, doc)
    say(f"ok: {where}: goroutine {hot} in main.burn first with {hot_tc / gs:.1%}; {len(idle)} idle listed, small")

    where = f"stat go{go} hot text"
    run = StatRun(goscope, ["stat", "-d", "3s", "--", path], where, env=_env())
    run.expect_rc(0)
    hot, _, _ = _goids(run)
    pid = int(run.fact("start")["pid"])
    text = run.own
    check(re.search(rf"Performance counter stats for process {pid}\b", text),
          f"{where}: no 'Performance counter stats for process {pid}' header:\n{text[:1500]}")
    check(re.search(r"^\s*[\d,]+\.\d+\s+msec\s+task-clock\s+#\s+[\d.]+\s+CPUs utilized", text, re.M),
          f"{where}: no task-clock row with 'CPUs utilized':\n{text[:1500]}")
    check(re.search(r"^\s*[\d,]+\s+context-switches\b", text, re.M), f"{where}: no context-switches row")
    check(re.search(r"^\s*\d+\.\d{9} seconds time elapsed", text, re.M), f"{where}: no 'seconds time elapsed'")
    _check_hardware_rows(where, text, run.stdout + run.stderr)
    lines = text.splitlines()
    i = next((k for k, l in enumerate(lines) if "Top goroutines" in l), None)
    check(i is not None, f"{where}: no 'Top goroutines' table:\n{text[-2500:]}")
    first = next((l for l in lines[i + 1:] if re.match(r"^\s*\d+\s", l)), None)
    check(first is not None and int(first.split()[0]) == hot,
          f"{where}: the top-goroutines table starts with {first!r}, expected goroutine {hot}:\n"
          + "\n".join(lines[i:i + 12]))
    say(f"ok: {where}: perf-stat layout, goroutine {hot} first in the table")
    raise_late(late)


def _check_hardware_rows(where, text, everything):
    """Without a PMU: one "<not supported>" row per hardware counter and the note
    once (stdout and stderr together); with one: no such row, no note."""
    if not has_pmu():
        for name in HARDWARE:
            rows = re.findall(rf"^\s*<not supported>\s+{re.escape(name)}\s*$", text, re.M)
            check(len(rows) == 1, f"{where}: {len(rows)} '<not supported>  {name}' rows, expected 1:\n{text[:2500]}")
        n = everything.count(PMU_NOTE)
        check(n == 1, f"{where}: the note {PMU_NOTE!r} is printed {n} times, expected once")
    else:
        check("<not supported>" not in text, f"{where}: '<not supported>' rows with a PMU:\n{text[:2500]}")
        check(PMU_NOTE not in everything, f"{where}: says {PMU_NOTE!r} on a machine with one")


def case_stat_cpu_profile(goscope, go):
    path = testprog(go, "default", PROG)
    with tempfile.TemporaryDirectory() as tmp:
        where = f"stat go{go} -o cpu.pb.gz"
        prof = os.path.join(tmp, "cpu.pb.gz")
        run = StatRun(goscope, ["stat", "-d", "3s", "--json", "-o", prof, "--", path], where, env=_env())
        run.expect_rc(0)
        hot, _, _ = _goids(run)
        doc = run.json()
        _check_doc_shape(where, doc, run.facts)
        n = check_cpu_pprof(where, go, prof, hot, tmp)
        cpu_s = value(where, doc["process"], "task-clock", "the process") / 1e9
        cpus = cpu_s / (doc["duration_ns"] / 1e9)
        # One spinning goroutine: at most a CPU and a bit; less when the machine is busy.
        check(0.3 <= cpus <= 1.3, f"{where}: cpu_spin used {cpus:.2f} CPUs; one spinning goroutine uses ~1")
        want = SAMPLE_HZ * cpu_s
        check(0.6 * want <= n <= 1.4 * want,
              f"{where}: {n:.0f} samples for {cpu_s:.2f} CPU-seconds at {SAMPLE_HZ} Hz (~{want:.0f} expected)")
        check(abs(n - doc["samples"]) <= max(2, 0.01 * n),
              f"{where}: the profile has {n:.0f} samples, stat's JSON says {doc['samples']}")
        late = thread_name_problems(where, doc)
        say(f"ok: {where}: main.burn on top, {n:.0f} samples for {cpu_s:.2f} CPU-s (~{want:.0f}), goid {hot} first")

        where = f"stat go{go} -o cpu.folded"
        folded = os.path.join(tmp, "cpu.folded")
        run = StatRun(goscope, ["stat", "-d", "3s", "-o", folded, "--", path], where, env=_env())
        run.expect_rc(0)
        check_folded(where, folded)
        raise_late(late)


def case_stat_attach(goscope, go):
    where = f"stat go{go} -p PID"
    prog = GoProgram(testprog(go, "default", PROG), env={"GOSCOPE_HOLD": HOLD}, hold=False)
    try:
        settled = prog.wait_fact(lambda f: f.get("_") == "settled", 30, "FACT settled")
        hot = int(settled["hot"])
        time.sleep(0.3)  # the hot goroutine has been spinning for a while when stat attaches
        task_dir = f"/proc/{prog.pid}/task"
        before = {int(t) for t in os.listdir(task_dir)}
        run = StatRun(goscope, ["stat", "-p", str(prog.pid), "-d", "2s", "--json"], where)
        after = {int(t) for t in os.listdir(task_dir)}
        alive = prog.proc.poll() is None
    finally:
        prog.kill()
    run.expect_rc(0)
    check(alive, f"{where}: cpu_spin is not running after goscope stat detached")
    doc = run.json()
    _check_doc_shape(where, doc, prog.facts())
    dur = doc["duration_ns"] / 1e9
    check(1.8 <= dur <= 3.5, f"{where}: duration {dur:.3f}s for -d 2s")
    check(doc["goroutines"], f"{where}: no goroutines: {doc['per_goroutine_note']!r}")
    top = doc["goroutines"][0]
    check(top["goid"] == hot, f"{where}: first goroutine is {top['goid']} ({top['function']}), the hot one is {hot}")
    check(top["function"] == "main.burn", f"{where}: hot goroutine's function is {top['function']!r}")
    gs = sum(task_clock(g["counters"]) for g in doc["goroutines"])
    check(task_clock(top["counters"]) >= MIN_HOT_SHARE * gs,
          f"{where}: hot goroutine has {task_clock(top['counters']) / 1e6:.2f} of {gs / 1e6:.2f} ms")
    value(where, doc["process"], "task-clock", "the process")
    tids = {t["tid"]: t for t in doc["threads"]}
    check(len(tids) >= 2, f"{where}: {len(tids)} threads listed; a Go program has several")
    missing = (before & after) - set(tids)
    check(not missing, f"{where}: threads {sorted(missing)} of /proc/{prog.pid}/task not listed: {sorted(tids)}")
    for tid, t in tids.items():
        check(tid in before | after or t["exited"],
              f"{where}: thread {tid} is neither in /proc/{prog.pid}/task ({sorted(before | after)}) nor exited")
    late = thread_name_problems(where, doc)
    say(f"ok: {where}: goroutine {hot} first in main.burn; threads {sorted(tids)} vs /proc {sorted(before)}; "
        f"the program kept running")
    raise_late(late)


def case_capture_cpu(goscope, go):
    where = f"capture go{go} cpu_spin"
    with tempfile.TemporaryDirectory() as tmp:
        d = os.path.join(tmp, "cap")
        run = StatRun(goscope, ["capture", "-d", "3s", "-o", d, "--", testprog(go, "default", PROG)], where,
                      env=_env(), timeout=180)
        run.expect_rc(0)
        hot, _, _ = _goids(run)
        problems = _check_folder(where, d)
        for name in ("cpu.pb.gz", "cpu.folded"):
            p = os.path.join(d, name)
            if not os.path.exists(p) or os.path.getsize(p) == 0:
                problems.append(f"{where}: capture wrote no (or an empty) {name}")
        if problems:
            raise CaseFailed("\n".join(problems) + f"\nfolder: {sorted(os.listdir(d)) if os.path.isdir(d) else '-'}")
        n = check_cpu_pprof(where, go, os.path.join(d, "cpu.pb.gz"), hot, tmp)
        check(n >= SAMPLE_HZ, f"{where}: only {n:.0f} samples in 3 s of a spinning goroutine")
        check_folded(where, os.path.join(d, "cpu.folded"))
        say(f"ok: {where}: cpu.pb.gz ({n:.0f} samples, main.burn on top, goid {hot}) and cpu.folded written")


def once_stat_hardware(goscope):
    path = testprog("1.22", "default", PROG)
    pmu = has_pmu()
    where = f"stat hardware ({'PMU' if pmu else 'no PMU'}) text"
    run = StatRun(goscope, ["stat", "-d", "2s", "--", path], where, env=_env())
    run.expect_rc(0)
    text = run.own
    _check_hardware_rows(where, text, run.stdout + run.stderr)
    for name in SOFTWARE:
        check(re.search(rf"^\s*[\d,]+(\.\d+)?\s+(msec\s+)?{re.escape(name)}\b", text, re.M),
              f"{where}: no counted row for {name}:\n{text[:2000]}")
    if pmu:
        check(re.search(r"^\s*[\d,]+\s+cycles\b", text, re.M), f"{where}: cycles not counted:\n{text[:2000]}")
        check("insn per cycle" in text, f"{where}: no 'insn per cycle' on the instructions row:\n{text[:2000]}")

    where = f"stat hardware ({'PMU' if pmu else 'no PMU'}) json"
    run = StatRun(goscope, ["stat", "-d", "2s", "--json", "--", path], where, env=_env())
    run.expect_rc(0)
    doc = run.json()
    _check_doc_shape(where, doc, run.facts)
    _check_pmu(where, doc)
    for name in ("cycles", "instructions"):
        c = doc["process"][name]
        if pmu:
            check(value(where, doc["process"], name, "the process") > 0, f"{where}: {name} is 0: {c}")
        else:
            check(c["state"] == "not supported" and "value" not in c, f"{where}: {name} without a PMU: {c}")
    for name in SOFTWARE:
        value(where, doc["process"], name, "the process")
    for name in ("task-clock", "context-switches", "page-faults"):
        check(value(where, doc["process"], name, "the process") > 0, f"{where}: {name} is 0 for a launched program")

    late = thread_name_problems(where, doc)

    where = "stat -e task-clock,cycles"
    run = StatRun(goscope, ["stat", "-e", "task-clock,cycles", "-d", "1s", "--json", "--", path], where, env=_env())
    run.expect_rc(0)
    doc = run.json()
    names = [c["name"] for c in doc["counters"]]
    check(names == ["task-clock", "cycles"], f"{where}: counters {names}, expected exactly task-clock, cycles")
    check(sorted(doc["process"]) == ["cycles", "task-clock"], f"{where}: process counters {sorted(doc['process'])}")
    check(value(where, doc["process"], "task-clock", "the process") > 0, f"{where}: task-clock is 0")
    check((doc["process"]["cycles"]["state"] == "counted") == pmu, f"{where}: cycles {doc['process']['cycles']}")
    say(f"ok: stat hardware: {'counted' if pmu else 'not supported, note once'}; software counters counted; -e")
    raise_late(late)


def once_stat_errors(goscope):
    with tempfile.TemporaryDirectory() as tmp:
        # A copy of its own, so that a program left behind can be found by its path.
        prog = os.path.join(tmp, PROG)
        shutil.copy2(testprog("1.22", "default", PROG), prog)
        dead = subprocess.Popen(["/bin/true"])
        dead.wait()

        def expect_error(args, needles, what):
            run = StatRun(goscope, ["stat"] + args, f"stat errors: {what}", env=_env(), timeout=60)
            run.expect_rc(2)
            msg = run.stderr.lower()
            check(any(n.lower() in msg for n in needles),
                  f"stat {args}: stderr does not say {' or '.join(map(repr, needles))}: {run.stderr[-1000:]!r}")
            check(not run.facts or not any(f.get("_") == "settled" for f in run.facts),
                  f"stat {args}: the program ran although the command is wrong: {run.facts}")

        expect_error(["-e", "nosuchevent", "-d", "1s", "--", prog], ["nosuchevent"], "unknown event")
        expect_error(["-e", "task-clock,nosuchevent", "-d", "1s", "--", prog], ["nosuchevent"],
                     "unknown event in a list")
        expect_error(["-p", str(dead.pid), "-d", "1s"], [str(dead.pid)], "dead pid")
        expect_error(["-d", "bogus", "--", prog], ["duration", "bogus"], "bad duration")
        expect_error(["-d", "1s", "--", "/bin/true"], ["not a Go program"], "not Go")
        expect_error(["-d", "1s"], ["-p", "command"], "no target")
        expect_error(["-p", str(os.getpid()), "-d", "1s", "--", prog], ["not both", "both"], "-p and a command")

        left = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.readlink(f"/proc/{p}/exe") == prog:
                        left.append(int(p))
                except OSError:
                    pass
        for p in left:
            os.kill(p, 9)
        check(not left, f"stat errors: the test program was left running: pids {left}")
    say("ok: stat errors: exit 2 with a message naming the problem, no crash, nothing left running")

"""How goscope attaches its runtime hooks on this kernel, and that both ways work.

goscope probes the kernel's BPF features by trying them (src/loader/kernel_features.h)
and says what it found in `goscope inspect` (the "kernel" section) and in the header of
`trace --list-probes`. Checked here:

- inspect: the ring buffer and attach cookies are there (goscope could not run
  otherwise), and uprobe_multi is reported as present exactly when the kernel has the
  uprobe_multi link code, by an oracle that is not goscope's probe: the kernel's own
  symbol bpf_uprobe_multi_link_attach in /proc/kallsyms (a kernel with that code but
  without its PID filter fix must say so: "filter by thread"). The text "hook attach"
  line and --list-probes' header say the same path as the JSON.
- GOSCOPE_UPROBE_MULTI=0 makes both say "one uprobe link per site (no uprobe_multi:
  GOSCOPE_UPROBE_MULTI=0)".
- A live `trace -p` takes the path it announced: while it is attached, goscope's file
  descriptors hold one BPF link of type uprobe_multi and no per-site link, or one
  link of type perf (a uprobe perf event's link) per planned site and no uprobe_multi
  link (link_type in /proc/PID/fdinfo); and with either path every rendezvous of hello_probe is seen (one
  park of one side on the channel, one ready by the other, K in all), nothing is lost,
  and goscope and the program exit 0.

The environment's own GOSCOPE_UPROBE_MULTI is ignored here: each run sets it or not.
"""
import json
import os
import re
import subprocess

from cases_trace import Prog, Trace, check_no_loss, in_prog, parse_events, say
from vmtest import check, parse_fact, testprog

K = 20
MULTI = "uprobe_multi (one link)"
PER_SITE_OVERRIDE = "one uprobe link per site (no uprobe_multi: GOSCOPE_UPROBE_MULTI=0)"


def _env(per_site):
    e = {k: v for k, v in os.environ.items() if k != "GOSCOPE_UPROBE_MULTI"}
    if per_site:
        e["GOSCOPE_UPROBE_MULTI"] = "0"
    return e


def _run(argv, per_site):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                       env=_env(per_site))
    check(p.returncode == 0, f"{' '.join(argv)}: exit {p.returncode}: {p.stderr[-2000:]}")
    return p.stdout


def _kernel_has_uprobe_multi_code():
    with open("/proc/kallsyms") as f:
        return any(line.rstrip("\n").split(" ")[2:3] == ["bpf_uprobe_multi_link_attach"] for line in f)


def _hook_attach_line(text):
    lines = [l for l in text.splitlines() if l.strip().startswith("hook attach")]
    check(len(lines) == 1, f"inspect prints no single 'hook attach' line: {text}")
    return lines[0].strip()[len("hook attach"):].strip()


def _expected_default_path(kernel):
    """The path inspect should announce without the override, judged by the kallsyms oracle."""
    um = kernel["features"]["uprobe_multi"]
    if _kernel_has_uprobe_multi_code():
        if um["supported"] == "no" and "thread" in um["how"]:
            say(f"this kernel has uprobe_multi links without the PID filter fix: {um['how']}")
            return False
        check(um["supported"] == "yes",
              f"the kernel has bpf_uprobe_multi_link_attach, goscope's probe says {um}")
        return True
    check(um["supported"] == "no", f"the kernel has no bpf_uprobe_multi_link_attach, goscope's probe says {um}")
    return False


def _link_types(pid):
    """BPF link types among the open file descriptors of process PID: {type: count}."""
    types = {}
    fd_dir = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fd_dir):
        try:
            with open(os.path.join(fd_dir, fd)) as f:
                m = re.search(r"^link_type:\s*(\S+)", f.read(), re.M)
        except OSError:  # closed meanwhile
            continue
        if m:
            types[m.group(1)] = types.get(m.group(1), 0) + 1
    return types


def _check_inspect(goscope, prog):
    kernel = json.loads(_run([goscope, "inspect", "--json", prog], per_site=False))["kernel"]
    say(f"kernel {kernel['release']}, probed in {kernel['probe_ms']:.2f} ms: "
        + "; ".join(f"{k}={v['supported']}" for k, v in kernel["features"].items()))
    for feature in ("ringbuf", "attach_cookie"):
        f = kernel["features"][feature]
        check(f["supported"] == "yes", f"{feature}: {f} (goscope cannot run without it)")
    multi = _expected_default_path(kernel)
    check(kernel["hook_attach"]["uprobe_multi"] == multi, f"hook_attach {kernel['hook_attach']}, expected "
                                                          f"uprobe_multi={multi}")
    text = _hook_attach_line(_run([goscope, "inspect", prog], per_site=False))
    check(text == kernel["hook_attach"]["text"], f"inspect text says {text!r}, JSON {kernel['hook_attach']}")
    if multi:
        check(text == MULTI, f"inspect says {text!r}, expected {MULTI!r}")
    else:
        check(text.startswith("one uprobe link per site (no uprobe_multi: "), f"inspect says {text!r}")

    forced = json.loads(_run([goscope, "inspect", "--json", prog], per_site=True))["kernel"]["hook_attach"]
    check(forced == {"uprobe_multi": False, "text": PER_SITE_OVERRIDE}, f"with GOSCOPE_UPROBE_MULTI=0: {forced}")
    text = _hook_attach_line(_run([goscope, "inspect", prog], per_site=True))
    check(text == PER_SITE_OVERRIDE, f"inspect with GOSCOPE_UPROBE_MULTI=0 says {text!r}")
    for per_site, want in ((False, kernel["hook_attach"]["text"]), (True, PER_SITE_OVERRIDE)):
        header = _run([goscope, "trace", "--list-probes", "--", prog], per_site).splitlines()[:3]
        check(f"# hook attach: {want}" in header, f"--list-probes header {header}, expected {want!r}")
    return multi


def _check_trace(goscope, go, multi, per_site):
    where = f"go{go}/default/hello_probe ({'GOSCOPE_UPROBE_MULTI=0' if per_site else 'default'})"
    path = testprog(go, "default", "hello_probe")
    nsites = len(json.loads(_run([goscope, "trace", "--list-probes", "--json", "--", path], per_site))["sites"])
    p = Prog(path, where, env={"GOSCOPE_K": str(K), "GOSCOPE_HOLD": "0.1"})
    gs = None
    try:
        gs = Trace(goscope, ["trace", "-p", str(p.pid), "--json"], where, env=_env(per_site))
        gs.wait_attached()
        links = _link_types(gs.proc.pid)
        say(f"{where}: goscope's BPF links while attached: {links} ({nsites} planned sites)")
        if multi and not per_site:
            check(links.get("uprobe_multi") == 1 and not links.get("perf"),
                  f"{where}: expected one uprobe_multi link and no per-site link, found {links}")
        else:
            check(not links.get("uprobe_multi") and links.get("perf") == nsites,
                  f"{where}: expected {nsites} perf links and no uprobe_multi link, found {links}")
        p.release()
        check(p.wait(60) == 0, f"{where}: the program failed under goscope: {p.err.lines[-10:]}")
        check(gs.wait(60) == 0, f"{where}: goscope exited {gs.proc.returncode}: {gs.err.lines[-10:]}")
    finally:
        for proc in (gs, p):
            if proc is not None:
                proc.kill()
    check_no_loss(where, gs.err.lines)
    facts = [f for f in (parse_fact(l) for l in p.out.lines) if f is not None]
    check(any(f.get("_") == "done" for f in facts), f"{where}: the program did not print FACT done")
    roles = {f["role"]: int(f["goid"]) for f in facts if "role" in f and "goid" in f}
    ch = next(f["addr"] for f in facts if f.get("_") == "chan" and f.get("name") == "ch")
    s, r = roles["sender"], roles["receiver"]
    events = parse_events(where, gs.out.lines)
    # In the program's own code: not the FACT printer's waits on stdout's lock.
    ours = [e for e in events if in_prog(e, "hello_probe")]
    parks = [e for e in ours if e.get("kind") == "park" and e.get("object") == ch
             and (e["goid"], e.get("reason")) in ((s, "chan send"), (r, "chan receive"))]
    readies = [e for e in ours if e.get("kind") == "ready" and (e["goid"], e.get("wakee")) in ((s, r), (r, s))]
    check(len(parks) == K and len(readies) == K,
          f"{where}: {len(parks)} parks on ch and {len(readies)} readies between sender and receiver, "
          f"expected {K} of each (one per rendezvous)")
    say(f"ok: {where}: {K} rendezvous seen, {len(events)} events, nothing lost")


def case_kernel_attach_paths(goscope, go):
    """inspect and --list-probes say how hooks attach here (and with the override), and
    a live trace attaches that way and sees every rendezvous of hello_probe either way."""
    multi = _check_inspect(goscope, testprog(go, "default", "hello_probe"))
    for per_site in (False, True):
        _check_trace(goscope, go, multi, per_site)

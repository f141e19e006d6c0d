"""First privileged cases: goscope's BPF object loads on this kernel, a plain
uprobe on a Go runtime function fires once per call, the goroutine id read
through R14 is the one the program itself reports, and the caller is
symbolized, on every build variant (stripped ones use the offsets table)."""
from vmtest import CaseFailed, GoProgram, Goscope, check, parse_fact, testprog

SENDS = 5
VARIANTS = ("default", "stripped", "pie", "pie-stripped", "noinline")


def _sender_goid(facts):
    senders = [f for f in facts if f.get("role") == "sender" and "goid" in f]
    check(len(senders) == 1, f"expected one 'FACT goid=N role=sender' line, got {senders}")
    return int(senders[0]["goid"])


def _chan_addr(facts):
    chans = [f for f in facts if f.get("_") == "chan" and f.get("name") == "ch"]
    check(chans, "program did not print 'FACT chan name=ch addr=...'")
    return int(chans[0]["addr"], 16)


def _check_hits(all_hits, sender, chan):
    # RAX is chansend1's first argument, the channel: keep the program's own
    # channel (the runtime sends on channels of its own while starting up).
    hits = [h for h in all_hits if int(h["args"][0], 16) == chan]
    check(len(hits) == SENDS, f"expected {SENDS} runtime.chansend1 hits, got {len(hits)}: {hits}")
    for h in hits:
        check(h["func"] == "runtime.chansend1", f"unexpected function in {h}")
        check(h["goid"] == sender, f"hit has goid {h['goid']}, the program says the sender is {sender}: {h}")
        check(int(h["caller"], 16) != 0, f"no caller address in {h}")
        # The caller is the sender goroutine's closure in main.main, symbolized
        # from .gopclntab (also in stripped binaries).
        check(h["caller_func"].startswith("main.main.func") and "hello_probe/main.go:" in h["caller_func"],
              f"caller not symbolized as the sender closure: {h['caller_func']!r}")


def case_probe_goid_attach(goscope, go):
    """Attach by PID to a running program held before its work."""
    for variant in VARIANTS:
        prog = GoProgram(testprog(go, variant, "hello_probe"), env={"GOSCOPE_K": str(SENDS)})
        try:
            gs = Goscope(goscope, ["probe", "-p", str(prog.pid), "-f", "runtime.chansend1",
                                   "--json", "-n", str(SENDS), "-d", "60s"])
            gs.wait_attached()
            prog.release()
            rc = gs.wait(90)
            check(rc == 0, f"goscope exited {rc}")
            check(prog.wait(30) == 0, "test program failed")
        finally:
            prog.kill()
        facts = prog.facts()
        check(any(f.get("_") == "done" for f in facts), "program did not print FACT done")
        _check_hits(gs.json_lines(), _sender_goid(facts), _chan_addr(facts))
        summary = [l for l in gs.err.lines if "stopped" in l]
        check(summary and " 0 lost" in summary[0], f"goscope reported lost events: {summary}")
        print(f"ok: go{go} {variant}: {SENDS} hits with goid {_sender_goid(facts)}")


def case_probe_goid_launch(goscope, go):
    """Launch with `--`: the child is held before exec until the probe is live,
    so even the first operations of a program that starts at once are seen."""
    for variant in VARIANTS:
        gs = Goscope(goscope, ["probe", "-f", "runtime.chansend1", "--json", "-d", "60s", "--",
                               testprog(go, variant, "hello_probe")])
        rc = gs.wait(90)
        check(rc == 0, f"goscope exited {rc}")
        facts = [f for f in (parse_fact(l) for l in gs.out.lines) if f is not None]
        check(any(f.get("_") == "done" for f in facts), "program did not print FACT done")
        hits = gs.json_lines()
        _check_hits(hits, _sender_goid(facts), _chan_addr(facts))
        early = [h for h in hits if int(h["args"][0], 16) != _chan_addr(facts)]
        print(f"info: {len(early)} runtime-internal chansend1 hits seen before main's work")
        check(any("target exited with status 0" in l for l in gs.err.lines),
              f"goscope did not report the target's clean exit: {gs.err.lines}")
        print(f"ok: go{go} {variant}: launched, {SENDS} hits")

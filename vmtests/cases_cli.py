"""Bad input gets a clear message and exit code 2, never a crash. These run
once (not per Go version): `once_*` cases."""
import os
import subprocess
import tempfile

from vmtest import check, testprog


def _run(goscope, args, timeout=30):
    p = subprocess.run([goscope] + args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    print(f"$ goscope {' '.join(args)}\n  -> exit {p.returncode}: {p.stderr.strip()}")
    return p


def _expect_error(goscope, args, needle):
    p = _run(goscope, args)
    check(p.returncode == 2, f"goscope {args}: exit {p.returncode}, expected 2")
    check(needle in p.stderr, f"goscope {args}: stderr lacks {needle!r}: {p.stderr!r}")
    check("Segmentation" not in p.stderr and "terminate called" not in p.stderr,
          f"goscope {args} crashed: {p.stderr!r}")


def once_cli_errors(goscope):
    hello = testprog("1.22", "default", "hello_probe")
    _expect_error(goscope, ["probe", "-f", "runtime.gopark"], "no target")
    _expect_error(goscope, ["probe", "-p", "1", "-f", "x", "--", hello], "not both")
    _expect_error(goscope, ["probe", "-p", "4194304", "-f", "runtime.gopark"], "no process with PID 4194304")
    _expect_error(goscope, ["probe", "-d", "soon", "-f", "x", "--", hello], "invalid duration")
    _expect_error(goscope, ["probe", "-f", "runtime.gopark", "--", "/bin/true"], "not a Go program")
    _expect_error(goscope, ["probe", "-f", "runtime.gopark", "--", "/nonexistent/prog"], "no such file")
    _expect_error(goscope, ["probe", "-f", "runtime.gopark", "--", "no-such-command-xyz"], "not found in PATH")
    _expect_error(goscope, ["probe", "-f", "main.noSuchFunction", "--", hello], "none of the requested functions")
    with tempfile.NamedTemporaryFile(suffix=".bin") as junk:
        junk.write(b"\x7fELF" + os.urandom(200))
        junk.flush()
        os.chmod(junk.name, 0o755)
        _expect_error(goscope, ["probe", "-f", "runtime.gopark", "--", junk.name], junk.name)
    _expect_error(goscope, ["nosuchcommand"], "unknown command 'nosuchcommand'")
    _expect_error(goscope, ["inspect", "/bin/true"], "not a Go program")
    _expect_error(goscope, ["dump"], "-p")
    _expect_error(goscope, ["dump", "-p", "4194304"], "4194304")
    _expect_error(goscope, ["trace"], "-p")
    _expect_error(goscope, ["trace", "-p", "4194304"], "4194304")
    _expect_error(goscope, ["trace", "--", "/bin/true"], "not a Go program")
    _expect_error(goscope, ["trace", "--list-probes", "--", "/bin/true"], "not a Go program")
    _expect_error(goscope, ["trace", "--list-probes"], "-p")
    _expect_error(goscope, ["trace", "--buffer-size", "3", "--", hello], "power of two")
    _expect_error(goscope, ["trace", "-d", "soon", "--", hello], "invalid duration")
    # say so plainly, exit 2, no fake output
    _expect_error(goscope, ["top", "-p", "1"], "not built yet")
    _expect_error(goscope, ["stat", "-p", "4194304"], "4194304")
    _expect_error(goscope, ["stat", "-e", "cycels", "--", hello], "cycels")
    _expect_error(goscope, ["stat", "-o", "cpu.png", "--", hello], ".pb.gz")
    _expect_error(goscope, ["record", "-p", "4194304"], "4194304")
    _expect_error(goscope, ["capture", "-o", "/nonexistent/dir/x", "--", "/bin/true"], "not a Go program")
    _expect_error(goscope, ["report"], "file")
    _expect_error(goscope, ["report", "/nonexistent.gst"], "/nonexistent.gst")
    _expect_error(goscope, ["export", "/nonexistent.gst", "-o", "x.html"], "/nonexistent.gst")
    _expect_error(goscope, ["export", "/nonexistent.gst", "-o", "x.pb.gz"], "which profile")
    _expect_error(goscope, ["export", "/nonexistent.gst", "-o", "x.html", "--format", "png"], "unknown format")
    p = _run(goscope, ["--help"])
    check(p.returncode == 0 and "probe" in p.stdout, "goscope --help failed")


def once_bench_dump_smoke(goscope):
    """The dump benchmark still works (bench/dump/run.sh --smoke: 1,000
    goroutines, one run, checks goscope counts them all; writes no results)."""
    import subprocess as sp
    from vmtest import REPO
    p = sp.run([os.path.join(REPO, "bench/dump/run.sh"), "--smoke"], capture_output=True, text=True,
               timeout=600, env=dict(os.environ, GOSCOPE_BIN=goscope))
    print(p.stdout[-3000:], p.stderr[-3000:])
    check(p.returncode == 0, f"bench/dump/run.sh --smoke exited {p.returncode}")


def once_bench_trace_smoke(goscope):
    """The trace benchmark still works (bench/trace/run.sh --smoke: each mode once
    for a second, checks events arrive and the program finishes; writes no results)."""
    import subprocess as sp
    from vmtest import REPO
    p = sp.run([os.path.join(REPO, "bench/trace/run.sh"), "--smoke"], capture_output=True, text=True,
               timeout=900, env=dict(os.environ, GOSCOPE_BIN=goscope))
    print(p.stdout[-3000:], p.stderr[-3000:])
    check(p.returncode == 0, f"bench/trace/run.sh --smoke exited {p.returncode}")
    for workload in ("pingpong", "mutex", "pool"):
        for mode in ("untraced", "default", "all-ops", "record", "runtime-trace", "bpftrace", "bare-uprobe"):
            check(f"slowdown {workload} {mode} #1: " in p.stderr, f"the smoke run has no {workload}/{mode} run")
    check("slowdown pingpong wake-each #1: " in p.stderr, "the smoke run has no wake-up-per-record run")
    check("capacity " in p.stderr and "attach compile default" in p.stderr, "the smoke run lacks capacity/attach")


def once_bench_service_smoke(goscope):
    """The HTTP service benchmark still works (bench/service/run.sh --smoke: every
    tracer once under wrk for a moment, the memory and trace-size runs short,
    inspect once; writes no results)."""
    import subprocess as sp
    from vmtest import REPO
    p = sp.run([os.path.join(REPO, "bench/service/run.sh"), "--smoke"], capture_output=True, text=True,
               timeout=900, env=dict(os.environ, GOSCOPE_BIN=goscope))
    print(p.stdout[-3000:], p.stderr[-3000:])
    check(p.returncode == 0, f"bench/service/run.sh --smoke exited {p.returncode}")
    for mode in ("untraced", "trace", "all-ops", "record", "runtime-trace", "bpftrace", "bare"):
        check(f"run.sh: throughput/{mode} #1: " in p.stderr, f"the smoke run has no {mode} run")
    for part in ("run.sh: memory/trace: ", "run.sh: memory/record: ", "run.sh: size: ", "run.sh: inspect "):
        check(part in p.stderr, f"the smoke run lacks {part!r}")

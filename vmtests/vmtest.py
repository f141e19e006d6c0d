"""Helpers for goscope's privileged end-to-end tests.

A case starts a Go test program (tests/testprogs) built by one toolchain of
the matrix, runs the real goscope binary against it, and checks what goscope
saw against the facts the program prints about itself ("FACT key=value ...").
"""
import json
import os
import queue
import shlex
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = 77  # ctest SKIP_RETURN_CODE


class CaseFailed(Exception):
    pass


def in_ci():
    return os.environ.get("CI") == "true"


def require_privileges():
    """Skips loudly outside CI, fails under CI, when BPF cannot be used."""
    problem = None
    if os.geteuid() != 0:
        problem = "not running as root"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        problem = "kernel has no BTF (/sys/kernel/btf/vmlinux)"
    if problem:
        if in_ci():
            raise CaseFailed(f"privileged test cannot run under CI: {problem}")
        print(f"SKIPPED LOUDLY: {problem}; run the tests as root (sudo scripts/test.sh)")
        sys.exit(SKIP)


def testprogs_dir():
    out = subprocess.run([os.path.join(REPO, "scripts/build-testprogs.sh"), "--print-dir"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip()


def testprog(version, variant, name):
    path = os.path.join(testprogs_dir(), version, variant, name)
    if not os.path.exists(path):
        raise CaseFailed(f"test program missing: {path} (run scripts/build-testprogs.sh)")
    return path


def goroot(version):
    """GOROOT of a matrix toolchain (scripts/go-toolchains.sh)."""
    out = subprocess.run([os.path.join(REPO, "scripts/go-toolchains.sh"), "--print", "--versions", version],
                         capture_output=True, text=True).stdout.split()
    if len(out) != 2:
        raise CaseFailed(f"Go {version} toolchain missing (run scripts/go-toolchains.sh)")
    return out[1]


def go_tool(version, args, home):
    """Runs `go tool ARGS...` of a matrix toolchain; returns (exit code, stdout + stderr)."""
    root = goroot(version)
    cache = os.path.join(os.path.dirname(testprogs_dir()), "gocache", version)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "GOROOT": root, "GOTOOLCHAIN": "local",
           "GOCACHE": cache, "GOFLAGS": "", "GOPROXY": "off"}
    p = subprocess.run([os.path.join(root, "bin/go"), "tool"] + args, capture_output=True, text=True,
                       env=env, timeout=600)
    return p.returncode, p.stdout + p.stderr


def parse_fact(line):
    """'FACT goid=5 role=sender' -> {'goid': '5', 'role': 'sender'}; None if not a fact."""
    if not line.startswith("FACT "):
        return None
    fact = {}
    for i, tok in enumerate(shlex.split(line[5:])):
        if "=" in tok:
            k, v = tok.split("=", 1)
            fact[k] = v
        elif i == 0:
            fact["_"] = tok
    return fact


class LineReader:
    """Reads a pipe line by line on a thread, so waits can time out."""

    def __init__(self, pipe, echo_prefix):
        self.lines = []
        self._q = queue.Queue()
        self._prefix = echo_prefix
        self._t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self._t.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, ""):
            line = raw.rstrip("\n")
            print(f"{self._prefix}{line}", flush=True)
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CaseFailed(f"timed out after {timeout}s waiting for {what}")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise CaseFailed(f"stream ended while waiting for {what}")
            result = predicate(line)
            if result:
                return result

    def join(self, timeout=10):
        self._t.join(timeout)


class Watched:
    """A child process whose stdout and stderr are read line by line (self.out,
    self.err); `name` says who it is in messages."""

    def _watch(self, proc, name, prefix):
        self.proc, self.name = proc, name
        self.out = LineReader(proc.stdout, f"[{prefix}] ")
        self.err = LineReader(proc.stderr, f"[{prefix} stderr] ")

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise CaseFailed(f"{self.name} did not finish within {timeout}s")
        self.out.join()
        self.err.join()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class GoProgram(Watched):
    """A test program held at start (GOSCOPE_WAIT_STDIN=1) until release()."""

    def __init__(self, path, env=None, hold=True):
        e = dict(os.environ)
        e.update({"GOTRACEBACK": "all"})
        if hold:
            e["GOSCOPE_WAIT_STDIN"] = "1"
        e.update(env or {})
        self.path = path
        self._watch(subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=e),
                    path, os.path.basename(path))
        self.pid = self.proc.pid
        if hold:
            ready = self.wait_fact(lambda f: f.get("_") == "ready", 15, "FACT ready")
            if int(ready["pid"]) != self.pid:
                raise CaseFailed(f"program says pid {ready['pid']}, started {self.pid}")

    def wait_fact(self, pred, timeout, what):
        def match(line):
            f = parse_fact(line)
            return f if f is not None and pred(f) else None
        return self.out.wait_for(match, timeout, what)

    def facts(self):
        return [f for f in (parse_fact(l) for l in self.out.lines) if f is not None]

    def release(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()



class Goscope(Watched):
    """The goscope binary running in the background."""

    def __init__(self, binary, args):
        self.argv = [binary] + args
        print("$ " + " ".join(shlex.quote(a) for a in self.argv), flush=True)
        self._watch(subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True), "goscope", "goscope")

    def wait_attached(self, timeout=30):
        self.err.wait_for(lambda l: "probe(s) on PID" in l, timeout,
                          "goscope to attach")
        if self.proc.poll() not in (None, 0):
            raise CaseFailed(f"goscope failed: exit {self.proc.returncode}")

    def json_lines(self):
        return [json.loads(l) for l in self.out.lines if l.startswith("{")]


def check(cond, message):
    if not cond:
        raise CaseFailed(message)

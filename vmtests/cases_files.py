"""What goscope writes as root under sudo (once, not per Go version): the output
paths a hostile local user can prepare must not make root overwrite, truncate or
hand over a file, and an output that is also the input is refused.

Run as root with SUDO_UID / SUDO_GID of a victim user the case creates
(goscope-vt-victim), next to another user (goscope-vt-other) who prepares traps in
a world-writable folder:
  - capture -o DIR, DIR pre-created by the other user with findings.sarif a link
    to a root-only file: refused (exit 2), the file untouched;
  - record -o LINK (a symbolic link in the victim's own folder): refused, untouched;
  - record -o FILE where FILE is a hard link to the root-only file (made by root,
    as a planted link would be): refused, untouched;
  - a fresh capture folder and every file in it belong to the victim; no temporary
    file is left behind;
  - writing where the victim may not write (a root-only folder) is refused;
  - export X -o X: refused before anything is opened, X byte-identical;
  - export into a folder the victim owns: the file belongs to the victim.
"""
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile

from vmtest import CaseFailed, check, testprog

VICTIM, OTHER = "goscope-vt-victim", "goscope-vt-other"
SECRET = b"root's secret, never to be overwritten\n"


def _user(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        return pwd.getpwnam(name)


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class _Secret:
    """A root-only file, checked unchanged after each attempt."""

    def __init__(self, path):
        self.path = path
        with open(path, "wb") as f:
            f.write(SECRET)
        os.chmod(path, 0o600)
        self.digest = _digest(path)

    def check_untouched(self, what):
        st = os.lstat(self.path)
        check(st.st_uid == 0 and (st.st_mode & 0o777) == 0o600,
              f"{what}: the root-only file changed owner or mode: uid {st.st_uid}, mode {oct(st.st_mode)}")
        check(_digest(self.path) == self.digest, f"{what}: the root-only file was written")


def _goscope(goscope, args, victim, timeout=60):
    env = dict(os.environ, SUDO_UID=str(victim.pw_uid), SUDO_GID=str(victim.pw_gid), SUDO_USER=victim.pw_name,
               GOSCOPE_HOLD="3")
    p = subprocess.run([goscope] + args, capture_output=True, text=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    tail = "\n    ".join(p.stderr.strip().splitlines()[-4:])
    print(f"$ SUDO_UID={victim.pw_uid} goscope {' '.join(args)}\n  -> exit {p.returncode}: {tail}", flush=True)
    return p


def _refused(p, what, needle):
    check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2 (refused)")
    check(needle in p.stderr, f"{what}: stderr does not say {needle!r}: {p.stderr[-800:]!r}")


def once_files_written_under_sudo_are_safe(goscope):
    victim, other = _user(VICTIM), _user(OTHER)
    top = tempfile.mkdtemp(prefix="goscope-files-")
    try:
        os.chmod(top, 0o1777)  # like /tmp: anyone may create entries
        secret = _Secret(os.path.join(top, "root-only"))
        # The program runs as the victim (launched under "sudo"): a copy it can execute.
        prog = os.path.join(top, "healthy_idle")
        shutil.copy(testprog("1.24", "default", "healthy_idle"), prog)
        os.chmod(prog, 0o755)

        # 1. A capture folder pre-created by another user, with a planted link.
        trap = os.path.join(top, "incident")
        os.mkdir(trap, 0o755)
        os.symlink(secret.path, os.path.join(trap, "findings.sarif"))
        os.lchown(os.path.join(trap, "findings.sarif"), other.pw_uid, other.pw_gid)
        os.chown(trap, other.pw_uid, other.pw_gid)
        p = _goscope(goscope, ["capture", "-d", "1s", "-o", trap, "--", prog], victim)
        _refused(p, "capture into another user's folder", "belongs to another user")
        secret.check_untouched("capture into another user's folder")

        # The victim's own folder, which others can write to: refused too.
        shared = os.path.join(top, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        os.chown(shared, victim.pw_uid, victim.pw_gid)
        p = _goscope(goscope, ["capture", "-d", "1s", "-o", shared, "--", prog], victim)
        _refused(p, "capture into a folder others can write", "others can write")

        # 2. The victim's folder; a symbolic link as the trace file.
        mine = os.path.join(top, "mine")
        os.mkdir(mine, 0o755)
        os.chown(mine, victim.pw_uid, victim.pw_gid)
        link = os.path.join(mine, "run.gst")
        os.symlink(secret.path, link)
        p = _goscope(goscope, ["record", "-d", "1s", "-o", link, "--", prog], victim)
        _refused(p, "record -o a symbolic link", "symbolic link")
        secret.check_untouched("record -o a symbolic link")
        os.unlink(link)

        # 3. A hard link to the root-only file.
        hard = os.path.join(mine, "hard.gst")
        os.link(secret.path, hard)
        p = _goscope(goscope, ["record", "-d", "1s", "-o", hard, "--", prog], victim)
        check(p.returncode == 2, f"record -o a hard link: exit {p.returncode}, expected 2")
        secret.check_untouched("record -o a hard link")
        os.unlink(hard)

        # 4. A root-only folder: the victim may not write there, so neither does goscope.
        rootdir = os.path.join(top, "root-only-dir")
        os.mkdir(rootdir, 0o755)
        p = _goscope(goscope, ["record", "-d", "1s", "-o", os.path.join(rootdir, "x.gst"), "--", prog], victim)
        _refused(p, "record into a root-only folder", "Permission denied")
        check(not os.listdir(rootdir), f"record into a root-only folder left {os.listdir(rootdir)}")

        # 5. A fresh capture folder: everything in it is the victim's, nothing temporary left.
        fresh = os.path.join(mine, "capture")
        p = _goscope(goscope, ["capture", "-d", "2s", "-o", fresh, "--", prog], victim)
        check(p.returncode in (0, 1), f"capture into a fresh folder: exit {p.returncode}: {p.stderr[-800:]}")
        names = sorted(os.listdir(fresh))
        check("trace.gst" in names and "report.html" in names and "findings.sarif" in names,
              f"capture wrote {names}")
        for n in [""] + names:
            st = os.lstat(os.path.join(fresh, n))
            check(st.st_uid == victim.pw_uid and st.st_gid == victim.pw_gid,
                  f"capture: {n or 'the folder'} belongs to {st.st_uid}:{st.st_gid}, not the victim")
        check(not [n for n in names if ".goscope-" in n], f"temporary files left: {names}")

        # 6. export X -o X leaves X as it was; an export into the victim's folder is theirs.
        trace = os.path.join(fresh, "trace.gst")
        before = _digest(trace)
        for fmt in ("jsonl", "html"):
            p = _goscope(goscope, ["export", trace, "-o", trace, "--format", fmt], victim)
            _refused(p, f"export X -o X ({fmt})", "is the trace being read")
            check(_digest(trace) == before, f"export X -o X ({fmt}) changed the trace")
        out = os.path.join(mine, "events.jsonl")
        p = _goscope(goscope, ["export", trace, "-o", out], victim)
        check(p.returncode == 0, f"export: exit {p.returncode}: {p.stderr[-800:]}")
        st = os.stat(out)
        check(st.st_uid == victim.pw_uid and st.st_size > 0, f"export: {out} uid {st.st_uid}, {st.st_size} bytes")
        check(not [n for n in os.listdir(mine) if ".goscope-" in n], f"temporary files left: {os.listdir(mine)}")
        secret.check_untouched("the whole case")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _spin_program():
    """cpu_spin held for 60 s: its idle goroutines park and wake every 50 ms, a steady trickle of events."""
    env = dict(os.environ, GOSCOPE_HOLD="60")
    env.pop("GOSCOPE_WAIT_STDIN", None)
    return subprocess.Popen([testprog("1.24", "default", "cpu_spin")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)


def once_output_errors_stop_tracing(goscope):
    """The reader of the event stream goes away (`trace | head -1`) or the disk is full
    (-o /dev/full): goscope stops within a second, detaches (its links are its file
    descriptors: it has exited), says why and exits 2 -- also with -d, where it used to
    run on and exit 0 as if the events had been shown."""
    import time
    prog = _spin_program()
    try:
        time.sleep(0.5)
        pid = str(prog.pid)
        cases = [("trace | head -1", ["trace", "-p", pid], "pipe", "Broken pipe"),
                 ("trace -d 30s | head -1", ["trace", "-p", pid, "-d", "30s"], "pipe", "Broken pipe"),
                 ("probe | head -1", ["probe", "-p", pid, "-f", "runtime.gopark"], "pipe", "Broken pipe"),
                 ("trace -o /dev/full", ["trace", "-p", pid, "-d", "30s", "-o", "/dev/full"], "none",
                  "No space left"),
                 ("probe > /dev/full", ["probe", "-p", pid, "-f", "runtime.gopark", "-d", "30s"], "full",
                  "No space left")]
        for what, args, stdout, needle in cases:
            out = {"pipe": subprocess.PIPE, "none": subprocess.DEVNULL}.get(stdout) or open("/dev/full", "w")
            t0 = time.monotonic()
            p = subprocess.Popen([goscope] + args, stdout=out, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL)
            if stdout == "pipe":
                line = p.stdout.readline()  # what `head -1` does, then it exits
                check(line, f"{what}: no event line at all")
                p.stdout.close()
            try:
                err = p.communicate(timeout=20)[1]
            except subprocess.TimeoutExpired:
                p.kill()
                raise CaseFailed(f"{what}: goscope still tracing 20 s after its output failed")
            finally:
                if stdout == "full":
                    out.close()
            took = time.monotonic() - t0
            print(f"$ goscope {' '.join(args)}  ({what}) -> exit {p.returncode} after {took:.1f}s: "
                  f"{err.strip().splitlines()[-1] if err.strip() else ''}", flush=True)
            check(p.returncode == 2, f"{what}: exit {p.returncode}, expected 2: {err[-600:]}")
            check(needle in err, f"{what}: stderr does not say {needle!r}: {err[-600:]}")
            check(took < 10, f"{what}: took {took:.1f}s to stop")
        check(prog.poll() is None, "the traced program died")
    finally:
        prog.kill()
        prog.wait()

#!/usr/bin/env python3
"""Runs one privileged end-to-end case against one Go version of the matrix.

    vmtests/run.py --goscope build/src/cli/goscope --go 1.22 CASE

Cases are functions named case_<name> (run once per Go version of the
matrix) or once_<name> (run once, --go none) in vmtests/cases_*.py. Exit status:
0 passed, 1 failed, 77 skipped (outside CI only; CI never skips).
"""
import argparse
import glob
import importlib.util
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmtest  # noqa: E402


def load_cases():
    cases = {}
    here = os.path.dirname(os.path.abspath(__file__))
    for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in dir(mod):
            if name.startswith("case_"):  # run against each Go version
                cases[name[5:]] = getattr(mod, name)
            elif name.startswith("once_"):  # independent of the Go version
                fn = getattr(mod, name)
                cases[name[5:]] = lambda goscope, go, fn=fn: fn(goscope)
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--goscope", required=True)
    ap.add_argument("--go", required=True, help="Go version of the matrix, e.g. 1.22")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("case", nargs="?")
    a = ap.parse_args()
    cases = load_cases()
    if a.list:
        print("\n".join(sorted(cases)))
        return 0
    if a.case not in cases:
        print(f"unknown case {a.case!r}; known: {', '.join(sorted(cases))}")
        return 1
    try:
        vmtest.require_privileges()
        cases[a.case](goscope=a.goscope, go=a.go)
    except vmtest.CaseFailed as e:
        print(f"FAILED: {e}")
        return 1
    except Exception:  # a bug in the case itself is a failure too
        traceback.print_exc()
        return 1
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())

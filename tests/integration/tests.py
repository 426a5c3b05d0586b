#!/usr/bin/python3
"""mjpegd integration tests: the runner. The tests are in test_<area>.py, one file per area
(docs/testing.md lists them); common.py holds what several areas share, harness.py the daemon
launcher, the HTTP helpers and the PASS/FAIL/SKIP machinery. Run through
tests/integration/run.sh (or this file directly):

    tests.py [--area AREA[,AREA...]]... [--jobs N] [--list] [NAME...]
    tests.py --exact NAME

--area runs the tests of test_AREA.py only (`make test-integration T=AREA`); NAME arguments
select the tests whose name contains one of them (within the areas, if given); --list prints
each test's area and name instead of running anything. --jobs N (default $MJPEGD_IT_JOBS, else
one more than the number of CPUs, at most 4): the tests that may share the machine run N at a
time, each as `tests.py --exact NAME` (that one test, no header); the timing and serial tests
then run one at a time (docs/testing.md, "Running tests side by side")."""
import importlib
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import run_tests  # noqa: E402
import common  # noqa: E402

# tests/soak/run.py makes its users file with `import tests; tests.auth_users_file()`.
auth_users_file = common.auth_users_file

# The areas in the order they run (the order of the sections of the single file they came from).
# A test_*.py not named here runs after them, so a new file is never left out.
AREAS = ["snapshot", "stream", "http", "status", "file_source", "flags", "signals", "chromium",
         "systemd", "supervision", "auth", "cors", "unix_socket", "reverse_proxy", "vlc",
         "controls", "early_answers"]


def all_areas():
    here = os.path.dirname(os.path.abspath(__file__))
    found = sorted(f[len("test_"):-len(".py")] for f in os.listdir(here)
                   if f.startswith("test_") and f.endswith(".py"))
    return [a for a in AREAS if a in found] + [a for a in found if a not in AREAS]


def default_jobs():
    env = os.environ.get("MJPEGD_IT_JOBS", "")
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return min(4, (os.cpu_count() or 1) + 1)


def setup_failure(message):
    print(f"FAIL  (setup): {message}", flush=True)
    print("integration: 0 passed, 1 failed", flush=True)
    return 1


def main(argv):
    areas, names, listing, exact = [], [], False, False
    jobs = default_jobs()
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--area" or a.startswith("--area="):
            if a == "--area":
                if not args:
                    return setup_failure("--area needs an area name")
                value = args.pop(0)
            else:
                value = a[len("--area="):]
            for v in value.replace(",", " ").split():
                # T=http, T=test_http and T=test_http.py all name tests/integration/test_http.py
                v = v.removesuffix(".py")
                areas.append(v.removeprefix("test_"))
        elif a == "--list":
            listing = True
        elif a == "--exact":
            if not args:
                return setup_failure("--exact needs a test name")
            exact = True
            names.append(args.pop(0))
        elif a == "--jobs":
            if not args or not args[0].isdigit() or int(args[0]) < 1:
                return setup_failure("--jobs needs a number of tests at a time (1 or more)")
            jobs = int(args.pop(0))
        else:
            names.append(a)
    known = all_areas()
    unknown = [a for a in areas if a not in known]
    if unknown:
        return setup_failure(f"no area {', '.join(unknown)} (areas: {' '.join(known)})")
    for area in known:
        if areas and area not in areas:
            continue
        try:
            importlib.import_module(f"test_{area}")
        except Exception:  # noqa: BLE001 - a broken test file fails the run, with its traceback
            return setup_failure(f"test_{area}.py does not load:\n" + traceback.format_exc())
    tests = [(n, f) for n, f in common.TESTS if f.__module__[len("test_"):] in (areas or known)]
    if listing:
        for n, f in tests:
            if not names or any(x in n for x in names):
                print(f"{f.__module__[len('test_'):]:14} {n}")
        return 0
    if exact:
        return run_tests(tests, names=names, exact=True)
    runner = [sys.executable, "-B", "-u", os.path.abspath(__file__)]
    return run_tests(tests, names=names, jobs=jobs, runner=runner)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

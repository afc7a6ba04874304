#!/usr/bin/python3
"""Version comparison oracle for vigil-version's tests (issue 4).

Usage: version-oracle.py dpkg|rpm|pep440|probe|time-dpkg|time-rpm|time-pep440

Reads lines `A<TAB>B` on standard input and writes one line per input line:
`-1`, `0` or `1` (A < B, A = B, A > B) as the real tool orders them, or
`error <message>` when the tool refuses a version. One process serves every
pair, so thousands of pairs cost one interpreter start.

- dpkg:   apt_pkg.version_compare (python3-apt; the same algorithm as dpkg).
- rpm:    rpm.ver comparison (python3-rpm; rpm's own EVR parser and rpmvercmp).
- pep440: packaging.version.Version (python3-packaging).
- probe:  imports all three and exits 0 when they are present, 3 otherwise
          (printing what is missing), so tests can skip or fail clearly.
- time-*: reads all pairs, then prints nanoseconds per parse+compare and per
          compare of parsed versions (`-` if the tool has no parsed form), best
          of five rounds; the benchmark prints vigil's ratio to these.

Run it with the system Python that has the Debian modules (python3-apt,
python3-rpm, python3-packaging).
"""

import sys


def sign(n):
    return (n > 0) - (n < 0)


def make_dpkg():
    import apt_pkg

    apt_pkg.init_system()
    return lambda a, b: sign(apt_pkg.version_compare(a, b))


def make_rpm():
    import rpm

    def cmp(a, b):
        va, vb = rpm.ver(a), rpm.ver(b)
        return -1 if va < vb else (1 if va > vb else 0)

    return cmp


def make_pep440():
    from packaging.version import Version

    def cmp(a, b):
        va, vb = Version(a), Version(b)
        return -1 if va < vb else (1 if va > vb else 0)

    return cmp


MAKERS = {"dpkg": make_dpkg, "rpm": make_rpm, "pep440": make_pep440}


def make_parsers():
    """For timing: (parse, compare-parsed) per tool, and whether parse is a no-op."""
    import apt_pkg
    import rpm
    from packaging.version import Version

    apt_pkg.init_system()

    def cmp_objects(x, y):
        return -1 if x < y else (1 if x > y else 0)

    return {
        # apt_pkg has no parsed version object: it parses inside version_compare.
        "dpkg": (None, apt_pkg.version_compare),
        "rpm": (rpm.ver, cmp_objects),
        "pep440": (Version, cmp_objects),
    }


def time_mode(tool):
    """Reads all pairs, then prints `parse_compare_ns compare_ns` per comparison (compare_ns
    is `-` when the tool has no parsed form)."""
    import time

    parse, cmp = make_parsers()[tool]
    pairs = [line.rstrip("\n").partition("\t")[::2] for line in sys.stdin]
    if not pairs:
        print("- -")
        return 0

    def best_of(fn, rounds=5):
        best = None
        for _ in range(rounds):
            t0 = time.perf_counter_ns()
            fn()
            dt = time.perf_counter_ns() - t0
            best = dt if best is None or dt < best else best
        return best / len(pairs)

    if parse is None:
        full = best_of(lambda: [cmp(a, b) for a, b in pairs])
        print(f"{full:.1f} -")
        return 0
    full = best_of(lambda: [cmp(parse(a), parse(b)) for a, b in pairs])
    parsed = [(parse(a), parse(b)) for a, b in pairs]
    only = best_of(lambda: [cmp(x, y) for x, y in parsed])
    print(f"{full:.1f} {only:.1f}")
    return 0


def main():
    modes = list(MAKERS) + ["probe"] + ["time-" + m for m in MAKERS]
    if len(sys.argv) != 2 or sys.argv[1] not in modes:
        sys.stderr.write("usage: version-oracle.py dpkg|rpm|pep440|probe|time-TOOL\n")
        return 2
    mode = sys.argv[1]
    if mode.startswith("time-"):
        return time_mode(mode[len("time-"):])
    if mode == "probe":
        missing = []
        for name, make in MAKERS.items():
            try:
                make()
            except ImportError as e:
                missing.append(f"{name}: {e}")
        if missing:
            print("missing oracle modules: " + "; ".join(missing))
            return 3
        return 0
    cmp = MAKERS[mode]()
    out = sys.stdout
    for line in sys.stdin:
        a, _, b = line.rstrip("\n").partition("\t")
        try:
            out.write(f"{cmp(a, b)}\n")
        except Exception as e:  # the tool refused a version: report it, keep going
            out.write(f"error {type(e).__name__}: {e}\n".replace("\n", " ").rstrip() + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make test-bounds: every real-time entry point's calls counted one by one under callgrind and
checked against the bound its header states.

The bound of an entry point is the sentence in its header comment
    "... at most N instructions with MM_CHECKS=1, M with MM_CHECKS=0, K with MM_CHECKS=2 ..."
(the whole call, x86-64, gcc -O2, the default configuration); mm_reset's, whose cost grows with
the pools and the free lists it empties, is "at most A + B*pools + C*rows + D*lists instructions
at every check level", evaluated for each call (the driver's label gives the three counts). For each check level this runs the
driver tests/bounds/bounds.c (built as bounds_c<level>) under valgrind --tool=callgrind, once for
the constructed worst paths (--worst) and once per random trace (--trace LAYER SEED N): each call
is one callgrind dump. It fails when a single call of an entry point exceeds its bound, when a
bound is missing from a header, or when an entry point was never measured.

Usage: check.py BUILD_DIR [--calls N] [--seeds S] [--levels 0,1,2] [--jobs J] [--report FILE] [--quiet]
  BUILD_DIR  the CMake build folder configured with -DMEMOMAN_BUILD_BOUNDS=ON
  --calls    calls per random trace (default 4000)
  --seeds    random traces per layer and level (default 3)
  --jobs     valgrind runs at a time (default: $JOBS, else the number of CPUs)
  --report   also write the table (markdown) to FILE
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADERS = ["include/memoman.h", "include/memoman/fixed.h", "include/memoman/heap.h"]
ENTRIES = ["mm_malloc", "mm_free", "mm_memalign", "mm_realloc", "mm_reset", "mm_fixed_alloc", "mm_fixed_free",
           "mm_heap_malloc", "mm_heap_free", "mm_heap_calloc", "mm_heap_memalign", "mm_heap_realloc"]
LAYERS = ["core", "fixed", "heap"]


def header_bounds():
    """{entry: {level: bound}} from the headers' comments."""
    bounds = {}
    for h in HEADERS:
        text = open(os.path.join(ROOT, h), encoding="utf-8").read()
        for m in re.finditer(r"/\*((?:(?!\*/).)*)\*/\s*([^;{}/]*?);", text, re.S):
            names = [e for e in ENTRIES if re.search(r"\b%s\s*\(" % e, m.group(2))]
            if not names:
                continue
            name = names[0]
            comment = re.sub(r"\s*\n\s*\*\s*", " ", m.group(1))
            f = re.search(r"at most (\d+) \+ (\d+)\*pools \+ (\d+)\*rows \+ (\d+)\*lists instructions at every check level",
                          comment)
            if f:
                bounds[name] = {lv: tuple(int(x) for x in f.groups()) for lv in (0, 1, 2)}
                continue
            s = re.search(r"at most (\d+) instructions with MM_CHECKS=(\d)((?:, \d+ with MM_CHECKS=\d)*)", comment)
            if not s:
                continue
            levels = {int(s.group(2)): int(s.group(1))}
            for n, lv in re.findall(r"(\d+) with MM_CHECKS=(\d)", s.group(3)):
                levels[int(lv)] = int(n)
            bounds[name] = levels
    return bounds


def bound_for(b, label):
    """The bound of one call: a number, or for a formula (mm_reset) its value at the label's
    "pools=P,rows=R,lists=L"."""
    if not isinstance(b, tuple):
        return b
    v = dict(kv.split("=") for kv in label.split(" ", 1)[1].split(","))
    return b[0] + b[1] * int(v["pools"]) + b[2] * int(v["rows"]) + b[3] * int(v["lists"])


def run(binary, args, toggles):
    """Runs binary under callgrind; returns [(label, instructions)] of its dumps."""
    d = tempfile.mkdtemp(prefix="memoman-bounds-")
    try:
        cmd = ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--dump-instr=no",
               "--callgrind-out-file=" + os.path.join(d, "cg")] + ["--toggle-collect=" + t for t in toggles]
        r = subprocess.run(cmd + [binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit(f"check.py: {os.path.basename(binary)} {' '.join(args)} failed under valgrind:\n{r.stderr[-2000:]}")
        out = []
        for f in glob.glob(os.path.join(d, "cg.*")):
            label, total = None, 0
            with open(f, encoding="utf-8", errors="replace") as fh:
                for line in fh:
                    if line.startswith("desc: Trigger: Client Request: "):
                        label = line[len("desc: Trigger: Client Request: "):].strip()
                    elif line.startswith("summary:") or line.startswith("totals:"):
                        total = int(line.split()[1])
                        break
            if label:
                out.append((label, total))
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--levels", default="0,1,2")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS") or os.cpu_count() or 1))
    ap.add_argument("--report")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("check.py: valgrind not found (apt-get install valgrind)")
    bounds = header_bounds()
    # The demo prints the heap's two stated bounds: its copies must be the header's.
    demo = open(os.path.join(ROOT, "examples", "audio_loop.c"), encoding="utf-8").read()
    m = re.search(r"bound_heap_malloc = (\d+), bound_heap_free = (\d+);", demo)
    if not m or (int(m.group(1)), int(m.group(2))) != (bounds.get("mm_heap_malloc", {}).get(1),
                                                       bounds.get("mm_heap_free", {}).get(1)):
        sys.exit("check.py: examples/audio_loop.c's bound_heap_malloc / bound_heap_free are not heap.h's "
                 "MM_CHECKS=1 bounds")
    levels = [int(x) for x in a.levels.split(",")]
    # Collection is on inside the entry points and off inside the zeroing of calloc (memset, in
    # libc), which the heap calloc bound leaves out.
    toggles = ENTRIES + ["*memset*"]
    failures = []
    rows = []  # (entry, level, bound, worst constructed (value, case), worst traced, calls)
    # Every valgrind run of every level, a.jobs at a time (each is one process on one core).
    runs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
        for level in levels:
            binary = os.path.join(a.build, "tests", "bounds", f"bounds_c{level}")
            if not os.access(binary, os.X_OK):
                sys.exit(f"check.py: {binary} missing (configure with -DMEMOMAN_BUILD_BOUNDS=ON)")
            runs[level, "worst"] = pool.submit(run, binary, ["--worst"], toggles)
            for layer in LAYERS:
                for seed in range(a.seeds):
                    runs[level, layer, seed] = pool.submit(run, binary, ["--trace", layer, str(seed), str(a.calls)],
                                                           toggles)
        runs = {k: f.result() for k, f in runs.items()}
    for level in levels:
        worst = runs[level, "worst"]
        traced = [d for layer in LAYERS for seed in range(a.seeds) for d in runs[level, layer, seed]]
        for e in ENTRIES:
            w = [(n, lab) for lab, n in worst if lab.split()[0] == e and not lab.split()[1].startswith("-")]
            t = [(n, lab) for lab, n in traced if lab.split()[0] == e and not lab.split()[1].startswith("-")]
            b = bounds.get(e, {}).get(level)
            wmax = max(w) if w else (0, "-")
            tmax = max(t)[0] if t else 0
            shown = b if not isinstance(b, tuple) else "%d + %d*pools + %d*rows + %d*lists" % b
            rows.append((e, level, shown, wmax, tmax, len(w) + len(t)))
            if b is None:
                failures.append(f"{e}: no bound for MM_CHECKS={level} in its header")
            elif not w or not t:
                failures.append(f"{e} (MM_CHECKS={level}): not measured ({len(w)} constructed, {len(t)} traced calls)")
            else:
                for n, lab in w + t:
                    if n > bound_for(b, lab):
                        failures.append(f"{e} (MM_CHECKS={level}): {lab.split(' ', 1)[1]} took {n} > {bound_for(b, lab)}")
    lines = ["| entry point | MM_CHECKS | stated bound | worst constructed (case) | worst traced | calls |",
             "|---|---|---|---|---|---|"]
    for e, level, b, (wn, wl), tmax, calls in rows:
        case = wl.split(" ", 1)[1] if " " in wl else wl
        lines.append(f"| {e} | {level} | {b if b is not None else 'none'} | {wn} ({case}) | {tmax} | {calls} |")
    table = "\n".join(lines)
    if not a.quiet or failures:
        print(table)
    if a.report:
        with open(a.report, "w", encoding="utf-8") as fh:
            fh.write(table + "\n")
    if failures:
        shown = failures[:30] + ([f"... and {len(failures) - 30} more"] if len(failures) > 30 else [])
        print("\nbounds broken:\n  " + "\n  ".join(shown))
        return 1
    print(f"\nbounds: {len(rows)} entry points and levels within their stated bounds "
          f"({a.seeds} traces of {a.calls} calls per layer and level)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

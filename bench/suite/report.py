#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helper of bench/suite/run.sh (standard library only).

  report.py measure TIMEFILE TIMEOUT COMMAND...
      Runs COMMAND (standard streams inherited), writes "wall user sys maxrss_kb" of it into
      TIMEFILE, and exits as a shell would report the command: its exit code, 128+n when signal n
      ended it, 124 when it ran past TIMEOUT seconds (then it is killed). Used when GNU time is
      not installed.

  report.py summary CSV --ref NAME [--info FILE] [--md FILE] [--svg FILE]
                        [--tests "..."] [--allocs "..."]
      Reads run.sh's results.csv, prints the summary (medians over the successful rounds, ratios
      to the reference allocator and to glibc, geometric means over the tests that every
      allocator completed in every round, the list of failed runs) and writes it as markdown,
      and an SVG bar chart of the time ratios.
"""
import csv
import math
import os
import signal
import sys
import time

# Tests whose "time" is the relative time derived from their output (fixed-duration tests).
RELATIVE = {"larsonN", "larsonN-sized", "rptestN", "xmalloc-testN", "glibc-thread", "redis"}
COLORS = ["#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#8c564b", "#e377c2"]


def measure(argv):
    timefile, limit, cmd = argv[0], float(argv[1]), argv[2:]
    start = time.monotonic()
    try:
        pid = os.fork()
    except OSError as e:
        print(f"report.py: fork: {e}", file=sys.stderr)
        return 126
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            print(f"report.py: {cmd[0]}: {e}", file=sys.stderr)
            os._exit(127)
    timed_out = False
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        if time.monotonic() - start > limit and not timed_out:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    wall = time.monotonic() - start
    with open(timefile, "w") as f:
        f.write(f"{wall:.2f} {ru.ru_utime:.2f} {ru.ru_stime:.2f} {ru.ru_maxrss}\n")
    if timed_out:
        return 124
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fnum(x, digits=3):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits - 1}f}" if x >= 1 else f"{x:.{digits}f}"


def summary(argv):
    args = {"--ref": None, "--info": None, "--md": None, "--svg": None, "--tests": "", "--allocs": "",
            "--redone": None}
    path = argv[0]
    i = 1
    while i < len(argv):
        args[argv[i]] = argv[i + 1]
        i += 2
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    tests = args["--tests"].split() or list(dict.fromkeys(r["test"] for r in rows))
    allocs = args["--allocs"].split() or list(dict.fromkeys(r["allocator"] for r in rows))
    ref = args["--ref"] or allocs[0]

    runs = {}  # (test, alloc) -> list of rows
    for r in rows:
        runs.setdefault((r["test"], r["allocator"]), []).append(r)

    def ok_rows(t, a):
        return [r for r in runs.get((t, a), []) if r["status"] == "ok"]

    def med(t, a, key):
        vals = [float(r[key]) for r in ok_rows(t, a) if r[key] not in ("", None)]
        return median(vals)

    def failed(t, a):
        return [r for r in runs.get((t, a), []) if r["status"] != "ok"]

    def spread(t, a, key):
        vals = [float(r[key]) for r in ok_rows(t, a) if r[key] not in ("", None)]
        return (min(vals), max(vals)) if vals else None

    def overlaps(t, a, base, key):
        # The allocator's rounds and the base's rounds overlap: its fastest round was no slower
        # than the base's slowest. A ratio above 1 then is within the machine's run-to-run noise.
        x, b = spread(t, a, key), spread(t, base, key)
        return bool(x and b and x[0] <= b[1] and b[0] <= x[1])

    complete = [t for t in tests
                if all(runs.get((t, a)) and not failed(t, a) and (med(t, a, "time_s") or 0) > 0
                       for a in allocs)]
    rounds = max((int(r["round"]) for r in rows), default=0)

    def ratio(t, a, key, base):
        x, b = med(t, a, key), med(t, base, key)
        return x / b if x is not None and b else None

    def gm(a, key, base):
        rs = [ratio(t, a, key, base) for t in complete]
        rs = [x for x in rs if x]
        return geomean(rs) if len(rs) == len(complete) else None

    def paired_gm(a, key, base):
        # Each test's median over the rounds of the ratio within a round (a round runs the
        # allocators back to back), then the geometric mean over the tests.
        meds = []
        for t in complete:
            by_round = {}
            for r in ok_rows(t, a) + ok_rows(t, base):
                if r[key] not in ("", None):
                    by_round.setdefault(r["round"], {})[r["allocator"]] = float(r[key])
            rs = [v[a] / v[base] for v in by_round.values() if a in v and base in v and v[base] > 0]
            if not rs:
                return None
            meds.append(median(rs))
        return geomean(meds) if meds else None

    out = []
    p = out.append
    p("# mimalloc-bench programs under several allocators")
    p("")
    if args["--info"] and os.path.exists(args["--info"]):
        p("```")
        with open(args["--info"]) as f:
            out.extend(line.rstrip("\n") for line in f)
        p("```")
        p("")
    p(f"Medians over the successful rounds of {rounds}; ratios are the allocator's median over "
      f"the reference's (lower is better). Reference: **{ref}**. Tests marked * run for a fixed "
      "time and report a throughput: their time is the relative time bench.sh derives from it "
      "(redis: the server's RSS and CPU; its client runs on the system malloc). "
      "Geometric means over the tests every allocator completed in every round "
      f"({len(complete)} of {len(tests)}).")
    p("")

    def cell_fail(t, a):
        fs = failed(t, a)
        n = len(runs.get((t, a), []))
        if not fs:
            return ""
        sts = sorted(set(r["status"] for r in fs))
        return f" **FAILED {len(fs)}/{n}: {', '.join(sts)}**"

    def table_head(title):
        p(f"## {title}")
        p("")
        p("| test | " + " | ".join(allocs) + " |")
        p("|---|" + "---:|" * len(allocs))

    def table(title, key, base, scale=1.0, unit="", absolute=True):
        table_head(title)
        for t in tests:
            cells = []
            for a in allocs:
                m = med(t, a, key)
                r = ratio(t, a, key, base)
                if m is None:
                    c = "-"
                elif absolute:
                    c = f"{fnum(m * scale)}{unit} ({r:.2f})" if r is not None else f"{fnum(m * scale)}{unit}"
                else:
                    c = f"{r:.2f}" if r is not None else "-"
                    if r is not None and r > 1.0 and a != base and overlaps(t, a, base, key):
                        c += " ~"
                cells.append(c + cell_fail(t, a))
            name = t + ("*" if t in RELATIVE and key == "time_s" else "")
            p(f"| {name} | " + " | ".join(cells) + " |")
        g = [gm(a, key, base) for a in allocs]
        p("| **geomean** | " + " | ".join(f"**{x:.3f}**" if x else "-" for x in g) + " |")
        p("")

    table(f"Time: median seconds (ratio to {ref})", "time_s", ref, unit=" s")
    table(f"Peak RSS: median MiB (ratio to {ref})", "rss_kb", ref, scale=1 / 1024)
    table(f"CPU time (user + sys): median seconds (ratio to {ref})", "cpu_s", ref, unit=" s")
    table_head("Time: fastest and slowest round (seconds)")
    for t in tests:
        cells = []
        for a in allocs:
            sp = spread(t, a, "time_s")
            cells.append(f"{fnum(sp[0])}–{fnum(sp[1])}" if sp else "-")
        p(f"| {t} | " + " | ".join(cells) + " |")
    p("")
    if "glibc" in allocs and ref != "glibc":
        p("In the two tables below, `~` marks a ratio above 1.00 where the allocator's fastest round "
          "was no slower than glibc's slowest: the rounds overlap, and the difference is within this "
          "machine's run-to-run spread.")
        p("")
        table("Time: ratio to glibc", "time_s", "glibc", absolute=False)
        table("Peak RSS: ratio to glibc", "rss_kb", "glibc", absolute=False)

    p("## Geometric means")
    p("")
    bases = [ref] + (["glibc"] if "glibc" in allocs and ref != "glibc" else [])
    head = ["allocator"] + [f"{k} vs {b}" for b in bases for k in ("time", "RSS", "CPU")]

    def means_table(mean):
        p("| " + " | ".join(head) + " |")
        p("|---|" + "---:|" * (len(head) - 1))
        for a in allocs:
            cells = [mean(a, key, b) for b in bases for key in ("time_s", "rss_kb", "cpu_s")]
            p(f"| {a} | " + " | ".join(f"{x:.3f}" if x else "-" for x in cells) + " |")
        p("")

    means_table(gm)
    p("Paired, the same means of each test's median over the rounds of the ratio within a round "
      "(the allocators of a round run one after another, so that ratio is less exposed to the "
      "machine's speed drifting between rounds):")
    p("")
    means_table(paired_gm)

    oth = [(float(r["others_cpu"]), r) for r in rows
           if r.get("others_cpu") not in (None, "") and r["test"] != "redis"]
    if oth:
        busy = [x for x in oth if x[0] > 0.5]
        top = max(oth, key=lambda x: x[0])
        p(f"Interference: other processes kept {sum(x for x, _ in oth) / len(oth):.2f} cores busy on "
          f"average during the runs (redis left out: its client counts as other); {len(busy)} of "
          f"{len(oth)} runs saw more than 0.5 (the most: {top[0]:.2f}, {top[1]['test']} "
          f"{top[1]['allocator']} round {top[1]['round']}).")
        p("")
    if args["--redone"] and os.path.exists(args["--redone"]):
        with open(args["--redone"], newline="") as f:
            redone = list(csv.DictReader(f))
        blocks = sorted(set((r["test"], r["round"]) for r in redone))
        p(f"Run again because other processes were busy during them ({len(blocks)}; the first "
          "attempts are in redone.csv): " + ", ".join(f"{t} round {r}" for t, r in blocks) + ".")
        p("")

    p("## Failed runs")
    p("")
    fails = [r for r in rows if r["status"] != "ok"]
    if not fails:
        p("None: every run exited with status 0 and printed its result.")
    else:
        p("| test | allocator | round | status | log |")
        p("|---|---|---:|---|---|")
        for r in fails:
            p(f"| {r['test']} | {r['allocator']} | {r['round']} | {r['status']} | "
              f"logs/{r['test']}.{r['allocator']}.r{r['round']}.txt |")
    incomplete = [t for t in tests if t not in complete]
    if incomplete:
        p("")
        p("Left out of the geometric means: " + ", ".join(incomplete) + ".")
    p("")

    text = "\n".join(out)
    print(text)
    if args["--md"]:
        with open(args["--md"], "w") as f:
            f.write(text)
    if args["--svg"]:
        write_svg(args["--svg"], tests, allocs, ref, lambda t, a: ratio(t, a, "time_s", ref),
                  lambda t, a: bool(failed(t, a)), {a: gm(a, "time_s", ref) for a in allocs})
    return 0


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_svg(path, tests, allocs, ref, ratio, failed, gms):
    """Grouped bars of time ratios on a log scale around 1 (the reference): up is slower."""
    groups = tests + ["geomean"]
    vals = {}
    for t in tests:
        for a in allocs:
            vals[(t, a)] = ratio(t, a)
    for a in allocs:
        vals[("geomean", a)] = gms[a]
    present = [v for v in vals.values() if v]
    lo = min([0.5] + present)
    hi = max([2.0] + present)
    lo2, hi2 = math.floor(math.log2(lo)), math.ceil(math.log2(hi))
    bw, gap, left, top, plot_h, bottom = 9, 14, 70, 60, 380, 130
    gw = bw * len(allocs) + gap
    legend_w = sum(14 + 7 * len(a) + 24 for a in allocs) + 7 * len(" (reference: 1×)")
    width = max(left + gw * len(groups) + 20, left + legend_w + 20, 760)
    height = top + plot_h + bottom

    def y(v):
        return top + plot_h * (hi2 - math.log2(v)) / (hi2 - lo2)

    s = []
    a_ = s.append
    a_(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
       f'font-family="sans-serif" font-size="11">')
    a_(f'<rect width="{width}" height="{height}" fill="white"/>')
    a_(f'<text x="{left}" y="20" font-size="14" font-weight="bold">Time relative to {esc(ref)} '
       '(median of the rounds; log scale, lower is better)</text>')
    for k in range(lo2, hi2 + 1):
        v = 2.0 ** k
        yy = y(v)
        a_(f'<line x1="{left}" x2="{width - 20}" y1="{yy:.1f}" y2="{yy:.1f}" '
           f'stroke="{"#000" if k == 0 else "#ddd"}" stroke-width="{1.2 if k == 0 else 0.8}"/>')
        label = f"{v:g}×"
        a_(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{label}</text>')
    lx = left
    for j, a in enumerate(allocs):
        label = f"{a} (reference: 1×)" if a == ref else a
        a_(f'<rect x="{lx}" y="32" width="10" height="10" fill="{COLORS[j % len(COLORS)]}"/>')
        a_(f'<text x="{lx + 14}" y="41">{esc(label)}</text>')
        lx += 14 + 7 * len(label) + 24
    y1 = y(1.0)
    for g, t in enumerate(groups):
        gx = left + g * gw + gap / 2
        for j, a in enumerate(allocs):
            v = vals.get((t, a))
            x = gx + j * bw
            col = COLORS[j % len(COLORS)]
            if v:
                yv = y(v)
                a_(f'<rect x="{x:.1f}" y="{min(yv, y1):.1f}" width="{bw - 1}" '
                   f'height="{max(abs(yv - y1), 0.8):.1f}" fill="{col}">'
                   f'<title>{esc(t)} {esc(a)}: {v:.3f}</title></rect>')
            if t != "geomean" and failed(t, a):
                a_(f'<text x="{x + bw / 2:.1f}" y="{y1 - 3:.1f}" text-anchor="middle" '
                   f'fill="red" font-weight="bold">×<title>{esc(t)} {esc(a)}: failed</title></text>')
        cx = gx + bw * len(allocs) / 2
        ly = top + plot_h + 8
        bold = ' font-weight="bold"' if t == "geomean" else ""
        a_(f'<text x="{cx:.1f}" y="{ly}" text-anchor="end" '
           f'transform="rotate(-60 {cx:.1f} {ly})"{bold}>{esc(t)}</text>')
    a_(f'<text x="{left}" y="{height - 8}" fill="#555">A red × marks a test that failed under that '
       'allocator in at least one round.</text>')
    a_("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    if sys.argv[1] == "measure":
        return measure(sys.argv[2:])
    if sys.argv[1] == "summary":
        return summary(sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

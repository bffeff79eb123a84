#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The fragmentation report of bench/frag/run.sh: reads summary.csv and samples.csv (written by
memoman-trace --frag-summary / --frag-csv) in FOLDER and writes frag.md (the table, also printed),
frag_external.svg (external fragmentation over each trace: the TLSF core and, when measured, TLSF 3.1
on their smallest pools, and the suggested heap) and frag_internal.svg (internal fragmentation, p50 and p95, per allocator and
trace). Python standard library only. Usage: report.py FOLDER
"""
import csv
import os
import sys

ORDER = ["uniform", "exponential", "pow2", "bimodal", "sqlite3", "cpython"]
ALLOCS = ["tlsf-smallest", "tlsf31-smallest", "o1heap-smallest", "heap-suggested", "heap-preset", "glibc"]
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def name_of(path):
    return os.path.basename(path).rsplit(".trace", 1)[0]


def key(t):
    return (ORDER.index(t) if t in ORDER else len(ORDER), t)


def fmt(v):
    return "-" if float(v) < 0 else f"{float(v):.3f}"


def table(rows):
    lines = ["| trace | allocator | bytes | failed | internal p50 / p95 / max | external p50 / p95 / max |",
             "|---|---|---:|---:|---|---|"]
    for r in sorted(rows, key=lambda r: (key(r["trace"]), ALLOCS.index(r["alloc"]) if r["alloc"] in ALLOCS else 9)):
        b = int(r["bytes"])
        lines.append(f"| {r['trace']} | {r['alloc']} | {f'{b:,}' if b else '(its own)'} | {r['failed']} | "
                     f"{fmt(r['i50'])} / {fmt(r['i95'])} / {fmt(r['imax'])} | "
                     f"{fmt(r['e50'])} / {fmt(r['e95'])} / {fmt(r['emax'])} |")
    return "\n".join(lines)


def svg_lines(samples, path):
    """External fragmentation over each trace (x: share of the trace's operations)."""
    traces = sorted({t for t, _ in samples}, key=key)
    allocs = [a for a in ["tlsf-smallest", "tlsf31-smallest", "heap-suggested"] if any(a == b for _, b in samples)]
    cols = 3
    rows = (len(traces) + cols - 1) // cols
    w, h, pad = 300, 180, 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * w}" height="{rows * h + 30}" '
           'font-family="sans-serif" font-size="11">',
           f'<rect width="100%" height="100%" fill="white"/>']
    for i, t in enumerate(traces):
        x0, y0 = (i % cols) * w + pad, (i // cols) * h + 20
        pw, ph = w - pad - 10, h - 50
        out.append(f'<text x="{x0}" y="{y0 - 5}" font-weight="bold">{t}</text>')
        out.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
        for v in (0, 0.5, 1):
            y = y0 + ph - v * ph
            out.append(f'<text x="{x0 - 5}" y="{y + 4}" text-anchor="end">{v:g}</text>')
        out.append(f'<text x="{x0 + pw / 2}" y="{y0 + ph + 14}" text-anchor="middle">operations (share of the trace)</text>')
        for j, a in enumerate(allocs):
            pts = samples.get((t, a), [])
            if not pts:
                continue
            last = max(p[0] for p in pts) or 1
            d = " ".join(f"{x0 + pw * x / last:.1f},{y0 + ph - ph * max(0.0, e):.1f}" for x, _, e in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{COLORS[j]}" stroke-width="1.2"/>')
    for j, a in enumerate(allocs):
        out.append(f'<rect x="{10 + j * 280}" y="{rows * h + 12}" width="12" height="4" fill="{COLORS[j]}"/>'
                   f'<text x="{26 + j * 280}" y="{rows * h + 18}">{a}: 1 - largest free / free</text>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def svg_bars(rows, path):
    """Internal fragmentation, p50 (bar) and p95 (tick), per trace and allocator."""
    traces = sorted({r["trace"] for r in rows}, key=key)
    allocs = [a for a in ALLOCS if any(r["alloc"] == a for r in rows)]
    by = {(r["trace"], r["alloc"]): r for r in rows}
    top = max([float(r["i95"]) for r in rows if float(r["i95"]) > 0] + [1.1])
    top = min(top, 2.5)
    gw, bw, pad, ph = 28 * len(allocs) + 20, 24, 50, 220
    width = pad + gw * len(traces) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{ph + 80}" font-family="sans-serif" '
           'font-size="11">', '<rect width="100%" height="100%" fill="white"/>']

    def y(v):
        return 10 + ph - ph * (min(v, top) - 1) / (top - 1)

    for v in [1 + k * (top - 1) / 4 for k in range(5)]:
        out.append(f'<line x1="{pad}" x2="{width - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{pad - 5}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    for i, t in enumerate(traces):
        gx = pad + i * gw + 10
        out.append(f'<text x="{gx + gw / 2 - 10}" y="{ph + 26}" text-anchor="middle">{t}</text>')
        for j, a in enumerate(allocs):
            r = by.get((t, a))
            if not r or float(r["i50"]) < 0:
                continue
            x = gx + j * 28
            out.append(f'<rect x="{x}" y="{y(float(r["i50"])):.1f}" width="{bw}" height="{y(1) - y(float(r["i50"])):.1f}" '
                       f'fill="{COLORS[j]}"/>')
            out.append(f'<line x1="{x}" x2="{x + bw}" y1="{y(float(r["i95"])):.1f}" y2="{y(float(r["i95"])):.1f}" '
                       f'stroke="black"/>')
    for j, a in enumerate(allocs):
        out.append(f'<rect x="{pad + j * 150}" y="{ph + 45}" width="12" height="12" fill="{COLORS[j]}"/>'
                   f'<text x="{pad + j * 150 + 16}" y="{ph + 55}">{a}</text>')
    out.append(f'<text x="{pad}" y="{ph + 75}">bytes held / bytes asked by the live blocks: p50 (bar), p95 (line)'
               f'{"; cut at " + format(top, ".1f") if top >= 2.5 else ""}</text>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    folder = sys.argv[1]
    rows = []
    with open(os.path.join(folder, "summary.csv"), encoding="utf-8") as f:
        for r in csv.reader(f):
            rows.append(dict(zip(["trace", "alloc", "bytes", "failed", "i50", "i95", "imax", "e50", "e95", "emax"],
                                 [name_of(r[0])] + r[1:])))
    samples = {}
    with open(os.path.join(folder, "samples.csv"), encoding="utf-8") as f:
        for r in csv.reader(f):
            samples.setdefault((name_of(r[0]), r[1]), []).append((int(r[2]), float(r[3]), float(r[4])))
    md = table(rows)
    with open(os.path.join(folder, "frag.md"), "w", encoding="utf-8") as f:
        f.write(md + "\n")
    svg_lines(samples, os.path.join(folder, "frag_external.svg"))
    svg_bars(rows, os.path.join(folder, "frag_internal.svg"))
    print(md)
    print(f"\nfrag: {folder}/frag.md, summary.csv, samples.csv, frag_external.svg, frag_internal.svg")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The WCET harness's report: reads the CSV the harness printed (entry,case,n,min,p50,p99,p99.9,max)
and writes wcet.md (memoman's entry points, every case together, and the peers' paths) and
wcet.svg (p50 bar, p99 line, max dot, on a log scale). Usage: report.py WCET_CSV OUT_FOLDER"""
import csv
import math
import os
import sys


def main():
    rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
    out = sys.argv[2]
    shown = [r for r in rows if (r["entry"].startswith("mm_") and r["case"] == "all")
             or (r["entry"] in ("tlsf31", "glibc") and r["case"] != "all") or r["entry"] == "timer" and r["case"] == "all"]
    rank = {"tlsf31": 1, "glibc": 2, "timer": 3}
    shown.sort(key=lambda r: rank.get(r["entry"], 0))  # memoman first, in the harness's order
    md = ["| entry point (every constructed case) / peer path | samples | min | p50 | p99 | p99.9 | max |",
          "|---|---:|---:|---:|---:|---:|---:|"]
    for r in shown:
        name = r["entry"] if r["case"] == "all" else f"{r['entry']} {r['case']}"
        md.append(f"| {name} | {r['n']} | " + " | ".join(f"{int(r[k]):,}" for k in ("min", "p50", "p99", "p99.9", "max")) + " |")
    with open(os.path.join(out, "wcet.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))

    lo, hi = 100, max(int(r["max"]) for r in shown) * 1.2
    left, width, bar = 230, 560, 16
    height = 40 + len(shown) * (bar + 6) + 40

    def x(v):
        return left + width * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 30}" height="{height}" '
           'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="16" font-weight="bold">One call with cold caches and TLB, time-stamp counter ticks '
           f'(log scale): p50 bar, p99 line, max dot</text>']
    decade = 10 ** math.floor(math.log10(lo))
    while decade <= hi:
        for m in (1, 2, 5):
            v = decade * m
            if lo <= v <= hi:
                svg.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="26" y2="{height - 30}" stroke="#e5e5e5"/>')
                if m == 1:  # the decades only: their labels do not collide
                    svg.append(f'<text x="{x(v):.1f}" y="{height - 16}" text-anchor="middle">{v:,}</text>')
        decade *= 10
    for i, r in enumerate(shown):
        y = 34 + i * (bar + 6)
        name = r["entry"] if r["case"] == "all" else f"{r['entry']} {r['case']}"
        color = "#1f77b4" if r["entry"].startswith("mm_") else "#ff7f0e" if r["entry"] == "tlsf31" else "#7f7f7f"
        svg.append(f'<text x="{left - 6}" y="{y + bar - 4}" text-anchor="end">{name}</text>')
        svg.append(f'<rect x="{left}" y="{y}" width="{x(int(r["p50"])) - left:.1f}" height="{bar}" fill="{color}"/>')
        svg.append(f'<line x1="{x(int(r["p50"])):.1f}" x2="{x(int(r["p99"])):.1f}" y1="{y + bar / 2}" '
                   f'y2="{y + bar / 2}" stroke="black"/>')
        svg.append(f'<circle cx="{x(int(r["max"])):.1f}" cy="{y + bar / 2}" r="3" fill="black"/>')
    svg.append("</svg>")
    with open(os.path.join(out, "wcet.svg"), "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")
    print(f"\nwcet: {out}/wcet.md, {out}/wcet.svg")


if __name__ == "__main__":
    main()

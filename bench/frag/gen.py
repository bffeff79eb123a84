#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A synthetic allocation trace, in the trace format memoman-trace reads ("a <id> <size>",
"f <id>"), for make frag-report. Usage: gen.py DISTRIBUTION [OPERATIONS] [SEED] > trace

Sizes (bytes):
  uniform      uniform over 16..4096
  exponential  exponential with mean 512, at least 1, at most 65536
  pow2         70% exact powers of two 16..8192, 30% uniform 1..8192
  bimodal      90% uniform 16..256, 10% uniform 16 KiB..256 KiB

Lifetimes, the same for every distribution: the live set grows to 4,000 blocks, churns (each step
allocates or frees a random live block, so that the live count wanders around its level), shrinks to
1,000, churns, grows back to 4,000 and churns again; the blocks freed are chosen at random, so
that long-lived and short-lived blocks interleave in memory.
"""
import random
import sys


def size_of(dist, r):
    if dist == "uniform":
        return r.randint(16, 4096)
    if dist == "exponential":
        return max(1, min(65536, int(r.expovariate(1 / 512))))
    if dist == "pow2":
        return 1 << r.randint(4, 13) if r.random() < 0.7 else r.randint(1, 8192)
    if dist == "bimodal":
        return r.randint(16, 256) if r.random() < 0.9 else r.randint(16384, 262144)
    sys.exit(f"gen.py: unknown distribution {dist} (uniform, exponential, pow2, bimodal)")


def main():
    dist = sys.argv[1] if len(sys.argv) > 1 else ""
    ops = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    r = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    size_of(dist, r)  # an unknown name stops here
    live, next_id, out = [], 1, []
    phases = [(4000, 0.15), (4000, 0.25), (1000, 0.1), (1000, 0.15), (4000, 0.1), (4000, 0.25)]
    for target, share in phases:
        for _ in range(int(ops * share)):
            # below the level: mostly allocations; above: mostly frees; at it: half and half
            p_alloc = 0.5 + max(-0.45, min(0.45, (target - len(live)) / (2 * target) * 4))
            if not live or r.random() < p_alloc:
                out.append(f"a {next_id:x} {size_of(dist, r)}")
                live.append(next_id)
                next_id += 1
            else:
                i = r.randrange(len(live))
                live[i], live[-1] = live[-1], live[i]
                out.append(f"f {live.pop():x}")
    sys.stdout.write(f"# gen.py {dist} {ops}\n" + "\n".join(out) + "\n")


if __name__ == "__main__":
    main()

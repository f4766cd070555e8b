#!/usr/bin/env python3
"""Markdown table of medians from the JSON lines of bench/run.sh: workload | agriflux median |
PyTorch/NumPy median | ratio (agriflux / reference; above 1 means AgriFlux is faster)."""

import json
import statistics
import sys

ORDER = ["cnn_train", "cnn_infer", "lstm_train", "lstm_infer", "patch_extraction",
         "sequence_extraction", "indices"]


def main(paths):
    values, units = {}, {}
    for path in paths:
        for line in open(path):
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            values.setdefault((r["workload"], r["impl"]), []).append(r["value"])
            units[r["workload"]] = r["unit"]
    print("| workload | unit | agriflux median | PyTorch/NumPy median | ratio | runs |")
    print("|---|---|---:|---:|---:|---:|")
    for w in ORDER + sorted({w for w, _ in values} - set(ORDER)):
        a, r = values.get((w, "agriflux")), values.get((w, "reference"))
        if not a and not r:
            continue
        ma = statistics.median(a) if a else float("nan")
        mr = statistics.median(r) if r else float("nan")
        ratio = f"{ma / mr:.2f}x" if a and r else "-"
        print(f"| {w} | {units[w]} | {ma:,.1f} | {mr:,.1f} | {ratio} | {len(a or [])}+{len(r or [])} |")


if __name__ == "__main__":
    main(sys.argv[1:])

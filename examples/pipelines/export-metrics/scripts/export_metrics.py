#!/usr/bin/env python3
"""Writes the figures of the CNN and LSTM trained on this run's data to a CSV file.

One row per model (or baseline) and figure, with the 95 % interval when the engine computed
one. Run by AgriFlux as the step `export_metrics` (see ../agriflux.toml); it reads the
metrics files steps 5 and 6 wrote, reports its progress with `agriflux:progress` lines, and
writes a small summary the step's report entry shows.
"""

import argparse
import csv
import json
import os
import sys

MODELS = [("cnn", "models/cnn_real_metrics.json"), ("lstm", "models/lstm_real_metrics.json")]


def rows_of(model, headline):
    """(model, predictor, figure, value, ci_low, ci_high) for every figure of a headline."""
    def figures(predictor, block):
        for name, figure in sorted(block.items()):
            if isinstance(figure, dict) and "value" in figure:
                yield (model, predictor, name, figure["value"],
                       figure.get("ci_low", ""), figure.get("ci_high", ""))
            elif isinstance(figure, (int, float)) and not isinstance(figure, bool):
                yield (model, predictor, name, figure, "", "")

    yield from figures("model", headline)
    for baseline, block in sorted(headline.get("baselines", {}).items()):
        if isinstance(block, dict):
            yield from figures(baseline, block)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--source", default=os.environ.get("AGRIFLUX_SOURCE", ""))
    args = parser.parse_args()

    rows = []
    for done, (model, path) in enumerate(MODELS, start=1):
        try:
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
        except FileNotFoundError:
            print(f"{path} is missing: did steps 5 and 6 run?", file=sys.stderr)
            return 2
        rows.extend(rows_of(model, report.get("headline", {})))
        print(f"read {path}: {len(rows)} figures so far")
        print("agriflux:progress " + json.dumps(
            {"done": done, "total": len(MODELS), "unit": "models", "message": model}), flush=True)

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    # Written beside the target and renamed, so that a killed run never leaves half a file.
    partial = args.out + ".partial"
    with open(partial, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["source", "model", "predictor", "figure", "value", "ci_low", "ci_high"])
        for row in rows:
            out.writerow([args.source, *row])
    os.replace(partial, args.out)

    summary = os.path.join(os.path.dirname(args.out), "export_summary.json")
    with open(summary, "w", encoding="utf-8") as f:
        json.dump({"csv_file": args.out, "csv_rows": len(rows), "data_source": args.source}, f)
    print(f"wrote {len(rows)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

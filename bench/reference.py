#!/usr/bin/env python3
"""PyTorch / NumPy reference for `agriflux-bench run`: the same workloads on the same files.

- CNN and LSTM training: the architectures of crates/agriflux-core/src/ml (cnn.rs, lstm.rs),
  PyTorch-style initialisation, Adam (lr 1e-3, eps 1e-8), batch 32, the same per-batch work as
  the engine's training loop (normalise + NHWC->NCHW the batch, forward, loss, accuracy or
  absolute error read back, backward, optimiser step), on the pipeline's `.npy` files in
  WORKDIR/data/training. Two warm-up steps are not timed.
- Inference: evaluation mode, no autograd, batches of 64, softmax (CNN) / last + net(x) (LSTM).
- Data preparation on the scenes in WORKDIR/bench-inputs (written by `agriflux-bench prepare`):
  validity mask + NDVI/SAVI/EVI/NDWI (float64 arithmetic, NaN where invalid or |den| < 1e-6);
  patch cutting (labels from the centre NDVI class, invalid-fraction filter, block split,
  NaN -> 0, per-channel normalisation fit, balancing); sequence extraction (32 x 32 block mean
  NDVI with the 50 % valid rule, time-split windows with the gap feature).

Prints one JSON object per workload (`--json`) like the Rust side. Threads: `--threads`
(torch.set_num_threads); run with OMP_WAIT_POLICY=PASSIVE on a shared machine.
"""

import argparse
import json
import math
import os
import time

import numpy as np

BATCH = 32
WARMUP_STEPS = 2
EVAL_BATCH = 64
INVALID_SCL = np.array([0, 1, 3, 8, 9, 10, 11], dtype=np.uint8)
MIN_DEN = 1e-6
PATCH = 64


def emit(args, workload, value, unit, seconds):
    if args.json:
        print(json.dumps({"impl": "reference", "workload": workload, "value": value,
                          "unit": unit, "seconds": seconds}), flush=True)
    else:
        print(f"{workload:<22} {value:>12.1f} {unit}", flush=True)


# ----------------------------------------------------------------------------------------- models

def build_models(torch, features):
    nn = torch.nn

    class Cnn(nn.Module):
        def __init__(self):
            super().__init__()

            def block(cin, cout):
                return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                        nn.MaxPool2d(2)]

            self.features = nn.Sequential(*block(4, 32), *block(32, 64), *block(64, 128))
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(128 * 8 * 8, 128), nn.ReLU(),
                                      nn.Dropout(0.3), nn.Linear(128, 4))

        def forward(self, x):
            return self.head(self.features(x))

    class Lstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(features, 128, num_layers=2, batch_first=True,
                                bidirectional=True, dropout=0.2)
            self.head = nn.Sequential(nn.Linear(256, 64), nn.ReLU(), nn.Dropout(0.3),
                                      nn.Linear(64, 1))

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1, :]).squeeze(1)

    return Cnn, Lstm


def cycled(n, count):
    return np.arange(count) % n


def train_steps(torch, model, steps, make_batch, loss_step):
    """Runs WARMUP_STEPS + steps optimiser steps; samples/s over the timed ones."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-8)
    model.train()
    t_start = None
    for step in range(WARMUP_STEPS + steps):
        if step == WARMUP_STEPS:
            t_start = time.perf_counter()
        xb, yb, extra = make_batch(step)
        opt.zero_grad(set_to_none=True)
        loss = loss_step(model, xb, yb, extra)
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - t_start
    return steps * BATCH / seconds, seconds


def bench_cnn(args, torch, Cnn):
    d = os.path.join(args.workdir, "data", "training")
    x = np.load(os.path.join(d, "cnn_X_train_real.npy"))
    y = np.load(os.path.join(d, "cnn_y_train_real.npy"))
    test = np.load(os.path.join(d, "cnn_X_test_real.npy"))
    meta = json.load(open(os.path.join(d, "cnn_metadata_real.json")))
    mean = np.array(meta["normalisation"]["mean"], dtype=np.float32)
    std = np.array(meta["normalisation"]["std"], dtype=np.float32)
    torch.manual_seed(42)
    model = Cnn()
    rng = np.random.default_rng(42)
    order = rng.permutation(cycled(len(y), (WARMUP_STEPS + args.cnn_steps) * BATCH))

    def to_input(patches):
        # Normalise, NHWC -> NCHW, as the engine builds each batch.
        return torch.from_numpy(np.ascontiguousarray(
            ((patches - mean) / std).transpose(0, 3, 1, 2)))

    def make_batch(step):
        idx = order[step * BATCH:(step + 1) * BATCH]
        return to_input(x[idx]), torch.from_numpy(y[idx]), None

    ce = torch.nn.CrossEntropyLoss()

    def loss_step(model, xb, yb, _):
        logits = model(xb)
        loss = ce(logits, yb)
        _correct = (logits.argmax(1) == yb).sum().item()
        _value = loss.item()
        return loss

    rate, seconds = train_steps(torch, model, args.cnn_steps, make_batch, loss_step)
    emit(args, "cnn_train", rate, "samples/s", seconds)

    tx = test[cycled(len(test), args.infer_samples)]
    model.eval()

    def predict(xs):
        out = []
        with torch.inference_mode():
            for i in range(0, len(xs), EVAL_BATCH):
                out.append(torch.softmax(model(to_input(xs[i:i + EVAL_BATCH])), 1).numpy())
        return np.concatenate(out)

    predict(tx[:64])
    t0 = time.perf_counter()
    p = predict(tx)
    seconds = time.perf_counter() - t0
    assert len(p) == args.infer_samples
    emit(args, "cnn_infer", args.infer_samples / seconds, "samples/s", seconds)


def bench_lstm(args, torch, Lstm):
    d = os.path.join(args.workdir, "data", "training")
    x = np.load(os.path.join(d, "lstm_X_train_real.npy"))
    y = np.load(os.path.join(d, "lstm_y_train_real.npy"))
    test = np.load(os.path.join(d, "lstm_X_test_real.npy"))
    meta = json.load(open(os.path.join(d, "lstm_metadata_real.json")))
    mean = np.array(meta["normalisation"]["mean"], dtype=np.float32)
    std = np.array(meta["normalisation"]["std"], dtype=np.float32)
    torch.manual_seed(42)
    model = Lstm()
    k = 1.0 / math.sqrt(128)
    for name, p in model.lstm.named_parameters():
        torch.nn.init.uniform_(p, -k, k)
    rng = np.random.default_rng(42)
    order = rng.permutation(cycled(len(y), (WARMUP_STEPS + args.lstm_steps) * BATCH))

    def to_input(seqs):
        return torch.from_numpy(np.ascontiguousarray((seqs - mean) / std)), \
            torch.from_numpy(np.ascontiguousarray(seqs[:, -1, 0]))

    def make_batch(step):
        idx = order[step * BATCH:(step + 1) * BATCH]
        xb, last = to_input(x[idx])
        return xb, torch.from_numpy(y[idx]), last

    mse = torch.nn.MSELoss()

    def loss_step(model, xb, yb, last):
        pred = model(xb) + last
        _abs = (pred.detach() - yb).abs().sum().item()
        loss = mse(pred, yb)
        _value = loss.item()
        return loss

    rate, seconds = train_steps(torch, model, args.lstm_steps, make_batch, loss_step)
    emit(args, "lstm_train", rate, "samples/s", seconds)

    tx = test[cycled(len(test), args.infer_samples)]
    model.eval()

    def predict(xs):
        out = []
        with torch.inference_mode():
            for i in range(0, len(xs), EVAL_BATCH):
                xb, last = to_input(xs[i:i + EVAL_BATCH])
                out.append((model(xb) + last).numpy())
        return np.concatenate(out)

    predict(tx[:64])
    t0 = time.perf_counter()
    p = predict(tx)
    seconds = time.perf_counter() - t0
    assert len(p) == args.infer_samples
    emit(args, "lstm_infer", args.infer_samples / seconds, "samples/s", seconds)


# ------------------------------------------------------------------------------ data preparation

def valid_mask(bands, scl, data_mask):
    return (data_mask != 0) & ~np.isin(scl, INVALID_SCL) & np.isfinite(bands).all(axis=-1)


def ratio(num, den, ok):
    ok = ok & np.isfinite(num) & np.isfinite(den) & (np.abs(den) >= MIN_DEN)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / den, np.nan).astype(np.float32)


def indices(bands, valid):
    b = bands.astype(np.float64)
    blue, green, red, nir = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return (ratio(nir - red, nir + red, valid),
            ratio(1.5 * (nir - red), nir + red + 0.5, valid),
            ratio(2.5 * (nir - red), nir + 6.0 * red - 7.5 * blue + 1.0, valid),
            ratio(green - nir, green + nir, valid))


def ndvi_only(bands, valid):
    b = bands.astype(np.float64)
    red, nir = b[..., 2], b[..., 3]
    return ratio(nir - red, nir + red, valid)


def class_of(ndvi):
    return np.select([ndvi > 0.7, ndvi > 0.5, ndvi > 0.3], [0, 1, 2], 3).astype(np.int64)


def best_of(f):
    f()
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def build_patches(bands, scl, mask, stride=32, block=128, max_invalid=0.25, per_class=300,
                  seed=42):
    t, h, w, _ = bands.shape
    rng = np.random.default_rng(seed)
    blocks = [(r, c) for r in range(-(-h // block)) for c in range(-(-w // block))
              if r * block + PATCH <= h and c * block + PATCH <= w]
    rng.shuffle(blocks)
    n = len(blocks)
    n_test = max(1, round(n * 0.15))
    n_val = max(1, round(n * 0.15))
    split_of = {b: (2 if i < n_test else 1 if i < n_test + n_val else 0)
                for i, b in enumerate(blocks)}
    origins = np.array([(r0, c0) for r0 in range(0, h - PATCH + 1, stride)
                        for c0 in range(0, w - PATCH + 1, stride)
                        if r0 // block == (r0 + PATCH - 1) // block
                        and c0 // block == (c0 + PATCH - 1) // block])
    rr, cc = origins[:, 0], origins[:, 1]
    osplit = np.array([split_of.get((r // block, c // block), -1) for r, c in origins])
    xs = {0: [], 1: [], 2: []}
    ys = {0: [], 1: [], 2: []}
    for d in range(t):
        valid = valid_mask(bands[d], scl[d], mask[d])
        ndvi = ndvi_only(bands[d], valid)
        # Invalid pixels per patch from an integral image.
        inv = np.zeros((h + 1, w + 1), dtype=np.int64)
        inv[1:, 1:] = np.cumsum(np.cumsum(~valid, axis=0), axis=1)
        count = inv[rr + PATCH, cc + PATCH] - inv[rr, cc + PATCH] - inv[rr + PATCH, cc] + inv[rr, cc]
        centre = ndvi[rr + PATCH // 2, cc + PATCH // 2]
        cvalid = valid[rr + PATCH // 2, cc + PATCH // 2] & np.isfinite(centre)
        keep = cvalid & (count <= max_invalid * PATCH * PATCH) & (osplit >= 0)
        labels = class_of(np.where(cvalid, centre, 0))
        for s in (0, 1, 2):
            sel = np.nonzero(keep & (osplit == s))[0]
            if len(sel):
                patches = np.stack([bands[d, r:r + PATCH, c:c + PATCH] for r, c in origins[sel]])
                xs[s].append(np.where(np.isfinite(patches), patches, np.float32(0)))
                ys[s].append(labels[sel])
    x = {s: np.concatenate(xs[s]) for s in xs}
    y = {s: np.concatenate(ys[s]) for s in ys}
    flat = x[0].reshape(-1, 4).astype(np.float64)
    mean, std = flat.mean(axis=0), flat.std(axis=0)
    order = []
    for c in range(4):
        members = np.nonzero(y[0] == c)[0]
        if len(members) == 0:
            continue
        members = rng.permutation(members)
        if len(members) >= per_class:
            members = members[:per_class]
        else:
            members = np.concatenate([members, rng.choice(members, per_class - len(members))])
        order.append(members)
    order = rng.permutation(np.concatenate(order))
    return x[0][order], y[0][order], x[1], y[1], x[2], y[2], mean, std


def build_sequences(bands, scl, mask, gaps_days, seq_len, block=32):
    t, h, w, _ = bands.shape
    by, bx = h // block, w // block
    means = np.empty((t, by * bx), dtype=np.float32)
    for d in range(t):
        valid = valid_mask(bands[d], scl[d], mask[d])
        ndvi = ndvi_only(bands[d], valid)[:by * block, :bx * block]
        tiles = ndvi.reshape(by, block, bx, block).astype(np.float64)
        finite = np.isfinite(tiles)
        count = finite.sum(axis=(1, 3))
        total = np.where(finite, tiles, 0).sum(axis=(1, 3))
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(count >= 0.5 * block * block, total / count, np.nan)
        means[d] = m.reshape(-1).astype(np.float32)
    targets = np.arange(seq_len, t)
    n = len(targets)
    n_test = max(1, round(n * 0.2))
    n_val = max(1, round(n * 0.15))
    gap = (np.asarray(gaps_days, dtype=np.float64) / 30.0).astype(np.float32)
    out = {0: ([], []), 1: ([], []), 2: ([], [])}
    for rank, target in enumerate(targets):
        split = 2 if rank >= n - n_test else 1 if rank >= n - n_test - n_val else 0
        window = means[target - seq_len:target + 1]          # (L + 1, blocks)
        ok = np.isfinite(window).all(axis=0)
        vals = window[:, ok].T                                # (kept, L + 1)
        x = np.empty((vals.shape[0], seq_len, 2), dtype=np.float32)
        x[:, :, 0] = vals[:, :seq_len]
        x[:, :, 1] = gap[target - seq_len:target]
        out[split][0].append(x)
        out[split][1].append(vals[:, seq_len])
    return {s: (np.concatenate(a), np.concatenate(b)) for s, (a, b) in out.items()}


def bench_prep(args):
    d = os.path.join(args.workdir, "bench-inputs")
    bands = np.load(os.path.join(d, "bands.npy"))
    scl = np.load(os.path.join(d, "scl.npy"))
    mask = np.load(os.path.join(d, "data_mask.npy"))
    dates = np.array(json.load(open(os.path.join(d, "dates.json")))["dates"], dtype="datetime64[D]")
    gaps = np.diff(dates).astype(np.int64)
    meta = json.load(open(os.path.join(args.workdir, "data", "training",
                                       "lstm_metadata_real.json")))
    seq_len = meta["sequence_length"]
    pixels = bands.shape[0] * bands.shape[1] * bands.shape[2]

    if wanted(args, "patch_extraction"):
        s = best_of(lambda: build_patches(bands, scl, mask))
        emit(args, "patch_extraction", pixels / s / 1e6, "Mpixel/s", s)
    if wanted(args, "sequence_extraction"):
        s = best_of(lambda: build_sequences(bands, scl, mask, gaps, seq_len))
        emit(args, "sequence_extraction", pixels / s / 1e6, "Mpixel/s", s)
    if wanted(args, "indices"):
        s = best_of(lambda: [indices(bands[i], valid_mask(bands[i], scl[i], mask[i]))
                             for i in range(bands.shape[0])])
        emit(args, "indices", pixels / s / 1e6, "Mpixel/s", s)


def wanted(args, name):
    return args.only is None or any(w.strip() in name for w in args.only.split(","))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cnn-steps", type=int, default=12)
    ap.add_argument("--lstm-steps", type=int, default=30)
    ap.add_argument("--infer-samples", type=int, default=512)
    ap.add_argument("--only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if any(wanted(args, w) for w in ("cnn_train", "cnn_infer", "lstm_train", "lstm_infer")):
        import torch
        torch.set_num_threads(args.threads)
        d = os.path.join(args.workdir, "data", "training")
        features = np.load(os.path.join(d, "lstm_X_test_real.npy"), mmap_mode="r").shape[2]
        Cnn, Lstm = build_models(torch, features)
        if wanted(args, "cnn_train") or wanted(args, "cnn_infer"):
            bench_cnn(args, torch, Cnn)
        if wanted(args, "lstm_train") or wanted(args, "lstm_infer"):
            bench_lstm(args, torch, Lstm)
    bench_prep(args)


if __name__ == "__main__":
    main()

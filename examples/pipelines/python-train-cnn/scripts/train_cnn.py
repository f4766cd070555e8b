#!/usr/bin/env python3
"""Trains a crop-health classifier on the CNN patches and writes step 5's outputs.

A stand-in for your own training code: multinomial logistic regression on per-patch
statistics (each band's mean and spread, and the NDVI's), trained by gradient descent with
early stopping on the validation split. AgriFlux runs it as step 5 (see ../agriflux.toml).

Reads  data/training/cnn_{X,y}_{train,val,test}_real.npy and cnn_metadata_real.json
Writes models/cnn_real_test_predictions.npy  float32 (N, 4): class probabilities per test patch
       models/cnn_real_softmax.npz            the weights and the feature normalisation
       models/cnn_real_metrics.json           the test figures (the step's summary)
Prints agriflux:progress and agriflux:metric lines, which drive the app's bar and curves.
"""

import argparse
import json
import os
import sys

import numpy as np

DATA = "data/training"
MODELS = "models"
CLASSES = 4
STEPS_PER_EPOCH = 25


def features(x):
    """Per-patch statistics of (N, 64, 64, bands) patches: band means and spreads, NDVI's."""
    red, nir = x[..., 2], x[..., 3]
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    columns = [x.mean(axis=(1, 2)), x.std(axis=(1, 2)),
               ndvi.mean(axis=(1, 2))[:, None], ndvi.std(axis=(1, 2))[:, None]]
    return np.concatenate(columns, axis=1).astype(np.float64)


def load(split):
    x = np.load(os.path.join(DATA, f"cnn_X_{split}_real.npy"), mmap_mode="r")
    y = np.load(os.path.join(DATA, f"cnn_y_{split}_real.npy"))
    # In chunks, so that a large split is never held twice in memory.
    feats = np.concatenate([features(np.asarray(x[i:i + 256])) for i in range(0, len(x), 256)])
    return feats, y.astype(np.int64)


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def loss(w, b, x, y):
    p = softmax(x @ w + b)
    return float(-np.log(np.maximum(p[np.arange(len(y)), y], 1e-12)).mean())


def macro_f1(y, pred):
    scores = []
    for c in range(CLASSES):
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        if tp + fp + fn > 0:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def emit(kind, payload):
    print(f"agriflux:{kind} " + json.dumps(payload), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    args = parser.parse_args()

    with open(os.path.join(DATA, "cnn_metadata_real.json"), encoding="utf-8") as f:
        metadata = json.load(f)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = map(load, ["train", "val", "test"])
    print(f"patches: {len(y_train)} train, {len(y_val)} val, {len(y_test)} test")
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-9
    x_train, x_val, x_test = [(x - mean) / std for x in (x_train, x_val, x_test)]

    rng = np.random.default_rng(args.seed)
    w = rng.normal(0.0, 0.01, size=(x_train.shape[1], CLASSES))
    b = np.zeros(CLASSES)
    onehot = np.eye(CLASSES)[y_train]
    best = (float("inf"), w.copy(), b.copy(), 0)
    epochs_run = 0
    for epoch in range(1, args.epochs + 1):
        for _ in range(STEPS_PER_EPOCH):
            grad = (softmax(x_train @ w + b) - onehot) / len(y_train)
            w -= args.learning_rate * (x_train.T @ grad)
            b -= args.learning_rate * grad.sum(axis=0)
        epochs_run = epoch
        train_loss, val_loss = loss(w, b, x_train, y_train), loss(w, b, x_val, y_val)
        emit("metric", {"series": "real/train_loss", "x": epoch, "value": train_loss})
        emit("metric", {"series": "real/val_loss", "x": epoch, "value": val_loss})
        emit("progress", {"done": epoch, "total": args.epochs, "unit": "epochs",
                          "message": f"val_loss {val_loss:.4f}"})
        if val_loss < best[0]:
            best = (val_loss, w.copy(), b.copy(), epoch)
        elif epoch - best[3] >= args.patience:
            print(f"early stop: no better validation loss for {args.patience} epochs")
            break
    _, w, b, best_epoch = best

    proba = softmax(x_test @ w + b).astype(np.float32)
    pred = proba.argmax(axis=1)
    accuracy = float((pred == y_test).mean())
    os.makedirs(MODELS, exist_ok=True)
    np.save(os.path.join(MODELS, "cnn_real_test_predictions.npy"), proba)
    np.savez(os.path.join(MODELS, "cnn_real_softmax.npz"), w=w, b=b, mean=mean, std=std)
    report = {
        "model": "cnn_real",
        "trainer": "python softmax regression (examples/pipelines/python-train-cnn)",
        "source": metadata.get("source", ""),
        "simulated_data": metadata.get("source") == "simulated",
        "evaluated_on": "test",
        "test_patches": int(len(y_test)),
        "test_accuracy": round(accuracy, 4),
        "test_macro_f1": round(macro_f1(y_test, pred), 4),
        "best_epoch": best_epoch,
        "epochs_run": epochs_run,
        "model_file": "models/cnn_real_softmax.npz",
    }
    with open(os.path.join(MODELS, "cnn_real_metrics.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
    print(f"test accuracy {accuracy:.3f} on {len(y_test)} patches (best epoch {best_epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Evaluate the served model on FER2013: ``python -m emotion.training.evaluate``.

Runs exactly what the app serves — ``EmotionClassifier.predict_proba`` on the exported TFLite model,
flip test-time augmentation included — over PrivateTest (the reported figure; never used to choose a
model) and PublicTest (the selection split), then the round trip (``emotion.training.roundtrip``): PublicTest
faces placed into webcam-like frames and read back through ``FramePipeline``, beside the direct-crop
accuracy on the same faces. Writes ``models/metrics.json``, the confusion matrix PNG and the learning
curve PNG drawn from ``models/history.csv``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import config
from emotion.classifier import EmotionClassifier
from emotion.training.data import load_raw_split, load_votes
from emotion.training.ferplus import majority_labels
from emotion.labels import EMOTIONS
from emotion.lineage import model_lineage, read_history
from emotion.training.metrics import accuracy, classification_report
from emotion.pipeline import FramePipeline
from emotion.training.roundtrip import round_trip

def plot_confusion(matrix: np.ndarray, title: str, path: Path) -> None:
    """Row-normalised confusion matrix (recall on the diagonal) with counts, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=110)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=35, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{rates[i, j]:.0%}\n{matrix[i, j]}", ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_learning_curve(history_path: Path, path: Path, run_id: str | None = None,
                        lineage: list[str] | None = None) -> bool:
    """Train and PublicTest accuracy over the epochs that made the served model (``emotion.lineage``),
    as one history with each restart from earlier weights marked."""
    rows = model_lineage(read_history(history_path), run_id, lineage)
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    steps = [r["step"] for r in rows]
    ax.plot(steps, [r["train_acc"] for r in rows], "--", label="train (augmented)")
    ax.plot(steps, [r["public_acc"] for r in rows], "-", label="PublicTest (selection split)")
    for previous, row in zip(rows, rows[1:]):
        if row["run_id"] != previous["run_id"]:
            ax.axvline(row["step"] - 0.5, color="grey", lw=0.8, ls=":")
            ax.text(row["step"] - 0.2, 0.27, f"restart\n{row['run_id']}", fontsize=6)
    ax.set_xlabel("epoch (over the model's whole history)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.25, 0.8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def ferplus_agreement(probs: np.ndarray, labels: np.ndarray, votes: np.ndarray) -> dict:
    """Accuracy against FER+'s majority label (7-way: contempt counted as disgust; faces whose majority is
    "unknown" or "not a face", or that FER+ did not match, left out), beside FER2013's own labels on the
    same faces."""
    majority = majority_labels(votes)
    has = majority >= 0
    predicted = np.argmax(probs, axis=1)
    per_class = {name: round(float(np.mean(predicted[has & (majority == i)] == i)), 4)
                 for i, name in enumerate(EMOTIONS) if np.any(has & (majority == i))}
    return {
        "faces": int(has.sum()),
        "accuracy": round(float(np.mean(predicted[has] == majority[has])), 4),
        "fer2013_accuracy_same_faces": round(float(np.mean(predicted[has] == labels[has])), 4),
        "labels_agree": round(float(np.mean(majority[has] == labels[has])), 4),
        "recall": per_class,
        "mapping": "7-way: FER+ contempt counted as disgust; unknown / not-a-face majorities left out",
    }


def evaluate(model_path: Path, data_path: Path, out_dir: Path, round_trip_faces: int | None = None) -> dict:
    """Compute the metrics of the TFLite model at ``model_path`` and write them under ``out_dir``."""
    served = EmotionClassifier.load(model_path, flip_tta=True)
    plain = EmotionClassifier.load(model_path, flip_tta=False)
    result: dict = {"model": {}, "evaluated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "data": data_path.name}
    for split in ("private", "public"):
        images, labels = load_raw_split(data_path, split)
        probs = served.predict_proba_batched(images)
        report = classification_report(labels, probs)
        report["accuracy_without_tta"] = round(accuracy(labels, plain.predict_proba_batched(images)), 4)
        votes = load_votes(data_path, split)
        if votes is not None:
            report["ferplus"] = ferplus_agreement(probs, labels, votes)
        result[split] = report
        if split == "public":
            count = len(images) if round_trip_faces is None else min(round_trip_faces, len(images))
            pipeline = FramePipeline(classifier=served)
            result["round_trip"] = round_trip(pipeline, served, images[:count], labels[:count]).as_dict()
    train_config = out_dir / "train_config.json"
    state = out_dir / "train_state.json"
    result["model"] = {
        "file": model_path.name,
        "size_bytes": model_path.stat().st_size,
        "tta": "horizontal flip (2 passes averaged)",
        "preprocessing": "per-face 1st-99th percentile contrast stretch to 0..255, 48x48 grayscale",
        "crop_geometry": json.loads(config.CROP_GEOMETRY_PATH.read_text()) if config.CROP_GEOMETRY_PATH.exists()
        else None,
        "train_config": json.loads(train_config.read_text()) if train_config.exists() else None,
        "train_state": {k: v for k, v in json.loads(state.read_text()).items() if k != "config"}
        if state.exists() else None,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    plot_confusion(np.array(result["private"]["confusion"]),
                   f"PrivateTest confusion (accuracy {result['private']['accuracy']:.1%})",
                   out_dir / "confusion_private.png")
    train_cfg = result["model"]["train_config"] or {}
    plot_learning_curve(out_dir / config.HISTORY_PATH.name, out_dir / "learning_curve.png", train_cfg.get("run_id"),
                        train_cfg.get("lineage"))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=config.TFLITE_MODEL_PATH)
    p.add_argument("--data", type=Path, default=config.FER2013_PATH)
    p.add_argument("--out-dir", type=Path, default=config.MODELS_DIR)
    p.add_argument("--round-trip-faces", type=int, default=None, help="PublicTest faces for the round trip (all)")
    args = p.parse_args(argv)
    config.exit_on_settings_problems("emotion.training.evaluate")
    result = evaluate(args.model, args.data, args.out_dir, args.round_trip_faces)
    for split in ("private", "public"):
        r = result[split]
        recalls = ", ".join(f"{k} {v['recall']:.2f}" for k, v in r["per_class"].items())
        print(f"{split:8s} accuracy {r['accuracy']:.4f} (no TTA {r['accuracy_without_tta']:.4f}), "
              f"macro F1 {r['macro_f1']:.4f}; recall: {recalls}")
        if "ferplus" in r:
            fp = r["ferplus"]
            print(f"{'':8s} against FER+'s majority ({fp['faces']} faces, {fp['mapping']}): {fp['accuracy']:.4f} "
                  f"(FER2013 labels on the same faces {fp['fer2013_accuracy_same_faces']:.4f}; the two label "
                  f"sets agree on {fp['labels_agree']:.1%})")
    rt = result["round_trip"]
    print(f"round trip ({rt['faces']} PublicTest faces in 640x480 scenes, {rt['detected']:.1%} detected): "
          f"pipeline {rt['round_trip_accuracy']:.4f} vs direct crop {rt['direct_accuracy']:.4f} on the same "
          f"faces (gap {rt['gap_points']:.2f} points); recall disgust {rt['per_class_recall']['disgust']:.2f}, "
          f"fear {rt['per_class_recall']['fear']:.2f}")
    for band, b in rt.get("by_face_side", {}).items():
        print(f"  faces {band}: {b['faces']} found, pipeline {b['round_trip_accuracy']:.4f} vs direct "
              f"{b['direct_accuracy']:.4f}")
    print(f"wrote {args.out_dir / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

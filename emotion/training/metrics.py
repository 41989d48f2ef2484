"""Classification metrics in plain numpy (accuracy, per-class precision/recall/F1, confusion matrix)."""

from __future__ import annotations

import numpy as np

from emotion.labels import EMOTIONS, NUM_CLASSES


def accuracy(labels: np.ndarray, probs: np.ndarray) -> float:
    """Share of rows whose most probable class is the label."""
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts ``[true, predicted]`` as an int (7, 7) array in ``EMOTIONS`` order."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, int), np.asarray(predicted, int)), 1)
    return matrix


def classification_report(labels: np.ndarray, probs: np.ndarray) -> dict:
    """Accuracy, macro F1, per-class precision/recall/F1/support and the confusion matrix."""
    predicted = np.argmax(probs, axis=1)
    matrix = confusion_matrix(labels, predicted)
    true_pos = np.diag(matrix).astype(float)
    precision = np.divide(true_pos, matrix.sum(axis=0), out=np.zeros(NUM_CLASSES), where=matrix.sum(axis=0) > 0)
    recall = np.divide(true_pos, matrix.sum(axis=1), out=np.zeros(NUM_CLASSES), where=matrix.sum(axis=1) > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(NUM_CLASSES), where=denom > 0)
    return {
        "n": int(len(labels)),
        "accuracy": round(float(np.mean(predicted == labels)), 4),
        "macro_f1": round(float(np.mean(f1)), 4),
        "per_class": {
            name: {
                "precision": round(float(precision[i]), 4),
                "recall": round(float(recall[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(matrix[i].sum()),
            }
            for i, name in enumerate(EMOTIONS)
        },
        "confusion": matrix.tolist(),
    }

"""The seven FER2013 emotions, in FER2013's own label order (0..6): the one source of truth."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

EMOJI: dict[str, str] = {
    "angry": "😠",
    "disgust": "🤢",
    "fear": "😨",
    "happy": "😄",
    "sad": "😢",
    "surprise": "😲",
    "neutral": "😐",
}

NUM_CLASSES: int = len(EMOTIONS)


def label_index(emotion: str) -> int:
    """Return the FER2013 index of ``emotion``; raise ``ValueError`` for an unknown name."""
    try:
        return EMOTIONS.index(emotion)
    except ValueError:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}") from None

import numpy as np
import pytest

from emotion.labels import EMOTIONS, label_index
from emotion.smoothing import EmotionSmoother


def one_hot(emotion: str, strength: float = 0.9) -> np.ndarray:
    p = np.full(7, (1 - strength) / 6)
    p[label_index(emotion)] = strength
    return p


def feed(smoother: EmotionSmoother, emotion: str | None, start: float, seconds: float, fps: float = 15):
    states = []
    for i in range(int(seconds * fps)):
        states.append(smoother.update(None if emotion is None else one_hot(emotion), start + i / fps))
    return states


def test_first_emotion_becomes_stable_after_sustained_lead() -> None:
    s = EmotionSmoother(window_s=1.0, switch_after_s=0.8)
    states = feed(s, "happy", 0.0, 2.0)
    first_stable = next(i for i, st in enumerate(states) if st.stable == "happy")
    assert 0.8 <= first_stable / 15 <= 1.2
    assert states[first_stable].changed and not states[first_stable + 1].changed
    assert states[-1].confidence > 0.8


def test_brief_spike_does_not_switch() -> None:
    s = EmotionSmoother(window_s=1.0, switch_after_s=0.8)
    feed(s, "happy", 0.0, 3.0)
    states = feed(s, "angry", 3.0, 0.5)  # half a second of anger
    states += feed(s, "happy", 3.5, 2.0)
    assert all(st.stable == "happy" for st in states)
    assert not any(st.changed for st in states)


def test_sustained_change_switches_once() -> None:
    s = EmotionSmoother(window_s=1.0, switch_after_s=0.8)
    feed(s, "happy", 0.0, 3.0)
    states = feed(s, "sad", 3.0, 3.0)
    assert states[-1].stable == "sad"
    assert sum(st.changed for st in states) == 1
    switched_at = next(i for i, st in enumerate(states) if st.changed) / 15
    assert 0.8 < switched_at < 2.5  # the average must first turn, then hold for 0.8 s


def test_low_confidence_never_switches() -> None:
    s = EmotionSmoother(min_confidence=0.5)
    flat = np.full(7, 1 / 7)
    flat[label_index("fear")] += 0.05
    for i in range(60):
        state = s.update(flat / flat.sum(), i / 15)
    assert state.stable is None and state.leader == "fear"


def test_no_face_keeps_the_stable_emotion() -> None:
    s = EmotionSmoother()
    feed(s, "surprise", 0.0, 2.0)
    states = feed(s, None, 2.0, 5.0)
    assert all(st.stable == "surprise" for st in states)


def test_smoothing_is_time_based_not_frame_based() -> None:
    slow, fast = EmotionSmoother(), EmotionSmoother()
    feed(slow, "happy", 0.0, 3.0, fps=5)
    feed(fast, "happy", 0.0, 3.0, fps=30)
    a = feed(slow, "sad", 3.0, 0.6, fps=5)[-1].probs
    b = feed(fast, "sad", 3.0, 0.6, fps=30)[-1].probs
    assert np.allclose(a, b, atol=0.08)


def test_invalid_probabilities_are_rejected() -> None:
    with pytest.raises(ValueError, match="7 finite"):
        EmotionSmoother().update(np.ones(5), 0.0)
    with pytest.raises(ValueError, match="7 finite"):
        EmotionSmoother().update(np.full(7, np.nan), 0.0)
    assert len(EMOTIONS) == 7

"""The emotion CNN's architecture (Keras 3). Built here, trained by ``emotion.training.train``."""

from __future__ import annotations

import keras
from keras import layers

from emotion.labels import NUM_CLASSES
from emotion.preprocess import FACE_SIZE

# Per-block conv widths. The cost sits in the high-resolution blocks, so width grows as resolution falls.
DEFAULT_WIDTHS: tuple[int, ...] = (32, 48, 96, 192)
# Convs per block: one conv at full 48x48 resolution (the costliest pixels), two in the later blocks.
DEFAULT_CONVS: tuple[int, ...] = (1, 2, 2, 2)


def _conv_bn_relu(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_model(
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    convs_per_block: tuple[int, ...] = DEFAULT_CONVS,
    dense_units: int = 256,
    dropout: float = 0.4,
) -> keras.Model:
    """A VGG-style CNN with batch norm: ``len(widths)`` blocks of 3x3 convs and 2x2 max-pooling.

    Input: (N, 48, 48, 1) float pixel values in 0..255 (already contrast-normalised);
    output: (N, 7) softmax probabilities in ``EMOTIONS`` order (float32 even under mixed precision).
    """
    inputs = keras.Input((FACE_SIZE, FACE_SIZE, 1), name="face")
    # Centre the 0..255 input here so exported models take raw pixels.
    x = layers.Rescaling(1.0 / 64.0, offset=-2.0, name="scale")(inputs)
    if len(convs_per_block) != len(widths):
        raise ValueError("convs_per_block needs one entry per block")
    for b, (width, n_convs) in enumerate(zip(widths, convs_per_block), start=1):
        for c in range(1, n_convs + 1):
            x = _conv_bn_relu(x, width, f"b{b}c{c}")
        x = layers.MaxPooling2D(2, name=f"b{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, use_bias=False, name="fc")(x)
    x = layers.BatchNormalization(name="fc_bn")(x)
    x = layers.ReLU(name="fc_relu")(x)
    x = layers.Dropout(dropout, name="fc_drop")(x)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="probs")(logits)
    return keras.Model(inputs, outputs, name="moodtune_cnn")

"""Train the emotion CNN on FER2013: ``python -m emotion.training.train [--resume]``.

Trains on the Training split, selects on PublicTest and never reads PrivateTest. Every epoch writes a
checkpoint (weights, optimizer state, epoch, best PublicTest so far) to a git-ignored folder, so
``--resume`` continues the same run — the learning-rate schedule is defined over the planned total
epochs and driven by the optimizer's step counter, which the checkpoint restores. If the checkpoint is
gone (a new machine), ``--resume`` restarts from the committed best weights with a short warm-up.
Whenever PublicTest improves, the best weights are written to ``models/`` and re-exported for serving.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN kernels are ~1.5x faster for float32 convs here; bf16 is only fast on AVX-512 CPUs.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import config  # noqa: E402
from emotion.training.augment import WebcamConditions, augment_batch  # noqa: E402
from emotion.preprocess import normalize_faces  # noqa: E402
from emotion.training.data import FaceSet, load_raw_split, load_split, load_votes  # noqa: E402
from emotion.training.ferplus import VoteRecipe, vote_targets  # noqa: E402
from emotion.training.distill import load_soft_labels, training_targets  # noqa: E402
from emotion.training.runs import new_run_id, run_seed  # noqa: E402
from emotion.geometry import framing_tables, read_geometry  # noqa: E402
from emotion.labels import NUM_CLASSES  # noqa: E402
from emotion.training.model import DEFAULT_CONVS, DEFAULT_WIDTHS, build_model  # noqa: E402

CHECKPOINT_NAME = "last.keras"
STATE_NAME = "state.json"
BEST_WEIGHTS_NAME = "best.weights.h5"


@dataclass
class TrainConfig:
    """Everything that defines a run; saved in the checkpoint so ``--resume`` continues the same run."""

    run_id: str = ""
    epochs: int = 30
    batch_size: int = 128
    peak_lr: float = 2e-3
    weight_decay: float = 5e-4
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    class_weight_power: float = 0.5
    widths: list[int] = field(default_factory=lambda: list(DEFAULT_WIDTHS))
    convs_per_block: list[int] = field(default_factory=lambda: list(DEFAULT_CONVS))
    dense_units: int = 256
    dropout: float = 0.4
    # Framing augmentation is drawn from the measured crop geometry (emotion.training.augment); this names the file.
    geometry_file: str = "models/crop_geometry.json"
    # The runs whose weights this one grew from, oldest first, ending with this run (emotion.lineage).
    lineage: list[str] = field(default_factory=list)
    gamma_range: tuple[float, float] = (0.7, 1.45)
    # Share of zoomed-out faces whose surroundings come from a random backdrop instead of a mirror.
    backdrop_p: float = 0.5
    # Distillation (emotion.training.distill): the ensemble's soft labels, and their share of each target.
    soft_labels: str = ""
    distill_weight: float = 0.0
    # FER+ votes (emotion.training.ferplus): the largest share of a target they may take (0 = unused), and
    # how strongly a face's weight follows its annotators' agreement with its FER2013 label.
    vote_blend: float = 0.0
    vote_agreement_weight: float = 0.0
    seed: int = 1234
    # bfloat16 halves epoch time only on CPUs with AVX-512 BF16; elsewhere it is ~10x slower.
    mixed_precision: bool = False


@keras.saving.register_keras_serializable(package="moodtune")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``peak`` then cosine decay to ``floor`` over ``total_steps``."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, floor: float = 1e-5) -> None:
        self.peak = peak
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.floor = floor

    def __call__(self, step):  # type: ignore[no-untyped-def]
        step = keras.ops.cast(step, "float32")
        warm = self.peak * (step + 1.0) / max(self.warmup_steps, 1)
        progress = (step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1)
        progress = keras.ops.clip(progress, 0.0, 1.0)
        cosine = self.floor + 0.5 * (self.peak - self.floor) * (1.0 + keras.ops.cos(math.pi * progress))
        return keras.ops.where(step < self.warmup_steps, warm, cosine)

    def get_config(self) -> dict:
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "floor": self.floor,
        }


def config_from_dict(raw: dict) -> TrainConfig:
    """A ``TrainConfig`` from a saved dict; keys of older recipes that no longer exist are dropped."""
    known = {f for f in TrainConfig.__dataclass_fields__}
    cfg = TrainConfig(**{k: v for k, v in raw.items() if k in known})
    cfg.gamma_range = tuple(cfg.gamma_range)
    return cfg


def class_weights(labels: np.ndarray, power: float) -> np.ndarray:
    """Per-class loss weights ``(N / (K * n_c)) ** power``: 0 = none, 1 = fully balanced.

    A mild power lifts rare classes (disgust has 436 training faces) without giving up much accuracy.
    """
    counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    weights = (len(labels) / (NUM_CLASSES * np.maximum(counts, 1))) ** power
    return (weights / np.sum(weights * counts) * len(labels)).astype(np.float32)


def make_dataset(faces: FaceSet, cfg: TrainConfig, training: bool, weights: np.ndarray | None = None,
                 targets: np.ndarray | None = None):
    """A batched ``tf.data`` pipeline of (image, target[, sample weight]) with on-the-fly augmentation.

    ``targets`` are per-face distributions (default: one-hot labels); ``weights`` one per face.
    """
    images = faces.images[..., None]
    onehot = training_targets(faces.labels, None, 0.0) if targets is None else targets
    tensors: tuple = (images, onehot)
    if weights is not None:
        tensors = (images, onehot, weights.astype(np.float32))
    ds = tf.data.Dataset.from_tensor_slices(tensors)
    if training:
        ds = ds.shuffle(len(faces), reshuffle_each_iteration=True)  # seeded by the global seed
    ds = ds.batch(cfg.batch_size, drop_remainder=training)

    tables = framing_tables(read_geometry(config.ROOT / cfg.geometry_file)) if training else None
    conditions = WebcamConditions(gamma_range=tuple(cfg.gamma_range), backdrop_p=cfg.backdrop_p)

    def to_float(x, *rest):  # type: ignore[no-untyped-def]
        x = tf.cast(x, tf.float32)
        return (augment_batch(x, tables, conditions) if training else x, *rest)

    return ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


def compile_model(model: keras.Model, cfg: TrainConfig, steps_per_epoch: int, warmup_epochs: float) -> None:
    """Attach AdamW with the warm-up + cosine schedule over the planned total epochs."""
    schedule = WarmupCosine(
        peak=cfg.peak_lr,
        total_steps=cfg.epochs * steps_per_epoch,
        warmup_steps=int(warmup_epochs * steps_per_epoch),
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=cfg.weight_decay),
        # With soft targets this is distillation at temperature 1 (cross-entropy to the teachers' mix).
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="acc")],
    )


def replan_schedule(model: keras.Model, cfg: TrainConfig, epochs: int, steps_per_epoch: int) -> None:
    """Make a resumed run's cosine end at ``epochs`` instead of the planned total (e.g. less time left).

    The decay continues from the step reached, over the new total, so the rate drops at once to where
    the shorter plan would be and then ends at the floor on the last epoch.
    """
    old = model.optimizer._learning_rate  # the schedule object (the public property gives its value)
    model.optimizer.learning_rate = WarmupCosine(old.peak, epochs * steps_per_epoch, old.warmup_steps, old.floor)
    print(f"re-planned: the schedule now ends at epoch {epochs} (was {cfg.epochs})", flush=True)
    cfg.epochs = epochs


def _read_state(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)  # atomic: a kill mid-write never leaves half a state file


def append_history(path: Path, row: dict) -> None:
    """Append one epoch to the committed history CSV (kept across resumes and sessions)."""
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


class EpochCheckpoint(keras.callbacks.Callback):
    """Per epoch: checkpoint (weights + optimizer + epoch), history row, and best-so-far export."""

    def __init__(self, cfg: TrainConfig, ckpt_dir: Path, models_dir: Path, best_val: float,
                 deadline: float | None, export: bool) -> None:
        super().__init__()
        self.cfg, self.ckpt_dir, self.models_dir = cfg, ckpt_dir, models_dir
        self.best_val, self.deadline, self.export = best_val, deadline, export
        self.epoch_started = time.time()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch_started = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        val_acc = float(logs.get("val_acc", 0.0))
        improved = val_acc > self.best_val
        if improved:
            self.best_val = val_acc
        state = {"epoch": epoch + 1, "best_val_acc": self.best_val, "config": asdict(self.cfg)}
        if improved:
            self.model.save_weights(self.ckpt_dir / BEST_WEIGHTS_NAME)
            if self.export:
                save_serving_model(self.model, self.cfg, self.models_dir)
                # Describes the committed weights: lets --resume on a new machine (no checkpoint) carry
                # on from them, and a later run know the PublicTest accuracy it has to beat.
                _write_json(self.models_dir / "train_state.json", state)
        self.model.save(self.ckpt_dir / CHECKPOINT_NAME)
        _write_json(self.ckpt_dir / STATE_NAME, state)
        lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row = {
            "run_id": self.cfg.run_id,
            "epoch": epoch + 1,
            "train_loss": round(float(logs.get("loss", float("nan"))), 4),
            "train_acc": round(float(logs.get("acc", float("nan"))), 4),
            "public_loss": round(float(logs.get("val_loss", float("nan"))), 4),
            "public_acc": round(val_acc, 4),
            "lr": f"{lr:.3g}",
            "epoch_s": round(time.time() - self.epoch_started, 1),
        }
        append_history(self.models_dir / config.HISTORY_PATH.name, row)
        print(f"[epoch {epoch + 1}/{self.cfg.epochs}] " + json.dumps(row) + (" *best*" if improved else ""),
              flush=True)
        if self.deadline is not None and time.time() + row["epoch_s"] > self.deadline:
            print("time budget reached: stopping after a checkpoint; continue with --resume", flush=True)
            self.model.stop_training = True


def save_serving_model(model: keras.Model, cfg: TrainConfig, models_dir: Path) -> None:
    """Write the best weights as a float32 Keras model (no optimizer: small) plus the TFLite export."""
    from emotion.training.export import export_tflite

    serving = build_float32_model(cfg)
    serving.set_weights(model.get_weights())
    serving.save(models_dir / config.KERAS_MODEL_PATH.name)
    export_tflite(serving, models_dir / config.TFLITE_MODEL_PATH.name)
    _write_json(models_dir / "train_config.json", asdict(cfg))


def build_float32_model(cfg: TrainConfig) -> keras.Model:
    """The architecture of ``cfg`` in float32, whatever the global precision policy is."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return build_model(tuple(cfg.widths), tuple(cfg.convs_per_block), cfg.dense_units, cfg.dropout)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=config.FER2013_PATH, help="fer2013.npz path")
    p.add_argument("--resume", action="store_true", help="continue the run in --checkpoint-dir")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"planned total epochs of the run (default {defaults.epochs}); with --resume, "
                        "re-plans the rest of the schedule to end at this epoch instead")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.peak_lr, help="peak learning rate")
    p.add_argument("--warmup-epochs", type=float, default=defaults.warmup_epochs)
    p.add_argument("--widths", type=str, default=",".join(map(str, defaults.widths)))
    p.add_argument("--patience", type=int, default=15, help="early stopping on PublicTest accuracy")
    p.add_argument("--max-minutes", type=float, default=None, help="stop (checkpointed) before this")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed of a new run (default: drawn from the run id, so runs differ)")
    p.add_argument("--class-weight-power", type=float, default=defaults.class_weight_power,
                   help="0 = plain loss, 1 = fully class-balanced")
    p.add_argument("--soft-labels", type=Path, default=None,
                   help="distil: the teachers' soft labels from python -m emotion.training.distill")
    p.add_argument("--distill-weight", type=float, default=0.7,
                   help="with --soft-labels: the soft label's share of each target (rest: the true label)")
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    p.add_argument("--vote-blend", type=float, default=defaults.vote_blend,
                   help="FER+ votes: their largest share of a target (shrunk for the classes FER+ makes rare); "
                        "0 = FER2013 labels only")
    p.add_argument("--vote-agreement-weight", type=float, default=defaults.vote_agreement_weight,
                   help="FER+ votes: 0..1, how strongly a face's weight follows its annotators' agreement")
    p.add_argument("--parent-lineage", type=str, default="",
                   help="with --init-weights from a file outside models/: its runs, oldest first, comma-separated")
    p.add_argument("--replace", action="store_true",
                   help="with --init-weights: this run's best replaces the committed weights even if its "
                        "PublicTest is lower (a new recipe, e.g. new crop geometry, that must be served)")
    p.add_argument("--init-weights", type=Path, default=None,
                   help="start a NEW run from these Keras weights (e.g. models/emotion_cnn.keras)")
    p.add_argument("--checkpoint-dir", type=Path, default=config.CHECKPOINT_DIR)
    p.add_argument("--models-dir", type=Path, default=config.MODELS_DIR)
    p.add_argument("--smoke", action="store_true", help="a few batches on a small subset (CI)")
    p.add_argument("--mixed-precision", action="store_true", help="bfloat16 (AVX-512 BF16 CPUs only)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config.exit_on_settings_problems("emotion.training.train")
    args.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    args.models_dir.mkdir(parents=True, exist_ok=True)
    state = _read_state(args.checkpoint_dir / STATE_NAME) if args.resume else None

    if state is not None:
        cfg = config_from_dict(state["config"])
    else:
        run_id = new_run_id()
        cfg = TrainConfig(
            run_id=run_id,
            epochs=args.epochs or TrainConfig().epochs,
            batch_size=args.batch_size,
            peak_lr=args.lr,
            warmup_epochs=args.warmup_epochs,
            widths=[int(w) for w in args.widths.split(",")],
            seed=run_seed(run_id, args.seed),
            class_weight_power=args.class_weight_power,
            label_smoothing=args.label_smoothing,
            soft_labels=str(args.soft_labels) if args.soft_labels else "",
            distill_weight=args.distill_weight if args.soft_labels else 0.0,
            vote_blend=args.vote_blend,
            vote_agreement_weight=args.vote_agreement_weight,
            mixed_precision=args.mixed_precision,
        )
    # A resumed run must not replay the shuffles and augmentations of its first epochs.
    keras.utils.set_random_seed(cfg.seed + (int(state.get("epoch", 0)) if state else 0))
    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")

    keep = None
    if args.smoke:
        # A few batches: pick them before normalising, which costs seconds on all 28,709 faces.
        raw_images, raw_labels = load_raw_split(args.data, "train")
        keep = np.random.default_rng(cfg.seed).permutation(len(raw_labels))[: cfg.batch_size * 4]
        train = FaceSet(normalize_faces(raw_images[keep]), raw_labels[keep])
        public_images, public_labels = load_raw_split(args.data, "public")
        public = FaceSet(normalize_faces(public_images[:256]), public_labels[:256])
        cfg.epochs = min(cfg.epochs, 2)
        all_train_labels = raw_labels  # soft labels are made for, and checked against, the whole split
    else:
        train, public = load_split(args.data, "train"), load_split(args.data, "public")
        all_train_labels = train.labels
    soft = None
    if cfg.soft_labels:
        try:
            soft = load_soft_labels(Path(cfg.soft_labels), all_train_labels).probs
        except (FileNotFoundError, ValueError) as err:
            print(f"cannot distil: {err}", file=sys.stderr)
            return 2
        print(f"distilling: {cfg.distill_weight:.0%} of each target from {cfg.soft_labels}", flush=True)
    if keep is not None and soft is not None:
        soft = soft[keep]
    weights = class_weights(train.labels, cfg.class_weight_power)
    targets = training_targets(train.labels, soft, cfg.distill_weight)
    sample_weights = weights[train.labels]
    votes = load_votes(args.data, "train") if (cfg.vote_blend > 0 or cfg.vote_agreement_weight > 0) else None
    if votes is not None:
        if args.smoke:
            votes = votes[keep]
        voted = vote_targets(train.labels, votes, weights, VoteRecipe(cfg.vote_blend, cfg.vote_agreement_weight))
        dropped = int((~voted.keep).sum())
        train = FaceSet(train.images[voted.keep], train.labels[voted.keep])
        # the votes take their share of what remains after distillation's, if both are used
        targets = (targets[voted.keep] + voted.targets - np.eye(NUM_CLASSES, dtype=np.float32)[train.labels])
        sample_weights = voted.sample_weights
        print(f"FER+ votes: {dropped} faces dropped as not a face; blend per class "
              f"{np.round(voted.blend_shares, 3).tolist()}", flush=True)
    elif cfg.vote_blend > 0 or cfg.vote_agreement_weight > 0:
        print(f"cannot use FER+ votes: {args.data} has none (use fer2013_ferplus.npz)", file=sys.stderr)
        return 2
    train_ds = make_dataset(train, cfg, training=True, weights=sample_weights, targets=targets)
    public_ds = make_dataset(public, cfg, training=False)
    steps = len(train) // cfg.batch_size

    initial_epoch, best_val = 0, -1.0
    ckpt = args.checkpoint_dir / CHECKPOINT_NAME
    if state is not None and ckpt.exists():
        model = keras.models.load_model(ckpt)
        initial_epoch, best_val = int(state["epoch"]), float(state["best_val_acc"])
        print(f"resuming run {cfg.run_id} at epoch {initial_epoch}/{cfg.epochs} "
              f"(best PublicTest {best_val:.4f})", flush=True)
        if args.epochs and args.epochs != cfg.epochs:
            replan_schedule(model, cfg, max(args.epochs, initial_epoch + 1), steps)
    else:
        model = build_model(tuple(cfg.widths), tuple(cfg.convs_per_block), cfg.dense_units, cfg.dropout)
        warmup = cfg.warmup_epochs
        committed = args.models_dir / config.KERAS_MODEL_PATH.name
        if args.resume and committed.exists():
            # No checkpoint on this machine: start from the committed best weights, with a short warm-up
            # back to the schedule's learning rate, rather than from scratch.
            model.set_weights(keras.models.load_model(committed, compile=False).get_weights())
            prior = _read_state(args.models_dir / "train_state.json") or {}
            initial_epoch, best_val = int(prior.get("epoch", 0)), float(prior.get("best_val_acc", -1.0))
            cfg = config_from_dict({**asdict(cfg), **prior.get("config", {})}) if prior else cfg
            warmup = 1.0
            print(f"no checkpoint: restarting from committed weights at epoch {initial_epoch}", flush=True)
        elif args.init_weights is not None:
            model.set_weights(keras.models.load_model(args.init_weights, compile=False).get_weights())
            cfg.lineage = [*args.parent_lineage.split(","), cfg.run_id] if args.parent_lineage else [cfg.run_id]
            if args.init_weights.resolve() == (args.models_dir / config.KERAS_MODEL_PATH.name).resolve():
                committed_cfg = _read_state(args.models_dir / "train_config.json") or {}
                cfg.lineage = [*committed_cfg.get("lineage", [committed_cfg.get("run_id", "")]), cfg.run_id]
            # The committed model stays unless this run beats its PublicTest accuracy.
            committed_state = {} if args.replace else _read_state(args.models_dir / "train_state.json") or {}
            best_val = float(committed_state.get("best_val_acc", -1.0))
            print(f"new run {cfg.run_id} starting from the weights in {args.init_weights} "
                  f"(PublicTest to beat: {best_val:.4f})", flush=True)
        compile_model(model, cfg, steps, warmup)
        if initial_epoch:
            model.optimizer.iterations.assign(initial_epoch * steps)

    print(f"training {model.count_params():,} parameters on {len(train)} faces, "
          f"{steps} steps/epoch, epochs {initial_epoch + 1}..{cfg.epochs}", flush=True)
    deadline = time.time() + args.max_minutes * 60 if args.max_minutes else None
    callbacks = [
        EpochCheckpoint(cfg, args.checkpoint_dir, args.models_dir, best_val, deadline, export=not args.smoke),
        keras.callbacks.EarlyStopping(monitor="val_acc", mode="max", patience=args.patience),
    ]
    model.fit(
        train_ds.take(3) if args.smoke else train_ds,
        validation_data=public_ds,
        epochs=cfg.epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=2,
    )
    final = _read_state(args.checkpoint_dir / STATE_NAME) or {}
    print(f"done: best PublicTest accuracy {final.get('best_val_acc', float('nan')):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Cats vs dogs transfer learning in Keras 3: the peer of bench/cnn.mjs's graft run.

The same workflow as

    graft transfer --backbone mobilenetv2:0.35 --weights TM_MODEL_JSON --input 64 \
      --task cifar10:binary=cat,dog --head-pool avg --head-hidden 256 \
      --frozen-optimizer adam --frozen-lr 0.001 --frozen-epochs 10 \
      --unfreeze from:block_16_expand --epochs 10 --optimizer adam --lr 0.0001

starting from the very same backbone weights: graft exports its backbone (preprocessing layer
included, so it takes [0, 1] RGB pixels) with bench/export-backbone.mjs, and this script loads
that .keras file.

  1. Read every image of the two class folders of the train and test splits of DATA_DIR
     (DATA_DIR/cifar10/{train,test}/{cat,dog}/*.jpg, or DATA_DIR/{train,test}/...): the harness
     builds a tree holding exactly the chosen training subset. --per-class N keeps the first N
     files per class (by name) instead. Decode, resize bilinearly to SIDE x SIDE, scale to [0, 1].
  2. Model: backbone -> GlobalAveragePooling2D -> Dense(256, relu) -> Dense(1, sigmoid), built on
     the backbone's own layers (not nested), so each layer's `trainable` flag is its own.
  3. Frozen phase: every backbone layer frozen (BatchNormalization then runs in inference mode),
     Adam(1e-3), binary cross-entropy, batch 32, reshuffled every epoch; evaluate on the test split.
  4. Unfrozen phase: the backbone layers from --unfreeze-from to the end trainable (graft's
     `from:LAYER`; Keras 3 runs a trainable BatchNormalization in training mode, as graft does),
     recompile with Adam(1e-4); train; evaluate.

Only the fit() calls are timed (frozen_seconds, unfrozen_seconds, like graft's phase seconds);
data loading and evaluation are reported separately. Prints one JSON line on stdout.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import image_lists  # noqa: E402 (beside this script)



def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", required=True, help=".keras file written by bench/export-backbone.mjs")
    p.add_argument("--data-dir", required=True, help="folder holding cifar10/{train,test}/<class>/ (or {train,test}/<class>/)")
    p.add_argument("--classes", default="cat,dog", help="the two class folders; the first is label 0 (default cat,dog)")
    p.add_argument("--per-class", type=int, default=0, help="keep the first N training files per class, by name (default: all)")
    p.add_argument("--test-per-class", type=int, default=0, help="keep the first N test files per class (default: all)")
    p.add_argument("--frozen-epochs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10, help="epochs of the unfrozen phase (0 skips it)")
    p.add_argument("--frozen-lr", type=float, default=1e-3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--head-hidden", type=int, default=256)
    p.add_argument("--unfreeze-from", default="block_16_expand", help="first backbone layer trained in the unfrozen phase")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keras-shuffle", action="store_true",
                   help="use fit(shuffle=True) as it is: with a seed set, one permutation for every epoch (see fit_phase)")
    return p.parse_args()


def list_split(data_dir, split, classes, per_class):
    files, labels = image_lists.list_split(data_dir, split, classes, per_class, "keras_cats_dogs")
    return files, np.asarray(labels, dtype="float32")


def load_images(files, side):
    out = np.empty((len(files), side, side, 3), dtype="float32")
    for i, f in enumerate(files):
        img = tf.io.decode_image(tf.io.read_file(f), channels=3, expand_animations=False)
        img = tf.image.resize(tf.cast(img, tf.float32), (side, side), method="bilinear")
        out[i] = img.numpy() / 255.0
    return out


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []
        self._t = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._t = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t)


def fit_phase(model, x, y, epochs, lr, batch_size, rng):
    """Trains `epochs` epochs, each on a fresh permutation drawn from `rng` (None: Keras's own
    fit(shuffle=True), for --keras-shuffle).

    Not fit(shuffle=True): after keras.utils.set_random_seed, Keras 3 (TF backend, seen with 3.15.1)
    draws the same permutation for every epoch, and a fixed batch order (fixed BatchNorm batches)
    changes what fine-tuning learns. graft reshuffles every epoch, as fit's docs promise.
    """
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="binary_crossentropy", metrics=["accuracy"])
    times = EpochTimes()
    losses, accs = [], []
    t0 = time.perf_counter()
    if rng is None:
        h = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=[times])
        losses, accs = h.history.get("loss", []), h.history.get("accuracy", [])
    else:
        for _ in range(epochs):
            p = rng.permutation(len(x))
            h = model.fit(x[p], y[p], batch_size=batch_size, epochs=1, shuffle=False, verbose=0, callbacks=[times])
            losses += h.history.get("loss", [])
            accs += h.history.get("accuracy", [])
    seconds = time.perf_counter() - t0
    return seconds, times.seconds, [float(v) for v in losses], [float(v) for v in accs]


def evaluate(model, x, y, batch_size):
    t0 = time.perf_counter()
    loss, acc = model.evaluate(x, y, batch_size=max(batch_size, 128), verbose=0)
    return float(loss), float(acc), time.perf_counter() - t0


def main():
    a = parse_args()
    classes = [c.strip() for c in a.classes.split(",") if c.strip()]
    if len(classes) != 2:
        sys.exit("keras_cats_dogs: --classes takes exactly two class folders")
    keras.utils.set_random_seed(a.seed)
    order_rng = None if a.keras_shuffle else np.random.default_rng(a.seed)

    base = keras.saving.load_model(a.backbone, compile=False)
    side = int(base.input_shape[1])
    names = [l.name for l in base.layers]
    if a.unfreeze_from not in names:
        sys.exit(f"keras_cats_dogs: the backbone has no layer {a.unfreeze_from}")
    first = names.index(a.unfreeze_from)

    t0 = time.perf_counter()
    train_files, y_train = list_split(a.data_dir, "train", classes, a.per_class)
    test_files, y_test = list_split(a.data_dir, "test", classes, a.test_per_class)
    x_train = load_images(train_files, side)
    x_test = load_images(test_files, side)
    data_seconds = time.perf_counter() - t0

    # base.outputs[0], not base.output: graft's export lists the single output as [[name, 0, 0]],
    # which Keras 3 reads as a one-element list of outputs.
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(base.outputs[0])
    x = keras.layers.Dense(a.head_hidden, activation="relu", name="head_hidden")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="head_output")(x)
    model = keras.Model(base.inputs[0], out, name="cats_dogs")

    for layer in base.layers:
        layer.trainable = False
    frozen_seconds, frozen_epochs_s, frozen_loss, frozen_acc = fit_phase(model, x_train, y_train, a.frozen_epochs, a.frozen_lr, a.batch_size, order_rng)
    frozen_test_loss, frozen_test_acc, eval1 = evaluate(model, x_test, y_test, a.batch_size)

    unfrozen_seconds, unfrozen_epochs_s, unfrozen_loss, unfrozen_acc = 0.0, [], [], []
    test_loss, test_acc, eval2 = frozen_test_loss, frozen_test_acc, 0.0
    trained = []
    if a.epochs > 0:
        for i, layer in enumerate(base.layers):
            layer.trainable = i >= first
        trained = [l.name for l in model.layers if l.trainable and l.trainable_weights]
        unfrozen_seconds, unfrozen_epochs_s, unfrozen_loss, unfrozen_acc = fit_phase(model, x_train, y_train, a.epochs, a.lr, a.batch_size, order_rng)
        test_loss, test_acc, eval2 = evaluate(model, x_test, y_test, a.batch_size)

    r = lambda v: round(v, 4)  # noqa: E731
    print(json.dumps({
        "system": "keras",
        "keras": keras.__version__,
        "tf": tf.__version__,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "backbone": os.path.abspath(a.backbone),
        "input": side,
        "train_images": int(len(train_files)),
        "test_images": int(len(test_files)),
        "data_seconds": r(data_seconds),
        "frozen_epochs": a.frozen_epochs,
        "epochs": a.epochs,
        "frozen_seconds": r(frozen_seconds),
        "frozen_epoch_seconds": [r(s) for s in frozen_epochs_s],
        "frozen_loss": [r(v) for v in frozen_loss],
        "frozen_accuracy": [r(v) for v in frozen_acc],
        "unfrozen_seconds": r(unfrozen_seconds),
        "unfrozen_epoch_seconds": [r(s) for s in unfrozen_epochs_s],
        "unfrozen_loss": [r(v) for v in unfrozen_loss],
        "unfrozen_accuracy": [r(v) for v in unfrozen_acc],
        "unfrozen_trainable_layers": trained,
        "frozen_test_loss": r(frozen_test_loss),
        "frozen_test_acc": r(frozen_test_acc),
        "test_loss": r(test_loss),
        "test_acc": r(test_acc),
        "order": "keras-fit-shuffle" if a.keras_shuffle else "reshuffled-each-epoch",
        "eval_seconds": r(eval1 + eval2),
    }))


if __name__ == "__main__":
    main()

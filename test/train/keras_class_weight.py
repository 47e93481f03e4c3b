"""Real Keras 3 training with class_weight: the reference graft's class weights are tested against.

Reads a JSON list of jobs (argv[1]), each: the model's Dense layers with their starting weights, the loss, the
optimizer, each epoch's samples in the order graft's fit visits them, the batch size and the class
weight ("balanced" is computed here, independently of graft, as scikit-learn's formula
n_samples / (n_classes * bincount(y))). Trains with model.fit(shuffle=False, class_weight=...) one
epoch at a time, so Keras sees the same batches. Writes JSON (argv[2]): per-epoch loss as Keras's
history reports it, the final weights, and the class weights used; one result per job, in order.
test/train/class-weight.test.ts writes the jobs and runs this; with GRAFT_WRITE_KERAS_REFERENCE=1 it
also records the results in fixtures/keras/class-weight-reference.json for machines without Keras.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import numpy as np  # noqa: E402
import keras  # noqa: E402


def main(jobs_path, out_path):
    with open(jobs_path) as f:
        jobs = json.load(f)
    results = [train(job) for job in jobs]
    with open(out_path, "w") as f:
        json.dump(results, f)


def train(job):
    keras.utils.set_random_seed(0)
    layers = [keras.Input((job["inputDim"],))]
    for spec in job["layers"]:
        layers.append(keras.layers.Dense(spec["units"], activation=spec["activation"]))
    model = keras.Sequential(layers)
    weights = []
    for spec in job["layers"]:
        weights.append(np.array(spec["kernel"], dtype="float32").reshape(spec["kernelShape"]))
        weights.append(np.array(spec["bias"], dtype="float32"))
    model.set_weights(weights)

    if job["loss"] == "binary":
        loss = keras.losses.BinaryCrossentropy(from_logits=job["fromLogits"])
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=job["fromLogits"])
    opt = job["optimizer"]
    if opt["name"] == "adam":
        optimizer = keras.optimizers.Adam(learning_rate=opt["learningRate"])
    else:
        optimizer = keras.optimizers.SGD(learning_rate=opt["learningRate"], momentum=opt.get("momentum", 0.0))
    callbacks = []
    if opt["name"] == "adam" and job.get("tfjsAdamEpsilon"):
        # TF.js's Adam (graft's, on both engines) adds epsilon to sqrt of the bias-corrected v;
        # Keras adds it to sqrt of the raw v. They agree when Keras's epsilon at step t is
        # epsilon * sqrt(1 - beta_2^t): set before every batch, eagerly so that it is read each step.
        callbacks.append(TfjsAdamEpsilon(optimizer))
    model.compile(optimizer=optimizer, loss=loss, run_eagerly=bool(callbacks))

    y_all = np.array(job["epochs"][0]["y"], dtype="int64")
    classes = job["classes"]
    if job["classWeight"] == "balanced":
        counts = np.bincount(y_all, minlength=classes)
        class_weight = {c: float(len(y_all) / (classes * counts[c])) for c in range(classes)}
    else:
        class_weight = {int(k): float(v) for k, v in job["classWeight"].items()}

    losses = []
    for epoch in job["epochs"]:
        x = np.array(epoch["x"], dtype="float32").reshape(-1, job["inputDim"])
        y = np.array(epoch["y"], dtype="float32" if job["loss"] == "binary" else "int64")
        if job["loss"] == "binary":
            y = y.reshape(-1, 1)
        h = model.fit(x, y, batch_size=job["batchSize"], epochs=1, shuffle=False, class_weight=class_weight, verbose=0, callbacks=callbacks)
        losses.append(float(h.history["loss"][0]))
    return {
        "kerasVersion": keras.__version__,
        "losses": losses,
        "weights": [w.reshape(-1).astype("float64").tolist() for w in model.get_weights()],
        "classWeight": {str(k): v for k, v in class_weight.items()},
    }


class TfjsAdamEpsilon(keras.callbacks.Callback):
    def __init__(self, optimizer):
        super().__init__()
        self.opt = optimizer
        self.base = optimizer.epsilon

    def on_train_batch_begin(self, batch, logs=None):
        t = int(self.opt.iterations.numpy()) + 1
        self.opt.epsilon = self.base * float(np.sqrt(1 - self.opt.beta_2**t))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

#!/usr/bin/env python3
"""PyTorch peer of bench/cnn.mjs's Keras arm: the same work as keras_cats_dogs.py, in PyTorch.

The backbone is graft's own export (bench/export-backbone.mjs: a Keras 3 .keras file holding the
MobileNetV2 graph with graft's preprocessing layer in front). Its weights are read once with Keras
in a child process (--dump-weights, so TensorFlow never loads into the timed process), and the
graph is rebuilt layer by layer in PyTorch from the file's config: Rescaling, Conv2D and
DepthwiseConv2D (TF's "same" padding, asymmetric when the total is odd), ZeroPadding2D,
BatchNormalization (Keras's epsilon and momentum), ReLU(max 6), Add. Head: global average pool ->
Linear 256 relu -> Linear 1 (sigmoid cross-entropy from logits), Glorot-uniform weights, zero biases.

Data as the Keras peer: the first --per-class files per class by name (0 = all), decoded, resized
bilinearly (half-pixel centres, no antialiasing: TF's resize) to the backbone's side, scaled to
[0, 1]. Frozen phase: every backbone layer frozen (BatchNorm in inference mode), Adam(frozen-lr);
unfrozen phase: the layers from --unfreeze-from on trainable (their BatchNorm in training mode), a
new Adam(lr). Adam's epsilon is Keras's 1e-7. Batch 32, a fresh order every epoch from one seeded
generator. Prints one JSON line with the Keras peer's keys.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import image_lists  # noqa: E402 (beside this script)



def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backbone", help="graft's backbone as a .keras file (bench/export-backbone.mjs)")
    p.add_argument("--data-dir", help="folder with [cifar10/]{train,test}/<class>/ images")
    p.add_argument("--classes", default="cat,dog")
    p.add_argument("--per-class", type=int, default=0)
    p.add_argument("--test-per-class", type=int, default=0)
    p.add_argument("--frozen-epochs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--frozen-lr", type=float, default=1e-3)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--head-hidden", type=int, default=256)
    p.add_argument("--unfreeze-from", default="block_16_expand")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2: the bench machine's cores)")
    p.add_argument("--dump-weights", nargs=2, metavar=("KERAS", "NPZ"), help=argparse.SUPPRESS)
    return p.parse_args()


def dump_weights(keras_file, npz):
    """Child process: every layer's weights by layer name, in Keras's get_weights() order."""
    import keras

    model = keras.saving.load_model(keras_file, compile=False)
    np.savez(npz, **{f"{l.name}:{i}": w for l in model.layers for i, w in enumerate(l.get_weights())})


def list_split(data_dir, split, classes, per_class):
    files, labels = image_lists.list_split(data_dir, split, classes, per_class, "torch_mobilenetv2_cats_dogs")
    return files, np.asarray(labels, dtype="float32")


def load_images(torch, files, side):
    from PIL import Image
    import torch.nn.functional as F

    out = torch.empty((len(files), 3, side, side), dtype=torch.float32)
    for i, f in enumerate(files):
        img = torch.from_numpy(np.asarray(Image.open(f).convert("RGB"), dtype=np.float32)).permute(2, 0, 1)[None]
        out[i] = F.interpolate(img, size=(side, side), mode="bilinear", align_corners=False, antialias=False)[0] / 255.0
    return out


def build(torch, config, weights):
    """The Keras functional graph as a PyTorch module (NCHW), layer names kept."""
    nn = torch.nn
    F = torch.nn.functional
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731

    def same_pads(size, k, s, d):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        return total // 2, total - total // 2

    class Layer(nn.Module):
        def __init__(self, spec):
            super().__init__()
            self.kind, self.cfg, self.name = spec["class_name"], spec["config"], spec["name"]
            self.inputs = [n[0] for n in spec["inbound_nodes"][0]] if spec["inbound_nodes"] else []
            c, w = self.cfg, [weights[k] for k in sorted((k for k in weights if k.split(":")[0] == self.name), key=lambda k: int(k.split(":")[1]))]
            if self.kind in ("Conv2D", "DepthwiseConv2D"):
                kernel = w[0]  # [kh, kw, in, out] or [kh, kw, C, multiplier]
                if self.kind == "Conv2D":
                    self.weight = nn.Parameter(t(kernel.transpose(3, 2, 0, 1)))
                    self.groups = 1
                else:
                    kh, kw, ch, mult = kernel.shape
                    self.weight = nn.Parameter(t(kernel.transpose(2, 3, 0, 1).reshape(ch * mult, 1, kh, kw)))
                    self.groups = ch
                self.bias = nn.Parameter(t(w[1])) if c.get("use_bias") else None
            elif self.kind == "BatchNormalization":
                self.bn = nn.BatchNorm2d(w[0].shape[0], eps=c["epsilon"], momentum=1 - c["momentum"])
                for p, v in zip((self.bn.weight, self.bn.bias, self.bn.running_mean, self.bn.running_var), w):
                    p.data.copy_(t(v))
            elif self.kind not in ("InputLayer", "Rescaling", "ReLU", "ZeroPadding2D", "Add"):
                sys.exit(f"torch_mobilenetv2_cats_dogs: no PyTorch form for the {self.kind} layer {self.name}")

        def forward(self, xs):
            c, x = self.cfg, xs[0]
            if self.kind == "Rescaling":
                return x * c["scale"] + c["offset"]
            if self.kind in ("Conv2D", "DepthwiseConv2D"):
                (kh, kw), (sh, sw) = c["kernel_size"], c["strides"]
                dh, dw = c.get("dilation_rate", [1, 1])
                if c["padding"] == "same":
                    (t0, b0), (l0, r0) = same_pads(x.shape[2], kh, sh, dh), same_pads(x.shape[3], kw, sw, dw)
                    x = F.pad(x, (l0, r0, t0, b0))
                return F.conv2d(x, self.weight, self.bias, (sh, sw), 0, (dh, dw), self.groups)
            if self.kind == "BatchNormalization":
                return self.bn(x)
            if self.kind == "ReLU":
                return torch.clamp(x, 0.0, c["max_value"]) if c.get("max_value") is not None else F.relu(x)
            if self.kind == "ZeroPadding2D":
                (t0, b0), (l0, r0) = c["padding"]
                return F.pad(x, (l0, r0, t0, b0))
            if self.kind == "Add":
                return sum(xs)
            return x

    class Graph(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(Layer(spec) for spec in config["layers"])
            outs = config["output_layers"]  # [[name, 0, 0]] or [name, 0, 0]
            self.output_name = outs[0][0] if isinstance(outs[0], list) else outs[0]

        def forward(self, x):
            values = {}
            for layer in self.layers:
                values[layer.name] = x if layer.kind == "InputLayer" else layer([values[n] for n in layer.inputs])
            return values[self.output_name]

    return Graph()


def main():
    a = parse_args()
    if a.dump_weights:
        dump_weights(*a.dump_weights)
        return
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    classes = [c.strip() for c in a.classes.split(",") if c.strip()]
    with zipfile.ZipFile(a.backbone) as z:
        config = json.loads(z.read("config.json"))["config"]
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "weights.npz")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--dump-weights", a.backbone, npz], check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        weights = dict(np.load(npz))
    base = build(torch, config, weights)
    names = [l.name for l in base.layers]
    if a.unfreeze_from not in names:
        sys.exit(f"torch_mobilenetv2_cats_dogs: the backbone has no layer {a.unfreeze_from}")
    first = names.index(a.unfreeze_from)
    side = int(config["layers"][0]["config"]["batch_shape"][1]) if "batch_shape" in config["layers"][0]["config"] else int(config["layers"][0]["config"]["batch_input_shape"][1])

    t0 = time.perf_counter()
    train_files, y_train = list_split(a.data_dir, "train", classes, a.per_class)
    test_files, y_test = list_split(a.data_dir, "test", classes, a.test_per_class)
    x_train, x_test = load_images(torch, train_files, side), load_images(torch, test_files, side)
    y_train_t, y_test_t = torch.from_numpy(y_train)[:, None], torch.from_numpy(y_test)[:, None]
    data_seconds = time.perf_counter() - t0

    channels = base(x_train[:1]).shape[1]
    hidden, out = torch.nn.Linear(channels, a.head_hidden), torch.nn.Linear(a.head_hidden, 1)
    for lin in (hidden, out):  # Keras's Dense defaults
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)

    def forward(x):
        return out(torch.relu(hidden(base(x).mean(dim=(2, 3)))))

    rng = np.random.default_rng(a.seed)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def set_trainable(from_index):
        for i, layer in enumerate(base.layers):
            on = from_index is not None and i >= from_index
            for p in layer.parameters():
                p.requires_grad_(on)
            layer.train(on)  # a frozen BatchNorm runs in inference mode, as in Keras

    def fit_phase(epochs, lr):
        params = [p for p in list(base.parameters()) + list(hidden.parameters()) + list(out.parameters()) if p.requires_grad]
        opt = torch.optim.Adam(params, lr=lr, eps=1e-7)
        seconds, losses, accs = [], [], []
        for _ in range(epochs):
            t = time.perf_counter()
            order = torch.from_numpy(rng.permutation(len(x_train)))
            total, correct = 0.0, 0
            for s in range(0, len(order), a.batch_size):
                idx = order[s:s + a.batch_size]
                logits = forward(x_train[idx])
                loss = loss_fn(logits, y_train_t[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                correct += int(((logits > 0).float() == y_train_t[idx]).sum())
            seconds.append(time.perf_counter() - t)
            losses.append(total / len(order))
            accs.append(correct / len(order))
        return sum(seconds), seconds, losses, accs

    def evaluate():
        t = time.perf_counter()
        modes = [l.training for l in base.layers]
        base.eval()
        with torch.no_grad():
            logits = torch.cat([forward(x_test[s:s + a.batch_size]) for s in range(0, len(x_test), a.batch_size)])
        for l, m in zip(base.layers, modes):
            l.train(m)
        return float(loss_fn(logits, y_test_t)), float(((logits > 0).float() == y_test_t).float().mean()), time.perf_counter() - t

    set_trainable(None)
    frozen_seconds, frozen_s, frozen_loss, frozen_acc = fit_phase(a.frozen_epochs, a.frozen_lr)
    frozen_test_loss, frozen_test_acc, eval1 = evaluate()
    unfrozen_seconds, unfrozen_s, unfrozen_loss, unfrozen_acc, eval2 = 0.0, [], [], [], 0.0
    test_loss, test_acc = frozen_test_loss, frozen_test_acc
    trained = []
    if a.epochs > 0:
        set_trainable(first)
        trained = [l.name for l in base.layers if any(p.requires_grad for p in l.parameters())]
        unfrozen_seconds, unfrozen_s, unfrozen_loss, unfrozen_acc = fit_phase(a.epochs, a.lr)
        test_loss, test_acc, eval2 = evaluate()

    r = lambda v: round(v, 4)  # noqa: E731
    print(json.dumps({
        "system": "torch", "torch": torch.__version__, "intra_op_threads": torch.get_num_threads(),
        "backbone": os.path.abspath(a.backbone), "input": side,
        "train_images": len(train_files), "test_images": len(test_files), "data_seconds": r(data_seconds),
        "frozen_epochs": a.frozen_epochs, "epochs": a.epochs,
        "frozen_seconds": r(frozen_seconds), "frozen_epoch_seconds": [r(s) for s in frozen_s],
        "frozen_loss": [r(v) for v in frozen_loss], "frozen_accuracy": [r(v) for v in frozen_acc],
        "unfrozen_seconds": r(unfrozen_seconds), "unfrozen_epoch_seconds": [r(s) for s in unfrozen_s],
        "unfrozen_loss": [r(v) for v in unfrozen_loss], "unfrozen_accuracy": [r(v) for v in unfrozen_acc],
        "unfrozen_trainable_layers": trained,
        "frozen_test_loss": r(frozen_test_loss), "frozen_test_acc": r(frozen_test_acc),
        "test_loss": r(test_loss), "test_acc": r(test_acc),
        "order": "reshuffled-each-epoch", "eval_seconds": r(eval1 + eval2),
    }))


if __name__ == "__main__":
    main()

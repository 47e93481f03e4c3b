#!/usr/bin/env python3
"""Cats vs dogs, whole-network ResNet-18 training in PyTorch: the peer of graft's ONNX training.

    /tmp/peers/bin/python bench/peers/torch_resnet18_cats_dogs.py [--data-dir /tmp/photos-src] [--per-class 1000]

  1. Initial weights: torchvision ResNet-18 (random init, seed --seed; no download is possible
     here) with a 2-class fc, at 64×64. They live in one ONNX file, INIT (default
     ~/.cache/graft/onnx-fixtures/resnet18-64.onnx), which graft trains from too: made on first
     use (torch.onnx.export, TorchScript, opset 17, BatchNormalization kept as nodes, initializers
     named as PyTorch's state_dict), then read back by name on every run, so both start equal.
     Its input: `input` [N, 3, 64, 64] float32 NCHW RGB with ImageNet normalisation applied
     ((x/255 − mean)/std, mean 0.485/0.456/0.406, std 0.229/0.224/0.225); output `logits` [N, 2].
  2. Data as bench/peers/keras_cats_dogs.py reads it: the two class folders of the train and test
     splits of DATA_DIR (DATA_DIR/cifar10/{train,test}/{cat,dog}/*.jpg, or DATA_DIR/{train,test}/…),
     --per-class N keeping the first N training files per class by name (default 1000), every test
     file unless --test-per-class; decoded, resized bilinearly (half-pixel centres, as
     tf.image.resize) to 64×64, scaled to [0, 1], ImageNet-normalised. Label 0 is the first class.
  3. Train every layer (BatchNorm in training mode), softmax cross-entropy, Adam (as the Keras
     peer; lr --lr, default 1e-3: a randomly initialised network learns nothing in 10 epochs at
     Keras's fine-tuning rate 1e-4), batch 32, a fresh permutation every epoch, 2 threads.
  4. Evaluate on the test split (eval mode).

Only the training epochs are timed (first epoch apart: it includes one-off allocation); data
loading and evaluation separately. Prints one JSON line on stdout.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import image_lists  # noqa: E402 (beside this script)

SIDE = 64
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data-dir', default='/tmp/photos-src', help='folder holding cifar10/{train,test}/<class>/ (or {train,test}/<class>/)')
    p.add_argument('--classes', default='cat,dog', help='the two class folders; the first is label 0 (default cat,dog)')
    p.add_argument('--per-class', type=int, default=1000, help='keep the first N training files per class, by name (default 1000; 0: all)')
    p.add_argument('--test-per-class', type=int, default=0, help='keep the first N test files per class (default: all)')
    p.add_argument('--epochs', type=int, default=10)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--head', choices=['softmax', 'sigmoid'], default='softmax',
                   help="softmax: the init file's 2-class fc (default); sigmoid: a fresh 1-unit fc, Glorot-uniform, "
                        "sigmoid cross-entropy, as graft's 2-class head")
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--init', default=os.path.expanduser('~/.cache/graft/onnx-fixtures/resnet18-64.onnx'),
                   help='ONNX file of the initial weights (made from --seed when absent)')
    return p.parse_args()


def list_split(data_dir, split, classes, per_class):
    files, labels = image_lists.list_split(data_dir, split, classes, per_class, "torch_resnet18_cats_dogs")
    return files, torch.tensor(labels, dtype=torch.int64)


def load_images(files):
    """[N, 3, 64, 64] float32, ImageNet-normalised."""
    from PIL import Image
    raw = torch.from_numpy(np.stack([np.asarray(Image.open(f).convert('RGB'), dtype=np.float32) for f in files])).permute(0, 3, 1, 2) / 255
    x = F.interpolate(raw, size=(SIDE, SIDE), mode='bilinear', align_corners=False, antialias=False)
    return ((x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)).contiguous()


def resnet18():
    sys.path.insert(0, os.path.join(HERE, '../../fixtures/onnx'))
    from make import import_torchvision  # the local torchvision wheel's import work-around
    return import_torchvision().models.resnet18(weights=None, num_classes=2)


def initial_model(path, seed):
    """ResNet-18 with the weights of the ONNX file at path; the file is made from `seed` first if absent."""
    import onnx
    from onnx import numpy_helper
    model = resnet18()
    if not os.path.exists(path):
        torch.manual_seed(seed)
        fresh = resnet18().eval()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        torch.onnx.export(fresh, (torch.zeros(1, 3, SIDE, SIDE),), path, dynamo=False, opset_version=17, input_names=['input'],
                          output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
                          do_constant_folding=True, training=torch.onnx.TrainingMode.PRESERVE)
        undeduplicate(path)
        check_export(fresh, path)
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = model.state_dict()
    missing = [k for k in state if not k.endswith('num_batches_tracked') and k not in inits]
    if missing:
        sys.exit(f'torch_resnet18_cats_dogs: {path} lacks {missing[:5]} (not a resnet18-64 file this script made?)')
    model.load_state_dict({k: (torch.from_numpy(inits[k].copy()) if k in inits else v) for k, v in state.items()})
    return model


def undeduplicate(path):
    """The TorchScript exporter stores equal tensors once and hands them out through Identity nodes
    (a fresh ResNet's BatchNorm γ = 1, β = 0, running mean 0 and variance 1 all share one tensor
    each); a trainer would then tie every BatchNorm's γ. Each Identity of an initializer becomes
    an initializer of its own, named as its output (the state_dict name)."""
    import onnx
    m = onnx.load(path)
    inits = {i.name: i for i in m.graph.initializer}
    for n in [n for n in m.graph.node if n.op_type == 'Identity' and n.input[0] in inits]:
        copy = onnx.TensorProto()
        copy.CopyFrom(inits[n.input[0]])
        copy.name = n.output[0]
        m.graph.initializer.append(copy)
        m.graph.node.remove(n)
    read = {i for n in m.graph.node for i in n.input}
    for i in [i for i in m.graph.initializer if i.name not in read]:
        m.graph.initializer.remove(i)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def check_export(model, path):
    import onnxruntime as ort
    x = torch.randn(4, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = model.eval()(x).numpy()
    got = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(['logits'], {'input': x.numpy()})[0]
    if not float(np.abs(got - want).max()) <= 1e-5:
        sys.exit(f'torch_resnet18_cats_dogs: {path} differs from PyTorch by {float(np.abs(got - want).max()):.2e}')


def evaluate(model, x, y):
    model.eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 256]) for i in range(0, len(x), 256)])
    return float(loss_of(logits, y)), float((predicted(logits) == y).float().mean()), time.perf_counter() - t0


def sigmoid_head(model):
    """graft's head for two classes: one unit, Glorot-uniform kernel, zero bias (the sigmoid is in the loss)."""
    import math
    fc = nn.Linear(model.fc.in_features, 1)
    limit = math.sqrt(6 / (model.fc.in_features + 1))
    nn.init.uniform_(fc.weight, -limit, limit)
    nn.init.zeros_(fc.bias)
    model.fc = fc


def loss_of(logits, y):
    return F.binary_cross_entropy_with_logits(logits[:, 0], y.float()) if logits.shape[1] == 1 else F.cross_entropy(logits, y)


def predicted(logits):
    return (logits[:, 0] > 0).long() if logits.shape[1] == 1 else logits.argmax(1)


def main():
    a = parse_args()
    classes = [c.strip() for c in a.classes.split(',') if c.strip()]
    if len(classes) != 2:
        sys.exit('torch_resnet18_cats_dogs: --classes takes exactly two class folders')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    model = initial_model(a.init, a.seed)
    if a.head == 'sigmoid':
        sigmoid_head(model)

    t0 = time.perf_counter()
    train_files, y_train = list_split(a.data_dir, 'train', classes, a.per_class)
    test_files, y_test = list_split(a.data_dir, 'test', classes, a.test_per_class)
    x_train, x_test = load_images(train_files), load_images(test_files)
    data_seconds = time.perf_counter() - t0

    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    epoch_seconds, losses, accs = [], [], []
    for _ in range(a.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(len(x_train)))
        t = time.perf_counter()
        total, right = 0.0, 0
        for i in range(0, len(order), a.batch_size):
            idx = order[i:i + a.batch_size]
            logits = model(x_train[idx])
            loss = loss_of(logits, y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            right += int((predicted(logits) == y_train[idx]).sum())
        epoch_seconds.append(time.perf_counter() - t)
        losses.append(total / len(order))
        accs.append(right / len(order))
        print(f'epoch {len(epoch_seconds)}/{a.epochs}: {epoch_seconds[-1]:.1f} s, loss {losses[-1]:.4f}, accuracy {accs[-1]:.4f}', file=sys.stderr, flush=True)
    test_loss, test_acc, eval_seconds = evaluate(model, x_test, y_test)

    r = lambda v: round(v, 4)  # noqa: E731
    print(json.dumps({
        'system': 'pytorch',
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'model': 'resnet18 (torchvision, random init, fc 2 classes), every layer trained' if a.head == 'softmax' else
                 'resnet18 (torchvision, random init, fresh 1-unit sigmoid fc), every layer trained',
        'head': a.head,
        'init': os.path.abspath(a.init),
        'input': SIDE,
        'preprocessing': 'bilinear resize to 64, x/255, ImageNet mean/std',
        'train_images': len(train_files),
        'test_images': len(test_files),
        'optimizer': f'adam lr {a.lr}',
        'batch_size': a.batch_size,
        'epochs': a.epochs,
        'data_seconds': r(data_seconds),
        'epoch_seconds': [r(s) for s in epoch_seconds],
        'first_epoch_seconds': r(epoch_seconds[0]) if epoch_seconds else None,
        'steady_epoch_seconds': r(statistics.median(epoch_seconds[1:])) if len(epoch_seconds) > 1 else None,
        'train_loss': [r(v) for v in losses],
        'train_accuracy': [r(v) for v in accs],
        'test_loss': r(test_loss),
        'test_acc': r(test_acc),
        'eval_seconds': r(eval_seconds),
        # Linux reports ru_maxrss in KiB.
        'peak_rss_mb': r(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        'order': 'reshuffled-each-epoch',
    }))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""One peer training step at a time, on request: the other side of bench/step-pair.mjs.

    /tmp/peers/bin/python bench/peers/step_server.py --framework torch|keras --model resnet18|mobilenetv2
        [--threads 2] [--batch 32] [--warmup 3]

The model of bench/step-time.mjs, at 64×64, batch 32, random images, Adam 1e-3, every layer
trained (BatchNorm in training mode), one sigmoid unit on top:
  - resnet18 (torch only): torchvision's ResNet-18 (random init, a 2-unit fc, as graft's ONNX
    fixture), then Dense(1); NCHW.
  - mobilenetv2: torch: torchvision's MobileNetV2 features at width 0.35, global average pool,
    Dense 256 relu, Dense 1 (torchvision pads symmetrically where Keras pads "same"; the layers and
    channel counts are Keras's). keras: keras.applications.MobileNetV2(alpha=0.35, no top,
    random init), the same head, one `train_on_batch` per step; NHWC.

Protocol (one line each): prints `ready` once built and warmed up; then for every `step` read on
stdin runs one step and prints its wall milliseconds; `quit` or the end of stdin ends it. Only the
step is timed: reading and writing the pipe is not.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SIDE = 64


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--framework', choices=['torch', 'keras'], required=True)
    p.add_argument('--model', choices=['resnet18', 'mobilenetv2'], required=True)
    p.add_argument('--threads', type=int, default=2, help="torch.set_num_threads (default 2: the bench machine's cores); Keras keeps TF's default")
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--warmup', type=int, default=3)
    return p.parse_args()


def torch_step(model_name, batch, threads):
    import torch
    import torch.nn as nn
    sys.path.insert(0, os.path.join(HERE, '../../fixtures/onnx'))
    from make import import_torchvision  # the local torchvision wheel's import work-around
    tv = import_torchvision()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if model_name == 'resnet18':
        model = nn.Sequential(tv.models.resnet18(weights=None, num_classes=2), nn.Linear(2, 1))
    else:
        features = tv.models.mobilenet_v2(weights=None, width_mult=0.35).features
        model = nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 256), nn.ReLU(), nn.Linear(256, 1))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, SIDE, SIDE)
    y = (torch.arange(batch) % 2).float().view(-1, 1)
    loss_fn = nn.BCEWithLogitsLoss()

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def keras_step(model_name, batch):
    if model_name != 'mobilenetv2':
        sys.exit(f'step_server: Keras has no {model_name} here (keras.applications has no ResNet-18); use --framework torch')
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    import numpy as np
    import keras
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV2(alpha=0.35, input_shape=(SIDE, SIDE, 3), include_top=False, weights=None)
    h = keras.layers.GlobalAveragePooling2D()(base.output)
    h = keras.layers.Dense(256, activation='relu')(h)
    model = keras.Model(base.input, keras.layers.Dense(1, activation='sigmoid')(h))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss='binary_crossentropy')
    x = np.random.default_rng(0).random((batch, SIDE, SIDE, 3), dtype=np.float32)
    y = (np.arange(batch) % 2).astype(np.float32).reshape(-1, 1)
    return lambda: model.train_on_batch(x, y)


def main():
    a = parse_args()
    step = torch_step(a.model, a.batch, a.threads) if a.framework == 'torch' else keras_step(a.model, a.batch)
    for _ in range(a.warmup):
        step()
    print('ready', flush=True)
    for line in sys.stdin:
        if line.strip() != 'step':
            break
        t = time.perf_counter()
        step()
        print(f'{(time.perf_counter() - t) * 1000:.3f}', flush=True)


if __name__ == '__main__':
    main()

"""PyTorch (and Keras, for RMSprop) reference for graft's optimizers and learning-rate schedules.

Prints one JSON object: the problem (starting weights of a 4-5-3 MLP, relu then softmax, and six
samples), then per optimizer case the weights after five full-batch steps of mean cross-entropy,
and per schedule the rates that torch.optim.lr_scheduler gives. test/train/optimizer-reference.test.ts
runs it and checks graft's two engines against it. Conventions it pins down:
- sgd/adam weight_decay: L2 added to the gradient (torch.optim.SGD, Adam); adamw: decoupled
  (torch.optim.AdamW); Adam's eps is graft's 1e-7.
- rmsprop: Keras 3's RMSprop (rho, eps inside the square root, lr inside the momentum, decoupled
  weight_decay), run as Keras's own optimizer on the torch backend.
- schedules: StepLR and CosineAnnealingLR stepped once an epoch, OneCycleLR (cos, no momentum
  cycling) and the LinearLR warm-up stepped once a step.
"""
import json
import math
import os

os.environ.setdefault("KERAS_BACKEND", "torch")
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_default_dtype(torch.float32)

# The problem: fixed, irregular numbers (no RNG, so nothing depends on library versions).
W1 = [[round(math.sin(1.3 * i + 0.7 * j) * 0.6, 6) for j in range(5)] for i in range(4)]
B1 = [round(0.05 * math.cos(j), 6) for j in range(5)]
W2 = [[round(math.cos(0.9 * i - 1.1 * j) * 0.5, 6) for j in range(3)] for i in range(5)]
B2 = [round(-0.03 * j, 6) for j in range(3)]
X = [[round((math.sin(3.1 * n + 1.7 * k) + 1) / 2, 6) for k in range(4)] for n in range(6)]
Y = [n % 3 for n in range(6)]
STEPS = 5


def torch_run(make_opt, rates, scales=(1.0, 1.0)):
    """Five steps with `rates[s]` × each layer's scale set before step s."""
    l1 = torch.nn.Linear(4, 5)
    l2 = torch.nn.Linear(5, 3)
    with torch.no_grad():
        l1.weight.copy_(torch.tensor(W1).T)
        l1.bias.copy_(torch.tensor(B1))
        l2.weight.copy_(torch.tensor(W2).T)
        l2.bias.copy_(torch.tensor(B2))
    opt = make_opt([{"params": list(l1.parameters())}, {"params": list(l2.parameters())}])
    x = torch.tensor(X)
    y = torch.tensor(Y)
    for s in range(STEPS):
        for g, sc in zip(opt.param_groups, scales):
            g["lr"] = rates[s] * sc
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(l2(torch.relu(l1(x))), y)
        loss.backward()
        opt.step()
    return [l1.weight.detach().T.tolist(), l1.bias.detach().tolist(), l2.weight.detach().T.tolist(), l2.bias.detach().tolist()]


def keras_rmsprop(rates, **kw):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="relu"), keras.layers.Dense(3, activation="softmax")])
    model.set_weights([np.array(W1, "float32"), np.array(B1, "float32"), np.array(W2, "float32"), np.array(B2, "float32")])
    opt = keras.optimizers.RMSprop(learning_rate=rates[0], **kw)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    x = np.array(X, "float32")
    y = np.array(Y, "int32")
    for s in range(STEPS):
        opt.learning_rate.assign(rates[s])
        model.train_on_batch(x, y)
    return [w.tolist() for w in model.get_weights()]


def rates_of(make_sched, base, steps, per):
    """Rates a torch scheduler gives before each of `steps` steps, stepped every `per` steps."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    sched = make_sched(opt)
    out = []
    for s in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if (s + 1) % per == 0:
            sched.step()
    return out


def warmup_then(make_main, base, epochs, batches, warmup):
    """LinearLR from 1/W over the W = warmup × batches first steps, then `make_main` stepped per epoch."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base)
    w = warmup * batches
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / w, end_factor=1.0, total_iters=w - 1)
    out = []
    for s in range(w):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        warm.step()
    # Rebuilt on a fresh optimizer at the full rate: SequentialLR's hand-over.
    opt = torch.optim.SGD([p], lr=base)
    main = make_main(opt)
    for s in range((epochs - warmup) * batches):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if (s + 1) % batches == 0:
            main.step()
    return out


def main():
    eps = 1e-7
    const = [0.1] * STEPS
    step_rates = rates_of(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 0.02, STEPS, 1)
    one_cycle = rates_of(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.02, total_steps=STEPS, cycle_momentum=False), 0.02, STEPS, 1)
    cos_warm = warmup_then(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=0.001), 0.01, 5, 1, 2)
    cases = {
        "sgd-momentum-l2": {
            "rates": const,
            "scales": [0.5, 1.0],
            "weights": torch_run(lambda g: torch.optim.SGD(g, lr=0.1, momentum=0.9, weight_decay=0.01), const, (0.5, 1.0)),
        },
        "adam-l2-step": {
            "rates": step_rates,
            "weights": torch_run(lambda g: torch.optim.Adam(g, lr=0.02, eps=eps, weight_decay=0.05), step_rates),
        },
        # The hidden layer at a quarter of the scheduled rate: discriminative scales multiply the schedule.
        "adamw-one-cycle": {
            "rates": one_cycle,
            "weights": torch_run(lambda g: torch.optim.AdamW(g, lr=0.02, eps=eps, weight_decay=0.1), one_cycle, (0.25, 1.0)),
        },
        "rmsprop-momentum-decay-cosine-warmup": {
            "rates": cos_warm,
            "weights": keras_rmsprop(cos_warm, rho=0.9, momentum=0.5, epsilon=eps, weight_decay=0.05),
        },
    }
    schedules = {
        # name: (graft spec, base, epochs, batches, torch rates per step)
        "step:3,0.1": [0.1, 8, 2, rates_of(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.1), 0.1, 16, 2)],
        "cosine": [0.1, 6, 3, rates_of(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=6), 0.1, 18, 3)],
        "cosine:0.001": [0.1, 5, 2, rates_of(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.001), 0.1, 10, 2)],
        "one-cycle": [0.01, 4, 7, rates_of(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.01, total_steps=28, cycle_momentum=False), 0.01, 28, 1)],
        "one-cycle:0.25": [0.01, 3, 5, rates_of(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.01, total_steps=15, pct_start=0.25, cycle_momentum=False), 0.01, 15, 1)],
        "warmup:2": [0.05, 4, 3, warmup_then(lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0), 0.05, 4, 3, 2)],
        "cosine,warmup:1": [0.1, 5, 4, warmup_then(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), 0.1, 5, 4, 1)],
        "step:2,0.5,warmup:1": [0.1, 6, 3, warmup_then(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5), 0.1, 6, 3, 1)],
    }
    print(json.dumps({"problem": {"w1": W1, "b1": B1, "w2": W2, "b2": B2, "x": X, "y": Y, "steps": STEPS}, "cases": cases, "schedules": schedules}))


if __name__ == "__main__":
    main()

"""PyTorch reference for graft's label smoothing: full-batch SGD steps of a small MLP.

Reads a JSON job (argv[1]): input x [n, d], integer labels, the Dense layers' starting weights in
TF.js layout (kernel [in, out]), hidden activation, head ("softmax" with K units or "sigmoid" with
one), label smoothing, learning rate and step count. Softmax heads use
torch.nn.CrossEntropyLoss(label_smoothing=eps); the sigmoid head uses BCEWithLogitsLoss on
Keras's binary targets y*(1-eps) + eps/2 (PyTorch's BCE has no smoothing argument). float64.
Writes JSON (argv[2]): the loss before each step and the final weights in TF.js layout.
test/train/label-smoothing.test.ts writes the job and runs this.
"""
import json
import sys

import torch


def main(job_path, out_path):
    with open(job_path) as f:
        job = json.load(f)
    torch.manual_seed(0)
    x = torch.tensor(job["x"], dtype=torch.float64).reshape(-1, job["inputDim"])
    labels = torch.tensor(job["labels"], dtype=torch.int64)
    params = []
    for layer in job["layers"]:
        k = torch.tensor(layer["kernel"], dtype=torch.float64).reshape(layer["kernelShape"]).requires_grad_()
        b = torch.tensor(layer["bias"], dtype=torch.float64).requires_grad_()
        params.append((k, b))
    eps = job["labelSmoothing"]
    opt = torch.optim.SGD([p for kb in params for p in kb], lr=job["learningRate"])
    losses = []
    for _ in range(job["steps"]):
        h = x
        for i, (k, b) in enumerate(params):
            h = h @ k + b
            if i < len(params) - 1:
                h = torch.tanh(h)
        if job["head"] == "softmax":
            loss = torch.nn.CrossEntropyLoss(label_smoothing=eps)(h, labels)
        else:
            y = labels.to(torch.float64).reshape(-1, 1) * (1 - eps) + eps / 2
            loss = torch.nn.BCEWithLogitsLoss()(h, y)
        losses.append(float(loss))
        opt.zero_grad()
        loss.backward()
        opt.step()
    weights = [t.detach().reshape(-1).tolist() for kb in params for t in kb]
    with open(out_path, "w") as f:
        json.dump({"torchVersion": torch.__version__, "losses": losses, "weights": weights}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

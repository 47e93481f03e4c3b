"""Loads .keras files in real Keras and predicts fixed inputs: the other half of graft's export test.

Usage: python keras_predict.py CASES.json OUT.json
CASES.json: [{"file": ..., "input_shape": [...], "input": [flat floats]}, ...]
OUT.json:   [{"output": [flat floats], "output_shape": [...], "params": int, "keras_version": str}, ...]
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def main(cases_path: str, out_path: str) -> None:
    with open(cases_path) as f:
        cases = json.load(f)
    results = []
    for case in cases:
        # safe_mode stays on: graft's archives must load without permitting arbitrary code.
        model = keras.saving.load_model(case["file"], compile=False)
        x = np.asarray(case["input"], dtype=np.float32).reshape(case["input_shape"])
        y = np.asarray(model(x, training=False), dtype=np.float32)
        results.append({"output": y.ravel().tolist(), "output_shape": list(y.shape), "params": int(model.count_params()), "keras_version": keras.__version__})
    with open(out_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

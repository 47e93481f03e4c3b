"""Real Keras predicts on what graft predict saw: the other half of test/integration/predict-keras.test.ts.

Usage: python keras_predict_images.py CASES.json OUT.json
CASES.json: [{"model": .keras, "input_shape": [n, h, w(, c)], "input": [flat floats]}            (pixels graft fitted)
             | {"model": .keras, "pngs": [paths], "channels": 1|3, "input_shape": [h, w(, c)]}]  (PNGs TensorFlow decodes)
OUT.json:   [{"output": [flat floats], "output_shape": [...]}, ...]
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402


def png_pixels(path: str, channels: int) -> np.ndarray:
    # PNG is lossless: TensorFlow's decoder gives the same bytes graft's does. decode_png drops alpha
    # for channels=3 and repeats grey into R, G and B, as graft does.
    with open(path, "rb") as f:
        data = f.read()
    return tf.io.decode_png(data, channels=channels).numpy().astype(np.float32) / 255.0


def main(cases_path: str, out_path: str) -> None:
    with open(cases_path) as f:
        cases = json.load(f)
    results = []
    for case in cases:
        model = keras.saving.load_model(case["model"], compile=False)
        if "pngs" in case:
            x = np.stack([png_pixels(p, case["channels"]) for p in case["pngs"]])
            x = x.reshape([len(case["pngs"]), *case["input_shape"]])
        else:
            x = np.asarray(case["input"], dtype=np.float32).reshape(case["input_shape"])
        y = np.asarray(model(x, training=False), dtype=np.float32)
        results.append({"output": y.ravel().tolist(), "output_shape": list(y.shape)})
    with open(out_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""Real Keras predicts on what graft predict saw: the other half of test/integration/predict-keras.test.ts.

Usage: python keras_predict_images.py CASES.json OUT.json
       python keras_predict_images.py --make-rescaling OUT.keras   (a Keras model whose first layer is Rescaling(1/255))
CASES.json: [{"model": .keras, "input_shape": [n, h, w(, c)], "input": [flat floats]}            (pixels graft fitted)
             | {"model": .keras, "pngs": [paths], "channels": 1|3, "input_shape": [h, w(, c)],
                "raw": bool}]                        (PNGs TensorFlow decodes; raw: 0..255, else /255)
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


def make_rescaling(out: str) -> None:
    # The common Keras recipe: the model scales its own 0..255 input. Seeded weights, off zero.
    rng = np.random.default_rng(5)
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Rescaling(1.0 / 255),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    model.save(out)


def png_pixels(path: str, channels: int, raw: bool = False) -> np.ndarray:
    # PNG is lossless: TensorFlow's decoder gives the same bytes graft's does. decode_png drops alpha
    # for channels=3 and repeats grey into R, G and B, as graft does.
    with open(path, "rb") as f:
        data = f.read()
    pixels = tf.io.decode_png(data, channels=channels).numpy().astype(np.float32)
    return pixels if raw else pixels / 255.0


def main(cases_path: str, out_path: str) -> None:
    with open(cases_path) as f:
        cases = json.load(f)
    results = []
    for case in cases:
        model = keras.saving.load_model(case["model"], compile=False)
        if "pngs" in case:
            x = np.stack([png_pixels(p, case["channels"], case.get("raw", False)) for p in case["pngs"]])
            x = x.reshape([len(case["pngs"]), *case["input_shape"]])
        else:
            x = np.asarray(case["input"], dtype=np.float32).reshape(case["input_shape"])
        y = np.asarray(model(x, training=False), dtype=np.float32)
        results.append({"output": y.ravel().tolist(), "output_shape": list(y.shape)})
    with open(out_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    if sys.argv[1] == "--make-rescaling":
        make_rescaling(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])

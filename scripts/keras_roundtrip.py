"""Loads every .keras graft exported (scripts/keras-roundtrip.mjs) in real Keras 3 and compares
Keras's predictions with graft's. Usage: python scripts/keras_roundtrip.py OUT_DIR. Prints one line a
model and exits 1 when any differs by more than 1e-5."""
import glob, json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np, keras

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/graft-roundtrip"
worst = 0.0
for path in sorted(glob.glob(os.path.join(out, "*.keras"))):
    ref = json.load(open(path[:-6] + ".json"))
    model = keras.saving.load_model(path, compile=False)
    x = np.asarray(ref["input"], dtype="float32").reshape(ref["shape"])
    y = np.asarray(model.predict(x, verbose=0)).ravel()
    diff = float(np.max(np.abs(y - np.asarray(ref["output"], dtype="float32"))))
    worst = max(worst, diff)
    print(f"{os.path.basename(path)}: keras {keras.__version__} max |keras - graft| = {diff:.2e}")
print(f"worst {worst:.2e}")
sys.exit(0 if worst <= 1e-5 else 1)

"""The image lists the cats-vs-dogs peers read: the first N files per class by name, as graft's
benches take them, from DATA/cifar10/<split>/<class>/ or DATA/<split>/<class>/."""
import os
import sys

IMAGE_EXT = (".jpg", ".jpeg", ".png")


def split_dir(data_dir, split, who):
    for d in (os.path.join(data_dir, "cifar10", split), os.path.join(data_dir, split)):
        if os.path.isdir(d):
            return d
    sys.exit(f"{who}: no {split}/ folder under {data_dir} (expected cifar10/{split}/<class>/ or {split}/<class>/)")


def list_split(data_dir, split, classes, per_class, who):
    """(files, labels as class indices); per_class 0 takes every file."""
    root = split_dir(data_dir, split, who)
    files, labels = [], []
    for label, name in enumerate(classes):
        d = os.path.join(root, name)
        if not os.path.isdir(d):
            sys.exit(f"{who}: no class folder {d}")
        names = sorted(f for f in os.listdir(d) if f.lower().endswith(IMAGE_EXT) and not f.startswith("."))
        if per_class > 0:
            names = names[:per_class]
        files += [os.path.join(d, f) for f in names]
        labels += [label] * len(names)
    return files, labels

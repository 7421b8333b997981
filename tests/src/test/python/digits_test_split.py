"""Writes the digits test split of tests/projects/torch_project as CSV for checks outside Python.

Run from the project's root: ``python digits_test_split.py OUT.csv``. One line per image: the
label, then the 64 pixel values as the model sees them (normalised as in training).
"""

import sys

from digitsnet.data import splits


def main(path):
    _, _, x, y = splits()
    with open(path, "w", encoding="ascii") as f:
        for label, pixels in zip(y.tolist(), x.reshape(len(x), -1).tolist()):
            f.write(",".join([str(label)] + [repr(p) for p in pixels]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

"""Make lessons/ch11/assets/digits-8x8.u8 from scikit-learn's bundled digits.

Source: scikit-learn's bundled copy of the UCI ML "Optical Recognition of Handwritten
Digits" test set (1,797 images, 8x8, grey levels 0..16), licence CC BY 4.0 (UCI);
scikit-learn itself is BSD-3-Clause. No download: `load_digits` reads the copy shipped
inside scikit-learn.

Format (raw bytes, no header, so the file is byte-for-byte reproducible):
  1797 * 64 uint8 pixel values (row-major, image after image, values 0..16), then
  1797 uint8 labels (0..9).
Read it with: raw = numpy.fromfile(path, dtype=numpy.uint8);
  images = raw[:1797 * 64].reshape(1797, 8, 8); labels = raw[1797 * 64:].

Run from the repository root:  python scripts/assets/ch11_make_digits.py
"""
import hashlib
import pathlib

import numpy as np
from sklearn.datasets import load_digits

OUT = pathlib.Path(__file__).resolve().parents[2] / "lessons" / "ch11" / "assets" / "digits-8x8.u8"


def main():
    digits = load_digits()
    images = digits.images.astype(np.uint8)          # (1797, 8, 8), 0..16
    labels = digits.target.astype(np.uint8)          # (1797,)
    assert images.shape == (1797, 8, 8) and images.max() <= 16
    data = images.tobytes() + labels.tobytes()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(data)
    print(OUT, len(data), "bytes, sha256", hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main()

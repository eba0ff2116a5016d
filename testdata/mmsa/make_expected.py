"""Write tiny_expected.json: what CPython's own unpickler finds in
tiny_mosi.pkl and tiny_sims.pkl, for the Go tests of package dataset.

Needs only the Python standard library: NumPy classes are replaced by
stand-ins that record the _reconstruct/__setstate__ arguments, and the
array bytes are decoded with struct. Run from this directory:

    python3 make_expected.py
"""
import json
import struct

from standin import Loader


def values(a):
    _, shape, dt, fortran, data = a.state
    assert not fortran
    kind = dt.args[0]
    if kind == "O8":
        return list(data)
    if kind.startswith("U"):
        n = int(kind[1:])
        s = data.decode("utf-32-le")
        return [s[i:i + n].rstrip("\0") for i in range(0, len(s), n)]
    fmt = {"f4": "f", "i8": "q"}[kind]
    return list(struct.unpack("<%d%s" % (len(data) // struct.calcsize(fmt), fmt), data))


def shape(a):
    return list(a.state[1])


def summary(path):
    with open(path, "rb") as f:
        d = Loader(f).load()
    out = {}
    for split, keys in d.items():
        s = {}
        for k in ("id", "raw_text", "audio_lengths", "vision_lengths", "regression_labels",
                  "regression_labels_T", "regression_labels_A", "regression_labels_V",
                  "classification_labels"):
            if k in keys:
                s[k] = values(keys[k])
        for k in ("text", "text_bert", "audio", "vision"):
            v = values(keys[k])
            # shape, a few elements (first, last, middle) and the float64 sum
            s[k] = {"shape": shape(keys[k]), "first": v[0], "last": v[-1],
                    "middle": v[len(v) // 2], "sum": sum(v)}
        out[split] = s
    return out


with open("tiny_expected.json", "w") as f:
    json.dump({p: summary(p) for p in ("tiny_mosi.pkl", "tiny_sims.pkl")}, f, indent=1)

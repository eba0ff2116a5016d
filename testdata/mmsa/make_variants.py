"""Write the variant_*.pkl files: tiny MMSA-layout pickles in the encodings
that tiny_mosi.pkl and tiny_sims.pkl do not cover (protocols 2 to 5,
float64, int16, int32, uint8, uint16, bool, big-endian, Fortran order,
object arrays, NumPy scalars, bytes strings, lists, (N, 1) labels, -inf
audio), for the Go tests of package dataset.

NumPy is not needed: a stand-in "numpy" package (written to a temporary
directory) reduces arrays and dtypes exactly as NumPy 1.x does
(ndarray.__reduce_ex__ in numpy/core/src/multiarray/methods.c and
numpy/core/numeric.py _frombuffer; dtype.__reduce__ in descriptor.c), and
CPython's own pickle module writes the opcodes. Values follow closed
formulas that the Go test recomputes:

    text[n, l, d]      = 100*n + 10*l + d/2      (N=2, Lt=3, D=4)
    text_bert[n, r, l] = 1000*r + 10*n + l       (3 rows)
    audio[n, l, d]     = -(n + 1) * (l + 1) + d/4 (La=2, Da=3), except
                         audio[1, 1, 2] = -inf
    vision[n, l, d]    = n + l + d               (Lv=3, Dv=2)
    regression_labels  = [-0.5, 0.0]; _T/_A/_V = [0.25, -1], [0, 1], [1, 0]
    audio_lengths      = [2, 1]; vision_lengths = [3, 2]
    id                 = ["clip-a", "clip-b"]; raw_text = ["héllo wörld", ""]

Run from this directory: python3 make_variants.py
"""
import math
import os
import pickle
import struct
import sys
import tempfile

FAKE = {
    "numpy/__init__.py": '''
class ndarray:
    def __init__(self, shape, kind, order, raw, fortran=False, frombuffer=False, objects=None):
        self.shape, self.kind, self.order, self.raw = shape, kind, order, raw
        self.fortran, self.frombuffer, self.objects = fortran, frombuffer, objects
    def __reduce_ex__(self, protocol):
        from numpy.core.multiarray import _reconstruct
        from numpy.core.numeric import _frombuffer
        import pickle
        dt = dtype(self.kind, self.order)
        if protocol >= 5 and self.frombuffer and self.objects is None:
            return (_frombuffer, (pickle.PickleBuffer(bytearray(self.raw)), dt, self.shape,
                                  "F" if self.fortran else "C"))
        data = self.objects if self.objects is not None else self.raw
        return (_reconstruct, (ndarray, (0,), b"b"), (1, self.shape, dt, self.fortran, data))

class generic:
    """A NumPy scalar (numpy.str_, numpy.float32, ...), reduced as
    numpy.core.multiarray.scalar(dtype, raw bytes) (scalartypes.c)."""
    def __init__(self, kind, raw):
        self.kind, self.raw = kind, raw
    def __reduce__(self):
        from numpy.core.multiarray import scalar
        return (scalar, (dtype(self.kind, "<" if self.kind[0] in "fiuU" else "|"), self.raw))

class dtype:
    def __init__(self, kind, order):
        self.kind, self.order = kind, order
    def __reduce__(self):
        if self.kind.startswith("U"):
            state = (3, self.order, None, None, None, 4 * int(self.kind[1:]), 4, 8)
        elif self.kind.startswith("O"):
            state = (3, "|", None, None, None, -1, -1, 63)
        else:
            state = (3, self.order, None, None, None, -1, -1, 0)
        return (dtype, (self.kind, False, True), state)
''',
    "numpy/core/__init__.py": "",
    "numpy/core/multiarray.py": "def _reconstruct(*a):\n    raise NotImplementedError\n\n\ndef scalar(*a):\n    raise NotImplementedError\n",
    "numpy/core/numeric.py": "def _frombuffer(*a):\n    raise NotImplementedError\n",
}


def load_fake():
    root = tempfile.mkdtemp()
    for path, text in FAKE.items():
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "w") as f:
            f.write(text)
    sys.path.insert(0, root)
    import numpy
    return numpy


np = load_fake()
N, LT, D, LA, DA, LV, DV = 2, 3, 4, 2, 3, 3, 2


def grid(shape, f, fortran):
    idx = []
    if len(shape) == 3:
        idx = [(a, b, c) for a in range(shape[0]) for b in range(shape[1]) for c in range(shape[2])]
        if fortran:
            idx = [(a, b, c) for c in range(shape[2]) for b in range(shape[1]) for a in range(shape[0])]
    return [f(*i) for i in idx]


def num(shape, kind, order, vals, **kw):
    code = {"f4": "f", "f8": "d", "i2": "h", "i4": "i", "i8": "q", "u1": "B", "u2": "H", "b1": "?"}[kind]
    raw = struct.pack(("<" if order in "<|" else ">") + "%d%s" % (len(vals), code), *vals)
    return np.ndarray(shape, kind, order, raw, **kw)


def uni(strings):
    width = max(1, max(len(s) for s in strings))
    raw = b"".join(s.ljust(width, "\0").encode("utf-32-le") for s in strings)
    return np.ndarray((len(strings),), "U%d" % width, "<", raw)


def obj(strings):
    return np.ndarray((len(strings),), "O8", "|", b"", objects=list(strings))


def scalars(strings):
    """Object array of numpy.str_ scalars."""
    objs = []
    for v in strings:
        width = max(1, len(v))
        objs.append(np.generic("U%d" % width, v.ljust(width, "\0").encode("utf-32-le")))
    return np.ndarray((len(objs),), "O8", "|", b"", objects=objs)


def bytestrings(strings):
    """NumPy bytes ("S") array of the UTF-8 encodings."""
    enc = [v.encode("utf-8") for v in strings]
    width = max(1, max(len(e) for e in enc))
    return np.ndarray((len(enc),), "S%d" % width, "|", b"".join(e.ljust(width, b"\0") for e in enc))


def audio_value(n, l, d):
    return -math.inf if (n, l, d) == (1, 1, 2) else -(n + 1) * (l + 1) + d / 4


def split(ftype, order, fortran=False, frombuffer=False, strings=uni, labels_2d=False,
          lengths="i8", vision_kind=None, unimodal=False, lists=False):
    kw = dict(fortran=fortran, frombuffer=frombuffer)
    ids, raw = ["clip-a", "clip-b"], ["h\u00e9llo w\u00f6rld", ""]
    reg = [-0.5, 0.0]
    s = {
        "raw_text": list(raw) if lists else strings(raw),
        "audio": num((N, LA, DA), ftype, order, grid((N, LA, DA), audio_value, fortran), **kw),
        "vision": (num((N, LV, DV), "b1", "|", [bool(v % 2) for v in grid((N, LV, DV), lambda n, l, d: n + l + d, False)])
                   if vision_kind == "b1" else
                   num((N, LV, DV), ftype, order, grid((N, LV, DV), lambda n, l, d: n + l + d, fortran), **kw)),
        "id": list(ids) if lists else strings(ids),
        "text": num((N, LT, D), ftype, order, grid((N, LT, D), lambda n, l, d: 100 * n + 10 * l + d / 2, fortran), **kw),
        "text_bert": num((N, 3, LT), ftype, order, grid((N, 3, LT), lambda n, r, l: 1000 * r + 10 * n + l, fortran), **kw),
        "audio_lengths": [2, 1] if lists else num((N,), lengths, order, [2, 1], frombuffer=frombuffer),
        "vision_lengths": num((N,), lengths, order, [3, 2], frombuffer=frombuffer),
        "annotations": uni(["Negative", "Neutral"]),
        "regression_labels": num((N, 1) if labels_2d else (N,), ftype, order, reg, frombuffer=frombuffer),
    }
    if unimodal:
        for key, v in (("T", [0.25, -1]), ("A", [0, 1]), ("V", [1, 0])):
            s["regression_labels_" + key] = num((N,), ftype, order, v, frombuffer=frombuffer)
    return s


def scalar_split():
    s = split("f4", "<")
    s["id"] = scalars(["clip-a", "clip-b"])
    s["raw_text"] = bytestrings(["h\u00e9llo w\u00f6rld", ""])
    s["text"] = num((N, LT, D), "f8", ">", grid((N, LT, D), lambda n, l, d: 100 * n + 10 * l + d / 2, False))
    s["text_bert"] = num((N, 3, LT), "i2", "<", grid((N, 3, LT), lambda n, r, l: 1000 * r + 10 * n + l, False))
    s["vision"] = num((N, LV, DV), "u2", ">", grid((N, LV, DV), lambda n, l, d: n + l + d, False))
    s["vision_lengths"] = num((N,), "u1", "|", [3, 2])
    s["audio_lengths"] = [np.generic("i8", struct.pack("<q", v)) for v in (2, 1)]
    s["regression_labels"] = [np.generic("f4", struct.pack("<f", v)) for v in (-0.5, 0.0)]
    return s


VARIANTS = {
    # protocol 2: bytes go through _codecs.encode, GLOBAL and BINPUT opcodes
    "variant_p2.pkl": (2, split("f8", "<", strings=obj, lengths="i4", unimodal=True)),
    # protocol 3: BINBYTES, big-endian float32, bool vision, (N, 1) labels
    "variant_p3.pkl": (3, split("f4", ">", vision_kind="b1", labels_2d=True)),
    # protocol 4: numpy.str_ scalars, bytes ("S") strings, lists of numpy
    # scalars, float64 big-endian text, int16 text_bert, uint16 vision,
    # uint8 vision lengths
    "variant_p4.pkl": (4, scalar_split()),
    # protocol 5: _frombuffer with in-band BYTEARRAY8, Fortran order, lists
    "variant_p5.pkl": (5, split("f4", "<", fortran=True, frombuffer=True, lists=True, unimodal=True)),
}

for name, (protocol, s) in VARIANTS.items():
    with open(name, "wb") as f:
        pickle.dump({"test": s}, f, protocol=protocol)

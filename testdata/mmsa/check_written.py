"""Check a pickle written by dataset.Write against the NumPy-written
original it was loaded from: every array must use the NumPy 1.x encoding
(numpy.core.multiarray._reconstruct, numpy.dtype with its version-3 state)
and, where the original array has the same dtype, the same bytes.

Standard library only (NumPy stand-ins record the reduce arguments). Usage:

    python3 check_written.py written.pkl tiny_mosi.pkl
"""
import io
import pickletools
import sys

from standin import Loader

ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    pickletools.dis(raw, out=io.StringIO())  # every opcode is valid
    return Loader(io.BytesIO(raw), ALLOWED).load()


written, original = load(sys.argv[1]), load(sys.argv[2])
bad = 0
for split, keys in original.items():
    for key, want in keys.items():
        if key == "annotations":  # not part of the written layout
            continue
        got = written[split][key]
        ver, shape, dt, fortran, data = got.state
        assert ver == 1 and not fortran and dt.args[1:] == (False, True), (split, key)
        _, shape2, dt2, _, data2 = want.state
        if dt.args[0] != dt2.args[0]:
            print("%s/%s: dtype %s, original %s (strings are written as unicode arrays)"
                  % (split, key, dt.args[0], dt2.args[0]))
            continue
        if (shape, dt.state, data) != (shape2, dt2.state, data2):
            print("%s/%s differs from the original" % (split, key))
            bad += 1
print("OK" if bad == 0 else "%d arrays differ" % bad)
sys.exit(1 if bad else 0)

"""Stand-ins for NumPy classes, so that the scripts in this directory can
unpickle MMSA files with the Python standard library alone: an array or
dtype records the arguments of its reduce call and its __setstate__ state.
"""
import pickle


class Array:
    def __init__(self, *args):
        self.args = args

    def __setstate__(self, state):
        self.state = state


class DType(Array):
    pass


class Loader(pickle.Unpickler):
    """Unpickler that maps numpy.dtype to DType and every other global to
    Array; with allowed set, any other global is an error."""

    def __init__(self, f, allowed=None):
        super().__init__(f)
        self.allowed = allowed

    def find_class(self, module, name):
        if self.allowed is not None and (module, name) not in self.allowed:
            raise pickle.UnpicklingError("unexpected global %s.%s" % (module, name))
        return DType if name == "dtype" else Array

"""NN Studio's window (PySide6 + pyqtgraph) on top of nncore."""
import sys

if sys.implementation.name == "cpython" and sys.version_info < (3, 12):
    # PySide6 6.12's abi3 wheels hand out None, True and False without taking a reference for
    # them (harmless from Python 3.12 on, where these are immortal). On 3.11 every such call
    # takes one reference away, and after some thousands of calls Python aborts with "Fatal
    # Python error: none_dealloc" (or bool_dealloc). Give them references to spare, as 3.12 does.
    import ctypes
    for _obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40
    del _obj

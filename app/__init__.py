"""NN Studio's window (PySide6 + pyqtgraph) on top of nncore."""

"""The learner's own layers, losses and optimizers (nncore.plugins) in the window.

At start the window loads the plugin folder (``$NN_STUDIO_PLUGINS``, else
``~/.nn-studio/plugins``) before it builds the palette, so the layers it registers are listed
with the built-in ones. Files that fail to load are reported in one message naming each file
and its error, with the tracebacks as details; the others still load. Network ▸ Reload plugins
imports the folder again after an edit: the palette, the loss and optimizer lists, the shape
check and the property form follow at once.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from nncore.plugins import PluginResult, default_folder, load_plugins

from .messages import show_error


class Plugins(QObject):
    reloaded = Signal(list)             # list[PluginResult]

    def __init__(self, window, folder=None):
        super().__init__(window)
        self.window = window
        self.folder = folder if folder is not None else default_folder()
        self.results: list[PluginResult] = []
        self.box = None

    def load(self) -> list[PluginResult]:
        """Import every plugin file (before the palette is built)."""
        self.results = load_plugins(self.folder)
        return self.results

    def report_failures(self):
        """The message for the files that failed, if any (non-blocking); returns the box."""
        if self.box is not None:
            try:
                self.box.close()            # the previous report: replaced by this one
            except RuntimeError:            # (already closed and deleted)
                pass
            self.box = None
        failed = [r for r in self.results if not r.ok]
        if not failed:
            return None
        n = len(failed)
        lines = "\n".join(f"• {r.path.name}: {r.error}" for r in failed)
        self.box = show_error(
            self.window, "A plugin could not be loaded" if n == 1 else
            f"{n} plugins could not be loaded",
            f"{'This file' if n == 1 else 'These files'} in {self.folder} could not be loaded, "
            f"so what {'it defines is' if n == 1 else 'they define is'} not available:\n\n"
            f"{lines}\n\nFix the file, then choose Network ▸ Reload plugins.",
            "\n\n".join(f"{r.path}\n{r.details}" for r in failed))
        self.box.setObjectName("pluginErrors")
        return self.box

    def reload(self) -> list[PluginResult]:
        """Import the folder again; the palette and the network's check follow."""
        results = self.load()
        w = self.window
        w.palette.refresh()
        w.training_panel.refresh_registry()     # losses, optimizers and schedules too
        w.state.set_spec(w.state.spec)          # a layer type may have appeared or changed
        ok = [r for r in results if r.ok]
        added = sorted({name for r in ok for name in r.registered})
        failed = len(results) - len(ok)
        text = (f"Plugins reloaded from {self.folder}: {len(ok)} file{'s' if len(ok) != 1 else ''}"
                + (f" ({', '.join(added)})" if added else "")
                + (f", {failed} failed" if failed else ""))
        w.statusBar().showMessage(text if results else f"No plugins in {self.folder}", 8000)
        self.reloaded.emit(results)
        self.report_failures()
        return results

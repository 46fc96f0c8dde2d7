"""Training: the worker thread that owns the Trainer, the controller that drives it from the
GUI, and the panel with the settings and the Train/Pause/Step/Stop controls."""

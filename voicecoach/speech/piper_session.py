"""The piper voice's onnxruntime session: one thread, memory given back after each run, and a run that can be
ended from another thread (``Voice.hold``)."""

from __future__ import annotations

from pathlib import Path


class ShrinkingSession:
    """The voice's onnxruntime session, on the calling thread only (a helper per core, piper's default, ran lines
    prepared ahead at normal priority), its arena shrunk after each run (else 85-120 MB more stayed resident)."""

    def __init__(self, model: Path) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        """The onnxruntime session piper's calls go to."""
        self.options = onnxruntime.RunOptions()
        """Passed to every run: shrink the CPU arena at its end."""
        self.options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names, input_feed, run_options=None):
        return self.session.run(output_names, input_feed, run_options or self.options)

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called since ``arm``: the run in progress (or the next) ends with an error."""
        return self.options.terminate

    def arm(self) -> None:
        """Clear a ``cancel``: the next runs go through."""
        self.options.terminate = False

    def cancel(self) -> None:
        """End the run in progress at once (onnxruntime's terminate flag: the run raises)."""
        self.options.terminate = True

    def __getattr__(self, name):
        return getattr(self.session, name)

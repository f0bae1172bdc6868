"""onnxruntime sessions of fau's bundled graphs (appearance CNN, compiled trees): one
place for their options."""

from __future__ import annotations

from ..errors import FauError

__all__ = ["ort_session"]


def ort_session(data: bytes, num_threads: int | None = 1, *, optimize: bool = True,
                what: str = "model"):
    """An ``onnxruntime.InferenceSession`` on the CPU for a serialised graph.

    Parameters
    ----------
    data : bytes
        The ONNX graph.
    num_threads : int or None
        Intra-op threads (one inter-op thread); None: onnxruntime's default.
    optimize : bool
        Apply onnxruntime's graph optimisations (False for a graph with nothing to
        optimise, such as one TreeEnsemble node: 15-20% of its load time saved).
    what : str
        Names the graph in the error message.

    Raises
    ------
    FauError
        onnxruntime cannot load the graph.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if num_threads:
        opts.intra_op_num_threads = int(num_threads)
        opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # Idle pool threads must not spin: the landmark models run right after on the
    # same cores (spinning cost ~5 ms per call in fau's image benchmark).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise FauError(f"cannot load the {what}: {exc}") from None

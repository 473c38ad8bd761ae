"""Frozen DeepLS models as ONNX graphs, run by ONNX Runtime.

Per-frame segmentation never runs through the training framework:
:func:`export_onnx` writes a self-describing ONNX file (opset 17, dynamic height
and width, checked by ``onnx.checker``, metadata naming the model family, input
format, normalisation, processing size and mask rule), and :class:`OnnxRunner`
owns one ONNX Runtime session that can be replaced atomically while other
threads call it.

Execution providers are tried in the order TensorRT → CUDA → CPU, limited to
what the installed ONNX Runtime offers. Asking for CUDA without its libraries
makes ORT fall back to CPU after one logged error, so the runner reads back
``session.get_providers()`` and logs what was really granted, once.

Thread safety (onnxruntime issues #114, #22967, #21946): ``InferenceSession.run``
is thread-safe and sessions are stateless, so concurrent ``run`` calls on the
same session are fine; building sessions concurrently has race reports (#27089),
so only the owner thread builds them. The runner holds one ``(session, version)``
reference under a lock; a swap replaces it, and the old session is freed when its
last ``run`` returns.

This module does not import torch except in :func:`export_onnx`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from streamseg.errors import ConfigError, ModelError

if TYPE_CHECKING:  # the model is torch's; these are plain and typed
    from streamseg.segmenters.deepls.checkpoint import Checkpoint
    from streamseg.segmenters.deepls.config import ModelConfig
    from streamseg.segmenters.masking import MaskRule

__all__ = [
    "export_onnx",
    "export_bytes",
    "checkpoint_bytes",
    "write_onnx",
    "import_onnxruntime",
    "OnnxRunner",
    "read_metadata",
    "select_providers",
    "OPSET",
    "INPUT",
    "OUTPUT",
]

log = logging.getLogger(__name__)

_EXPORT_LOCK = threading.Lock()

OPSET = 17
INPUT, OUTPUT = "frame", "sparse"
_PREFERRED = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")


def _meta_value(value: Any) -> str:
    """Metadata text: strings as they are, arrays as float16 base64 with their shape, else JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        import base64

        data = base64.b64encode(value.astype(np.float16).tobytes()).decode()
        return json.dumps({"float16": data, "shape": list(value.shape)})
    return json.dumps(value)


def _from_meta(value: Any) -> Any:
    if isinstance(value, dict) and "float16" in value and "shape" in value:
        import base64

        raw = np.frombuffer(base64.b64decode(value["float16"]), np.float16)
        return raw.reshape(value["shape"]).astype(np.float32)
    return value


def export_bytes(
    model: Any,
    net: ModelConfig,
    size: tuple[int, int],
    mask: MaskRule,
    extra: dict[str, Any] | None = None,
    *,
    fold: bool = True,
    dynamic: bool = True,
) -> bytes:
    """The ONNX bytes of a frozen torch model, with streamseg's metadata.

    Args:
        model: the torch module (eval mode).
        net: its ``ModelConfig``.
        size: processing size ``(h, w)`` it expects (any size works; this one is used).
        mask: the ``MaskRule`` that turns ``|S|`` into a mask.
        extra: more metadata (e.g. the online model version).
        fold: let the exporter fold constants (BatchNorm into the convolutions). Off,
            every parameter stays a tensor of its own, as :class:`OnnxTemplate` needs;
            ONNX Runtime fuses them anyway when it builds the session.
        dynamic: keep height and width free (a file for any frame size). Off, the
            graph is fixed to ``size``, so ONNX Runtime folds the padding and resizing
            arithmetic when it builds the session: 1.6 instead of 1.9 ms per 80×60
            frame on one core (measured). In-process sessions always run one size.
    """
    import warnings

    import onnx
    import torch

    channels = net.in_channels
    example = torch.rand(1, channels, size[0], size[1])
    buf = io.BytesIO()
    axes = {2: "height", 3: "width"}
    # torch's exporter keeps process-wide state (GLOBALS.in_onnx_export): two exports at
    # once, from two cameras' segmenters in two threads, trip its assertions.
    with _EXPORT_LOCK, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notes about shape arithmetic, expected here
        torch.onnx.export(
            model,
            (example,),
            buf,  # type: ignore[arg-type]  # file-likes are accepted at run time
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: axes, OUTPUT: axes} if dynamic else None,
            opset_version=OPSET,
            do_constant_folding=fold,
            dynamo=False,
        )
    proto = onnx.load_from_string(buf.getvalue())
    meta = {
        "streamseg.family": net.family,
        "streamseg.model": json.dumps(dataclasses.asdict(net)),
        "streamseg.input": (
            f"{INPUT}: float32 N×C×H×W, C = {channels} "
            f"({'BGR' if net.colour else 'gray'}"
            f"{f', {net.stack} frames oldest first' if net.family == 'slnet' else ''}"
            f"{'' if net.context == 'none' else f', then the window context ({net.context})'}"
            "), pixel values divided by 255"
        ),
        "streamseg.output": (
            f"{OUTPUT}: the signed sparse part S (foreground)"
            if net.family == "unet"
            else f"{OUTPUT}: the low-rank part L of the stack"
        ),
        "streamseg.size": json.dumps(list(size)),
        "streamseg.mask": json.dumps(dataclasses.asdict(mask)),
        **{f"streamseg.{k}": _meta_value(v) for k, v in (extra or {}).items()},
    }
    for key, value in meta.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    proto.producer_name = "streamseg"
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


class OnnxTemplate:
    """Export the graph once, then refill it with new weights in a millisecond.

    Online learning publishes a new frozen model every few steps. Tracing and
    exporting takes ~0.6 s of Python (holding the GIL the per-frame path needs);
    the graph never changes, only the weights do. So the graph is exported once
    from a *probe* copy whose every weight is set to distinct random values, each
    weight tensor of the ONNX graph (initializer or constant) is matched to its
    parameter by value, and each publish copies the new values into those tensors.
    If some weight cannot be matched (an exporter that folds or transforms
    weights), every publish falls back to a full export.

    Args:
        model: a torch module of the architecture (its weights are not used).
        net: its ``ModelConfig``; ``size``, ``mask``: as for :func:`export_bytes`.
    """

    def __init__(self, model: Any, net: ModelConfig, size: tuple[int, int], mask: MaskRule) -> None:
        import copy

        import onnx
        import torch
        from onnx import numpy_helper

        self.net, self.size, self.mask = net, size, mask
        probe = copy.deepcopy(model).eval()
        gen = torch.Generator().manual_seed(20221130)
        state = probe.state_dict()
        with torch.no_grad():
            for tensor in state.values():
                if tensor.dtype.is_floating_point:
                    tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
        self._bytes = export_bytes(probe, net, size, mask, fold=False, dynamic=False)
        tensors = _weight_tensors(onnx.load_from_string(self._bytes))
        by_size: dict[int, list[tuple[str, np.ndarray]]] = {}
        for name, tensor in state.items():
            if tensor.dtype.is_floating_point:
                by_size.setdefault(tensor.numel(), []).append((name, tensor.numpy().ravel()))
        # (state name, position in _weight_tensors): fill() parses a fresh copy of the
        # template each time, because protobuf's arenas keep every value ever written
        # into a message until it dies (a long-lived message grew by a model per swap).
        self._slots: list[tuple[str, int]] = []
        for position, tp in enumerate(tensors):
            arr = numpy_helper.to_array(tp)
            if arr.dtype != np.float32:
                continue
            for name, values in by_size.get(arr.size, []):
                if np.array_equal(values, arr.ravel()):
                    self._slots.append((name, position))
                    break
        wanted = {n for n, t in state.items() if t.dtype.is_floating_point}
        self.complete = {n for n, _ in self._slots} == wanted
        if not self.complete:
            log.info(
                "onnx template: %d of %d weights matched; publishing by full export",
                len({n for n, _ in self._slots}),
                len(wanted),
            )

    def fill(self, model: Any, extra: dict[str, Any] | None = None) -> bytes:
        """ONNX bytes of ``model``'s current weights (same architecture as the template)."""
        import onnx
        from onnx import numpy_helper

        if not self.complete:
            return export_bytes(
                model, self.net, self.size, self.mask, extra, fold=False, dynamic=False
            )
        proto = onnx.load_from_string(self._bytes)
        tensors = _weight_tensors(proto)
        state = model.state_dict()
        for name, position in self._slots:
            tp = tensors[position]
            values = state[name].detach().cpu().numpy().astype(np.float32)
            tp.CopyFrom(numpy_helper.from_array(values.reshape(tuple(tp.dims)), tp.name))
        for key, value in (extra or {}).items():
            full = f"streamseg.{key}"
            text = _meta_value(value)
            for prop in proto.metadata_props:
                if prop.key == full:
                    prop.value = text
                    break
            else:
                prop = proto.metadata_props.add()
                prop.key, prop.value = full, text
        return proto.SerializeToString()


def _weight_tensors(proto: Any) -> list[Any]:
    """The tensors of ``proto`` that can hold weights: initializers, then Constant values."""
    return list(proto.graph.initializer) + [
        attr.t
        for node in proto.graph.node
        if node.op_type == "Constant"
        for attr in node.attribute
        if attr.name == "value"
    ]


def checkpoint_bytes(ckpt: Checkpoint, net: ModelConfig, model: Any) -> bytes:
    """A checkpoint's float32 ONNX bytes as ``streamseg export`` writes them.

    The metadata adds what the checkpoint knows: the clip it was trained on, its online
    model version, and a two-pass model's fixed context (segmented against as stored).

    Args:
        ckpt: a loaded :class:`~streamseg.segmenters.deepls.checkpoint.Checkpoint`.
        net, model: its architecture and model, from ``model_from_checkpoint``.
    """
    extra: dict[str, Any] = {
        "source": ckpt.meta.get("source", ""),
        "version": ckpt.meta.get("version", 0),
    }
    if ckpt.context is not None:
        extra["context"] = ckpt.context
    return export_bytes(model.eval(), net, ckpt.size, ckpt.mask, extra)


def export_onnx(
    model: Any,
    net: ModelConfig,
    size: tuple[int, int],
    mask: Any,
    path: str | Path,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write :func:`export_bytes` to ``path`` atomically (temporary file + rename)."""
    return write_onnx(export_bytes(model, net, size, mask, extra), path)


def write_onnx(data: bytes, path: str | Path) -> Path:
    """Write ONNX bytes to ``path`` atomically (temporary file + rename)."""
    from streamseg.fileio import atomic_write

    path = Path(path)
    atomic_write(path, data, ModelError)
    return path


def read_metadata(data: bytes, origin: str = "model") -> dict[str, Any]:
    """streamseg's metadata from ONNX bytes (family, model, size, mask, ...).

    Raises:
        ModelError: not an ONNX file, or not one streamseg exported.
    """
    import onnx

    try:
        proto = onnx.load_from_string(data)
    except Exception:  # protobuf's DecodeError and friends
        raise ModelError(f"{origin}: not a readable ONNX file") from None
    props = {p.key: p.value for p in proto.metadata_props}
    if "streamseg.model" not in props:
        raise ModelError(
            f"{origin}: an ONNX file without streamseg metadata (export it with `streamseg export`)"
        )
    out: dict[str, Any] = {}
    for key, value in props.items():
        if not key.startswith("streamseg."):
            continue
        name = key.removeprefix("streamseg.")
        try:
            out[name] = _from_meta(json.loads(value))
        except ValueError:
            out[name] = value
    return out


def import_onnxruntime() -> Any:
    """The ``onnxruntime`` module.

    Raises:
        ConfigError: it is not installed (it comes with the ``cpu`` or ``gpu`` extra).
    """
    try:
        import onnxruntime
    except ImportError:
        raise ConfigError(
            "ONNX Runtime is not installed: pip install 'streamseg[cpu]' (or 'streamseg[gpu]')"
        ) from None
    return onnxruntime


def select_providers(wanted: tuple[str, ...] | list[str] | None = None) -> list[str]:
    """The providers to ask for: ``wanted`` (or TensorRT → CUDA → CPU) that ORT has."""
    ort = import_onnxruntime()

    present = set(ort.get_available_providers())
    order = list(wanted) if wanted else list(_PREFERRED)
    chosen = [p for p in order if p in present]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


_GPU = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def _to_half(data: bytes) -> bytes:
    """The model with float16 weights and compute, float32 inputs and outputs kept."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = convert_float_to_float16(onnx.load_from_string(data), keep_io_types=True)
    return proto.SerializeToString()


class OnnxRunner:
    """One ONNX Runtime session (replaceable at any time) that computes ``S`` of a frame.

    Args:
        threads: ``intra_op_num_threads`` (0: ORT's default).
        providers: providers in order of preference (default TensorRT → CUDA → CPU).
        half: on a GPU provider, convert the model to float16 (inputs and outputs stay
            float32); ignored on CPU, where float16 is slower.
        io_binding: run through ``IOBinding`` (saves copies on GPU providers).

    Example:
        >>> runner = OnnxRunner(threads=1)
        >>> runner.version
        -1
    """

    def __init__(
        self,
        threads: int = 1,
        providers: tuple[str, ...] | None = None,
        half: bool = False,
        io_binding: bool = False,
    ) -> None:
        self.threads = threads
        self.wanted = providers
        self.half = half
        self.io_binding = io_binding
        self._lock = threading.Lock()
        self._current: tuple[Any, int] | None = None
        self.granted: list[str] = []
        self._logged = False

    def build(self, data: bytes, origin: str = "model") -> Any:
        """A new session from ONNX bytes (call on the owner thread only).

        Raises:
            ModelError: the bytes are not a valid model.
        """
        ort = import_onnxruntime()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        providers = select_providers(self.wanted)
        try:
            session = ort.InferenceSession(data, sess_options=options, providers=providers)
            granted = session.get_providers()
            if self.half and any(p in granted for p in _GPU):
                session = ort.InferenceSession(
                    _to_half(data), sess_options=options, providers=providers
                )
        except Exception as err:  # ORT raises its own Fail/InvalidGraph/... types
            reason = str(err).splitlines()[0][:160]
            raise ModelError(f"{origin}: ONNX Runtime cannot load it ({reason})") from None
        if not self._logged or granted != self.granted:
            missing = [p for p in providers if p not in granted]
            log.info(
                "onnxruntime providers: %s%s",
                ", ".join(granted),
                f" (asked for but not granted: {', '.join(missing)})" if missing else "",
            )
            if self.half and not any(p in granted for p in _GPU):
                log.info("half precision needs a GPU provider; running float32 on CPU")
            self._logged = True
        self.granted = granted
        return session

    def swap(self, session: Any, version: int) -> None:
        """Make ``session`` the one :meth:`run` uses (an atomic reference swap)."""
        with self._lock:
            self._current = (session, version)

    def load(self, data: bytes, version: int = 0, origin: str = "model") -> None:
        """:meth:`build` and :meth:`swap` in one call."""
        self.swap(self.build(data, origin), version)

    @property
    def version(self) -> int:
        """Version of the current session (-1: none yet)."""
        with self._lock:
            return -1 if self._current is None else self._current[1]

    @property
    def ready(self) -> bool:
        return self._current is not None

    def run(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """The output for input ``x`` (``1×C×H×W`` float32) and the version that made it."""
        with self._lock:
            current = self._current
        if current is None:
            raise ModelError("no ONNX session loaded yet")
        session, version = current
        x = np.ascontiguousarray(x, np.float32)
        if self.io_binding:
            binding = session.io_binding()
            binding.bind_cpu_input(INPUT, x)
            binding.bind_output(OUTPUT)
            session.run_with_iobinding(binding)
            out = binding.copy_outputs_to_cpu()[0]
        else:
            out = session.run([OUTPUT], {INPUT: x})[0]
        return np.asarray(out, np.float32), version

"""Build the files of the exported embedding back-ends: ONNX, ONNX int8, OpenVINO, OpenVINO int8.

Sentence-transformers' own ``backend="onnx"|"openvino"`` goes through Optimum, whose
packages pin transformers below the version this project runs (optimum-onnx 0.1.0:
transformers<4.58; optimum-intel 2.2.0: transformers<5.6 and torchvision), so the
exports are made here with the libraries Optimum itself drives:

- ``onnx``: ``torch.onnx.export`` of the *whole* sentence-transformers module (transformer,
  pooling, dense layers, normalization) from the verified local model: one graph, inputs
  ``input_ids`` and ``attention_mask``, output ``sentence_embedding``;
- ``onnx-int8``: ``onnxruntime.quantization.quantize_dynamic`` (int8 weights, activations
  quantized at run time), what ``export_dynamic_quantized_onnx_model`` does through Optimum;
  with 7-bit weights (``reduce_range``) where the CPU has no VNNI, as ONNX Runtime advises:
  its AVX2 kernels (VPMADDUBSW) saturate on full-range weights;
- ``openvino``: ``openvino.convert_model`` of that ONNX graph, kept in float32;
- ``openvino-int8``: ``nncf.quantize`` (static int8, transformer preset) calibrated on
  passages of the sample documents, what ``export_static_quantized_openvino_model`` does.

Exports live in the model cache (outside the repository), one folder per model, CPU class
and back-end. A folder gets its final name only once complete (written in a temporary
folder, then renamed), with ``export.json`` written last; a lock keeps two processes from
exporting the same thing at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from index.backends import BACKENDS, BackendError, load_sentence_transformer, openvino_telemetry_off
from index.cpu import CpuInfo, detect_cpu

log = logging.getLogger(__name__)

EXPORT_FORMAT = 3  # bump when an export recipe changes: older exports are made again
ONNX_OPSET = 18


def export_recipe(backend: str, cpu: CpuInfo | None = None) -> dict[str, bool]:
    """How an export is made on this CPU, beyond EXPORT_FORMAT (recorded; another recipe exports again).

    ``onnx-int8``: ONNX Runtime picks its int8 kernels from the real CPU, whatever limit the
    run is given; without VNNI its AVX2 kernel (VPMADDUBSW) adds products in 16 bits and
    saturates on full-range weights, so the weights keep 7 bits there (``reduce_range``, the
    setting its quantization documentation gives for non-VNNI CPUs).
    """
    if backend != "onnx-int8":
        return {}
    return {"reduce_range": not (cpu or detect_cpu()).vnni}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that make and run the exports (a change invalidates them)."""
    out = {}
    for dist in ("torch", "transformers", "sentence-transformers", "onnxruntime", "onnx", "openvino", "nncf"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = ""
    return out


@dataclass(frozen=True)
class Export:
    """A finished export in the cache."""

    backend: str
    folder: Path
    file: Path  # model.onnx or openvino_model.xml
    sha256: str  # of that file (and of its weights, for OpenVINO)
    seconds: float

    @property
    def short_hash(self) -> str:
        return self.sha256[:8]


def export_folder(root: Path, backend: str) -> Path:
    return root / backend


def _file_of(backend: str) -> str:
    return "model.onnx" if BACKENDS[backend].runtime == "onnx" else "openvino_model.xml"


def read_export(root: Path, backend: str) -> Export | None:
    """Return the finished export of a back-end, or None (absent, half-written or from other versions)."""
    folder = export_folder(root, backend)
    try:
        info = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    file = folder / _file_of(backend)
    if info.get("format") != EXPORT_FORMAT or info.get("versions") != library_versions() or not file.is_file():
        return None
    if info.get("recipe", _UNRECORDED.get(backend, {})) != export_recipe(backend):
        return None  # made for another CPU's kernels
    return Export(backend, folder, file, str(info["sha256"]), float(info.get("seconds", 0.0)))


# what the exports made before recipes were recorded used
_UNRECORDED: dict[str, dict[str, bool]] = {"onnx-int8": {"reduce_range": False}}


def _digest(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


class _SentenceEmbeddingGraph:  # a torch.nn.Module, built lazily so that importing this file needs no torch
    @staticmethod
    def build(model: Any) -> Any:
        """Wrap a SentenceTransformer as ``(input_ids, attention_mask) -> sentence_embedding``.

        Gemma 3 builds its attention masks with ``torch.vmap``, which the ONNX tracer cannot
        follow ("unordered_map::at"); but its model takes ready-made masks. For it, the graph
        builds them with plain tensor operations, as Gemma 3 defines them for embeddings:
        bidirectional, padding masked, and within the sliding window on sliding layers.
        """
        import torch

        config = getattr(model[0].auto_model, "config", None)
        window = getattr(config, "sliding_window", None) if getattr(config, "model_type", "").startswith("gemma3") else None

        class Graph(torch.nn.Module):
            def __init__(self, st: Any) -> None:
                super().__init__()
                self.st = st

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                if window is None:
                    return self.st({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]
                length = input_ids.shape[1]
                keys = attention_mask[:, None, None, :].bool().expand(-1, 1, length, length)
                pos = torch.arange(length, device=input_ids.device)
                near = (pos[:, None] - pos[None, :]).abs() < window
                low = torch.finfo(torch.float32).min
                masks = {
                    "full_attention": torch.where(keys, 0.0, low),
                    "sliding_attention": torch.where(keys & near, 0.0, low),
                }
                hidden = self.st[0].auto_model(input_ids=input_ids, attention_mask=masks).last_hidden_state
                features = {"input_ids": input_ids, "attention_mask": attention_mask, "token_embeddings": hidden}
                for module in list(self.st)[1:]:
                    features = module(features)
                return features["sentence_embedding"]

        return Graph(model).eval()


def _export_onnx(model_folder: Path, work: Path, _calibration: Sequence[str]) -> Path:
    import torch

    # eager attention: the tracer cannot export SDPA with grouped query heads (Gemma 3) nor the
    # vmap-built masks ("unordered_map::at"); eager computes the same thing with plain matmuls
    model = load_sentence_transformer(model_folder, bf16=False, attention="eager")
    tokenizer = model.tokenizer
    sample = tokenizer(
        ["title: none | text: un exemple", "une phrase un peu plus longue pour l'export"], padding=True, return_tensors="pt"
    )
    target = work / "model.onnx"
    with torch.inference_mode(), warnings.catch_warnings():
        # tracing warns that shape checks become constants: true here (the mask always has the
        # sequence's length, no causal branch); the verification against torch is the proof
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _SentenceEmbeddingGraph.build(model),
            (sample["input_ids"], sample["attention_mask"]),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return target


def _export_onnx_int8(source: Export, work: Path, _calibration: Sequence[str]) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = work / "model.onnx"
    quantize_dynamic(
        str(source.file),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=export_recipe("onnx-int8")["reduce_range"],
        op_types_to_quantize=["MatMul", "Gemm"],
    )
    return target


def _export_openvino(source: Export, work: Path, _calibration: Sequence[str]) -> Path:
    openvino_telemetry_off()
    import openvino as ov

    target = work / "openvino_model.xml"
    ov.save_model(ov.convert_model(str(source.file)), str(target), compress_to_fp16=False)
    return target


def _export_openvino_int8(source: Export, work: Path, calibration: Sequence[str], model_folder: Path) -> Path:
    openvino_telemetry_off()
    import nncf
    import openvino as ov
    from transformers import AutoTokenizer

    if not calibration:
        raise BackendError("Aucun passage pour calibrer la quantification int8 d'OpenVINO.")
    tokenizer = AutoTokenizer.from_pretrained(str(model_folder))

    def feed(text: str) -> dict[str, np.ndarray]:
        batch = tokenizer([text], truncation=True, max_length=512, return_tensors="np")
        return {"input_ids": batch["input_ids"].astype(np.int64), "attention_mask": batch["attention_mask"].astype(np.int64)}

    model = ov.Core().read_model(str(source.file))
    quantized = nncf.quantize(
        model,
        nncf.Dataset(list(calibration), feed),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=min(300, len(calibration)),
    )
    target = work / "openvino_model.xml"
    ov.save_model(quantized, str(target), compress_to_fp16=False)
    return target


def ensure_export(
    root: Path,
    backend: str,
    model_folder: Path,
    calibration: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> Export:
    """Return the finished export of ``backend`` under ``root``, making it (and what it is made from) first."""
    spec = BACKENDS[backend]
    if spec.runtime == "torch":
        raise ValueError("torch runs the model folder itself: nothing to export")
    if spec.bf16:
        return ensure_export(root, spec.needs, model_folder, calibration, progress)
    found = read_export(root, backend)
    if found is not None:
        return found
    say = progress or (lambda msg: log.info("%s", msg))
    source = ensure_export(root, spec.needs, model_folder, calibration, progress) if spec.needs else None
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / f".{backend}.lock")):
        found = read_export(root, backend)  # another process may have made it while we waited
        if found is not None:
            return found
        say(f"préparation du moteur d'embeddings « {backend} » (une seule fois par machine)…")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=root, prefix=f".{backend}-partial-") as tmp:
            work = Path(tmp)
            try:
                if backend == "onnx":
                    made = _export_onnx(model_folder, work, calibration)
                elif backend == "onnx-int8":
                    assert source is not None
                    made = _export_onnx_int8(source, work, calibration)
                elif backend == "openvino":
                    assert source is not None
                    made = _export_openvino(source, work, calibration)
                else:
                    assert source is not None
                    made = _export_openvino_int8(source, work, calibration, model_folder)
            except BackendError:
                raise
            except Exception as exc:  # exporters raise anything: torch, onnx, openvino, nncf
                raise BackendError(
                    f"L'export du modèle d'embeddings vers « {backend} » a échoué ({type(exc).__name__}: {exc}). "
                    "L'index utilisera torch ; choisissez un autre moteur avec ASSISTANT_EMBEDDING_BACKEND."
                ) from exc
            files = sorted(p for p in work.iterdir() if p.is_file())
            seconds = time.perf_counter() - started
            info = {
                "format": EXPORT_FORMAT,
                "backend": backend,
                "file": made.name,
                "sha256": _digest(files),
                "seconds": round(seconds, 1),
                "versions": library_versions(),
                "recipe": export_recipe(backend),
                "made_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            (work / "export.json").write_text(json.dumps(info, indent=1), encoding="utf-8")  # last: the export is complete
            final = export_folder(root, backend)
            if final.exists():
                shutil.rmtree(final)  # an outdated export (other versions or recipe)
            os.replace(work, final)
            os.mkdir(work)  # TemporaryDirectory removes it on exit
        say(f"moteur « {backend} » prêt en {seconds:.0f} s")
    found = read_export(root, backend)
    if found is None:
        raise BackendError(f"L'export « {backend} » n'a pas pu être relu dans {root}.")
    return found

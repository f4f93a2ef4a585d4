"""Run the embedding model: one small interface over torch, ONNX Runtime and OpenVINO, loaded from verified files."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.backends import BACKENDS, BackendError, load_sentence_transformer, openvino_telemetry_off
from index.export import ensure_export


class Encoder(Protocol):
    """Turns texts (prompt already prepended) into normalized float32 vectors."""

    backend: str

    def encode(self, texts: Sequence[str], max_length: int, batch_size: int) -> np.ndarray: ...


def _normalized(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)  # type: ignore[no-any-return]


class _TokenizedEncoder:
    """Shared by ONNX Runtime and OpenVINO: tokenize, sort by length (less padding), run, unsort."""

    backend = ""

    def __init__(self, model_folder: Path) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_folder))

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: Sequence[str], max_length: int, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in range(0, len(order), batch_size):
            ids = order[start : start + batch_size]
            batch = self.tokenizer(
                [texts[i] for i in ids], padding=True, truncation=True, max_length=max_length, return_tensors="np"
            )
            vectors = self._run(batch["input_ids"].astype(np.int64), batch["attention_mask"].astype(np.int64))
            for i, vector in zip(ids, vectors, strict=True):
                out[i] = vector
        return _normalized(np.stack(out))


class OnnxEncoder(_TokenizedEncoder):
    def __init__(self, model_folder: Path, onnx_file: Path, threads: int, backend: str) -> None:
        super().__init__(model_folder)
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise BackendError(
                f"ONNX Runtime ne peut pas charger {onnx_file} ({exc}). Supprimez ce dossier puis relancez « make setup »."
            ) from exc
        self.backend = backend

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.session.run(["sentence_embedding"], {"input_ids": input_ids, "attention_mask": attention_mask})[0]  # type: ignore[no-any-return]


class OpenVinoEncoder(_TokenizedEncoder):
    def __init__(self, model_folder: Path, xml_file: Path, threads: int, backend: str, bf16: bool) -> None:
        super().__init__(model_folder)
        openvino_telemetry_off()
        import openvino as ov

        config = {
            "INFERENCE_NUM_THREADS": threads,
            "PERFORMANCE_HINT": "LATENCY",
            # float32 unless bf16 is asked for: OpenVINO would otherwise pick bf16 by itself on AMX/AVX512-BF16 CPUs
            "INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32",
        }
        try:
            core = ov.Core()
            self.compiled = core.compile_model(core.read_model(str(xml_file)), "CPU", config)
        except Exception as exc:  # OpenVINO raises RuntimeError subclasses of its own
            raise BackendError(
                f"OpenVINO ne peut pas charger {xml_file} ({exc}). Supprimez ce dossier puis relancez « make setup »."
            ) from exc
        self.backend = backend

    def _run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        request = self.compiled.create_infer_request()  # one per call: callers may be threads
        result = request.infer({"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(result[self.compiled.output(0)])


class TorchEncoder:
    """The reference: sentence-transformers on torch, float32 or bfloat16."""

    def __init__(self, model: Any, backend: str) -> None:
        self.model = model
        self.backend = backend

    def encode(self, texts: Sequence[str], max_length: int, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), normalize_embeddings=True, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return _normalized(vectors)


_LOAD_LOCK = threading.Lock()


def load_encoder(backend: str, model_folder: Path, export_root: Path, threads: int, calibration: Sequence[str] = ()) -> Encoder:
    """Return a ready encoder for a back-end, exporting first when needed."""
    spec = BACKENDS[backend]
    with _LOAD_LOCK:
        if spec.runtime == "torch":
            return TorchEncoder(load_sentence_transformer(model_folder, spec.bf16), backend)
        export = ensure_export(export_root, backend, model_folder, calibration)
        if spec.runtime == "onnx":
            return OnnxEncoder(model_folder, export.file, threads, backend)
        return OpenVinoEncoder(model_folder, export.file, threads, backend, spec.bf16)

"""Embedding back-ends: the same sentence-transformers model run by torch, ONNX Runtime or OpenVINO.

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
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from filelock import FileLock

from index.cpu import CpuInfo, detect_cpu
from index.errors import IndexingError

log = logging.getLogger(__name__)

EXPORT_FORMAT = 3  # bump when an export recipe changes: older exports are made again
ONNX_OPSET = 18


class BackendError(IndexingError, RuntimeError):
    """A back-end cannot be exported or loaded; the message says what to do."""


@dataclass(frozen=True)
class BackendSpec:
    """One way to run the embedding model."""

    name: str
    runtime: str  # "torch", "onnx" or "openvino"
    int8: bool = False
    bf16: bool = False  # computes in bfloat16: only where the CPU has it natively
    needs: str = ""  # the back-end whose export this one is made from

    @property
    def changes_vectors(self) -> bool:
        """int8 moves the vectors enough to be another vector space (bf16 keeps rankings: see MODELS.md)."""
        return self.int8


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec("torch", "torch"),
        BackendSpec("torch-bf16", "torch", bf16=True),
        BackendSpec("onnx", "onnx"),
        BackendSpec("onnx-int8", "onnx", int8=True, needs="onnx"),
        BackendSpec("openvino", "openvino", needs="onnx"),
        BackendSpec("openvino-bf16", "openvino", bf16=True, needs="openvino"),
        BackendSpec("openvino-int8", "openvino", int8=True, needs="openvino"),
    )
}
EXPORTED = tuple(name for name, spec in BACKENDS.items() if spec.runtime != "torch" and not spec.bf16)


def candidates_for(cpu: CpuInfo) -> list[str]:
    """Back-ends worth measuring on this CPU (bf16 ones only where bf16 is native)."""
    return [name for name, spec in BACKENDS.items() if not spec.bf16 or cpu.bf16]


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


def openvino_telemetry_off() -> None:
    """Say no to OpenVINO's and NNCF's usage statistics, once per user, with their own opt-out tool.

    Both libraries send them when no consent file exists and they are called from code
    (no dialog); documents stay on the machine, and so does everything about them.
    """
    consent = Path.home() / "intel" / "openvino_telemetry"
    try:
        if consent.read_text(encoding="utf-8").strip() == "0":
            return
    except OSError:
        pass
    subprocess.run(
        [sys.executable, "-m", "openvino_telemetry.opt_in_out", "--opt_out"], capture_output=True, check=False, timeout=60
    )


# --- the model folder: prompts and sequence length ----------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """What the back-ends need to know of a sentence-transformers folder, read from its files."""

    folder: Path
    prompts: dict[str, str]
    max_seq_length: int

    @classmethod
    def read(cls, folder: Path) -> ModelInfo:
        def load(name: str) -> dict[str, Any]:
            path = folder / name
            return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

        st_config = load("config_sentence_transformers.json")
        max_len = load("sentence_bert_config.json").get("max_seq_length") or 512
        positions = load("config.json").get("max_position_embeddings") or max_len
        return cls(folder, dict(st_config.get("prompts") or {}), int(min(max_len, positions)))


def longest_tokenized(tokenizer: Any, texts: Sequence[str]) -> int:
    """Return the longest token count among texts (special tokens included)."""
    longest = 0
    for start in range(0, len(texts), 256):
        encoded = tokenizer(list(texts[start : start + 256]), add_special_tokens=True, truncation=False)
        longest = max([longest, *(len(ids) for ids in encoded["input_ids"])])
    return longest


def sequence_limit(longest: int, model_max: int, margin: float = 1.5, step: int = 64) -> int:
    """Return a max_seq_length above the longest measured chunk, with a margin, rounded up to ``step``."""
    wanted = int(longest * margin) + step - 1
    return max(step, min(model_max, wanted - wanted % step))


# --- encoders: one small interface over the three runtimes ---------------------------------------


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


def load_sentence_transformer(folder: Path | str, bf16: bool, attention: str | None = None) -> Any:
    """Load the torch model offline (never from a hub); ``attention`` picks the attention code (export: "eager")."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16} if bf16 else {}
    if attention:
        kwargs["attn_implementation"] = attention
    return SentenceTransformer(str(folder), device="cpu", model_kwargs=kwargs)


# --- exports --------------------------------------------------------------------------------------


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

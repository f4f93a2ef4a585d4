"""Embedding back-ends: the same sentence-transformers model run by torch, ONNX Runtime or OpenVINO.

What every back-end shares: the list of back-ends and what each is made from, the error
they raise, what they read of the model folder, and the torch model itself (run as it
is, or exported). Running them is ``index.encoders``; building their files is
``index.export``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.cpu import CpuInfo
from index.errors import IndexingError


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
        """int8 moves the vectors enough to be another vector space (bf16 keeps rankings: docs/benchmarks/embeddings.md)."""
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

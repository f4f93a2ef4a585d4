"""Choosing the embedding back-end: verified against the reference, fastest first, cached; identity follows int8."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index import backends, export
from index.backends import sequence_limit
from index.choice import (
    Choice,
    Probe,
    VerificationSet,
    choose,
    read_choice,
    retrieval_figures,
    save_choice,
    within_tolerance,
)
from index.cpu import CpuInfo, parse_cpuinfo
from index.embeddings import SentenceTransformerEmbedder, backends_root, choice_path
from index.export import EXPORT_FORMAT, read_export
from index.store import collection_name
from tests.fakes import HashEmbedder

PASSAGES = (
    "La French Healthcare Alliance China fédère 135 entreprises françaises.",
    "Le centre hospitalier de Huê coopère avec les hôpitaux de Lyon depuis 1993.",
    "Le budget du programme de formation des médecins vietnamiens est de deux millions d'euros.",
    "L'accord intergouvernemental franco-chinois a été signé à Pékin.",
    "Les infirmières suivent un stage de six mois dans un hôpital partenaire.",
)
PROBES = (
    Probe("q1", "Combien d'entreprises françaises la French Healthcare Alliance fédère-t-elle ?", frozenset({0})),
    Probe("q2", "Avec quels hôpitaux le centre hospitalier de Huê coopère-t-il ?", frozenset({1})),
    Probe("q3", "Quel est le budget du programme de formation des médecins ?", frozenset({2})),
    Probe("q4", "Où l'accord intergouvernemental franco-chinois a-t-il été signé ?", frozenset({3})),
    Probe("q5", "Combien de temps dure le stage des infirmières ?", frozenset({4})),
)
SETS = [VerificationSet("tune", PASSAGES, PROBES)]


class FakeBackend:
    """Bag-of-words vectors (they mean something), optionally scrambled to break the rankings."""

    def __init__(self, name: str, scrambled: bool = False) -> None:
        self.name = name
        self.words = HashEmbedder()
        self.scrambled = scrambled

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.array(self.words.embed_documents(list(texts)), dtype=np.float32)
        if self.scrambled:  # the same vectors, handed to the wrong texts
            vectors = np.roll(vectors, 1, axis=0)
        return vectors

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.array(self.words.embed_documents(list(texts)), dtype=np.float32)


def run_choice(speeds: dict[str, float], scrambled: set[str] = frozenset(), broken: set[str] = frozenset()) -> Choice:  # type: ignore[assignment]
    loads: list[str] = []

    def load(name: str) -> FakeBackend:
        loads.append(name)
        if name in broken:
            raise RuntimeError("export impossible")
        return FakeBackend(name, name in scrambled)

    return choose(list(speeds), load, SETS, PASSAGES, say=lambda _m: None, measure=lambda b, _p: speeds[b.name])


def test_fastest_verified_backend_wins() -> None:
    choice = run_choice({"torch": 2.0, "onnx": 3.0, "onnx-int8": 9.0, "openvino-int8": 12.0})
    assert choice.backend == "openvino-int8"
    assert choice.verdicts["openvino-int8"]["accepted"]
    assert "onnx-int8" not in choice.verdicts, "once the fastest passes, slower ones need no verification"


def test_a_backend_that_breaks_rankings_is_rejected_and_the_next_is_tried() -> None:
    choice = run_choice({"torch": 2.0, "onnx-int8": 9.0, "openvino-int8": 12.0}, scrambled={"openvino-int8"})
    assert choice.backend == "onnx-int8"
    assert choice.verdicts["openvino-int8"]["accepted"] is False
    assert choice.verdicts["openvino-int8"]["figures"]["tune"]["hit@1"] < choice.reference_figures["tune"]["hit@1"]


def test_a_backend_that_fails_to_load_is_recorded_and_skipped() -> None:
    choice = run_choice({"torch": 2.0, "onnx": 3.0, "openvino": 5.0}, broken={"openvino"})
    assert choice.backend == "onnx"
    assert "openvino" in choice.failures and "openvino" not in choice.chunks_per_second


def test_nothing_faster_than_torch_keeps_torch() -> None:
    choice = run_choice({"torch": 5.0, "onnx": 3.0}, scrambled=set())
    assert choice.backend == "torch" and set(choice.verdicts) == {"torch"}


def test_all_candidates_rejected_keeps_torch() -> None:
    choice = run_choice({"torch": 2.0, "onnx-int8": 9.0}, scrambled={"onnx-int8"})
    assert choice.backend == "torch"


def test_retrieval_figures_and_tolerance() -> None:
    figures = retrieval_figures([1, 2, None, 4])
    assert figures == {"hit@1": 0.25, "hit@3": 0.5, "hit@5": 0.75, "mrr@10": round((1 + 0.5 + 0.25) / 4, 4)}
    ref = {"tune": {"hit@1": 0.80, "mrr@10": 0.85}}
    assert within_tolerance(ref, {"tune": {"hit@1": 0.79, "mrr@10": 0.90}})
    assert not within_tolerance(ref, {"tune": {"hit@1": 0.78, "mrr@10": 0.90}})
    assert not within_tolerance(ref, {}), "a set not measured is not a pass"


def test_choice_is_cached_and_refused_when_libraries_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "choice.json"
    save_choice(path, run_choice({"torch": 2.0, "onnx": 3.0}))
    assert read_choice(path) is not None and read_choice(path).backend == "onnx"  # type: ignore[union-attr]
    data = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in data.items() if k != "export_format"}))
    assert read_choice(path) is None, "a choice from another export recipe is measured again"
    path.write_text(json.dumps(data))
    monkeypatch.setattr("index.choice.library_versions", lambda: {"onnxruntime": "9.9"})
    assert read_choice(path) is None, "a choice measured with other libraries is measured again"


def test_sequence_limit_leaves_a_margin_within_the_model() -> None:
    assert sequence_limit(150, 2048) == 256  # 150 x 1.5 = 225, rounded up to 64
    assert sequence_limit(1800, 2048) == 2048
    assert sequence_limit(10, 512) == 64


def test_cpu_flags_are_read_not_assumed() -> None:
    text = "processor : 0\nmodel name : Some Xeon\nflags : fpu avx2 fma avx512f avx512bw avx512_bf16 amx_bf16 amx_tile\n"
    cpu = parse_cpuinfo(text, 2)
    assert cpu.model == "Some Xeon" and cpu.avx512 and cpu.bf16 and cpu.amx
    ordinary = cpu.limited("avx2")
    assert ordinary.avx2 and not ordinary.avx512 and not ordinary.bf16 and not ordinary.amx
    assert ordinary.key != cpu.key, "the forced AVX2 path has its own cache"
    epyc = parse_cpuinfo("model name : AMD EPYC\nflags : fpu avx2 fma\n", 2)
    assert not epyc.bf16 and not epyc.avx512 and epyc.describe()["cpu_model"] == "AMD EPYC"
    assert CpuInfo("x", frozenset(), 2).limited("native").key == CpuInfo("x", frozenset(), 2).key


# --- exports in the cache and the identity of the vector space -----------------------------------


def fake_model_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def write_export(root: Path, backend: str, payload: bytes = b"graph") -> None:
    folder = root / backend
    folder.mkdir(parents=True)
    name = "model.onnx" if backend.startswith("onnx") else "openvino_model.xml"
    (folder / name).write_bytes(payload)
    info = {
        "format": EXPORT_FORMAT,
        "sha256": "ab" * 32,
        "versions": export.library_versions(),
        "file": name,
        "recipe": export.export_recipe(backend),
    }
    (folder / "export.json").write_text(json.dumps(info))


def test_int8_weights_keep_7_bits_on_cpus_without_vnni(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    epyc = parse_cpuinfo("model name : AMD EPYC\nflags : fpu avx2 fma\n", 2)
    xeon = parse_cpuinfo("model name : Xeon\nflags : fpu avx2 fma avx512f avx512bw avx512_vnni\n", 2)
    laptop = parse_cpuinfo("model name : Core\nflags : fpu avx2 fma avx_vnni\n", 8)
    assert export.export_recipe("onnx-int8", epyc) == {"reduce_range": True}, "AVX2 kernels saturate on 8-bit weights"
    assert export.export_recipe("onnx-int8", xeon) == {"reduce_range": False}
    assert export.export_recipe("onnx-int8", laptop) == {"reduce_range": False}
    assert export.export_recipe("onnx", epyc) == {} and export.export_recipe("openvino-int8", epyc) == {}

    # an export made for the other kind of CPU (a cache copied between machines) is made again
    monkeypatch.setattr(export, "detect_cpu", lambda: epyc)
    write_export(tmp_path / "here", "onnx-int8")
    assert read_export(tmp_path / "here", "onnx-int8") is not None
    monkeypatch.setattr(export, "detect_cpu", lambda: xeon)
    assert read_export(tmp_path / "here", "onnx-int8") is None
    assert read_export(tmp_path / "old", "onnx-int8") is None
    write_export(tmp_path / "old", "onnx-int8")
    info = json.loads((tmp_path / "old" / "onnx-int8" / "export.json").read_text())
    del info["recipe"]  # made before recipes were recorded: full-range weights
    (tmp_path / "old" / "onnx-int8" / "export.json").write_text(json.dumps(info))
    assert read_export(tmp_path / "old", "onnx-int8") is not None, "what older exports did is what a VNNI CPU wants"
    monkeypatch.setattr(export, "detect_cpu", lambda: epyc)
    assert read_export(tmp_path / "old", "onnx-int8") is None, "an AVX2-only CPU gets a 7-bit export"

    # and a choice measured with the other recipe is measured again
    path = tmp_path / "choice.json"
    save_choice(path, run_choice({"torch": 2.0, "onnx-int8": 3.0}))
    assert read_choice(path) is not None
    monkeypatch.setattr(export, "detect_cpu", lambda: xeon)
    assert read_choice(path) is None


def test_half_written_export_is_never_taken(tmp_path: Path) -> None:
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model.onnx").write_bytes(b"half")
    assert read_export(tmp_path, "onnx") is None, "no export.json: not finished"
    (tmp_path / ".onnx-partial-x").mkdir()
    write_export(tmp_path / "other", "onnx")
    assert read_export(tmp_path / "other", "onnx") is not None


def embedder(folder: Path, cache: Path, backend: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(str(folder), cache, "float32", backend=backend)


def test_int8_changes_the_identity_and_float32_backends_do_not(tmp_path: Path) -> None:
    folder, cache = fake_model_folder(tmp_path), tmp_path / "cache"
    torch_id = embedder(folder, cache, "torch").identity
    root = backends_root(cache, str(folder), embedder(folder, cache, "torch").cpu)
    write_export(root, "onnx")
    write_export(root, "onnx-int8")
    assert embedder(folder, cache, "onnx").identity == torch_id, "ONNX float32 gives the same vectors"
    int8_id = embedder(folder, cache, "onnx-int8").identity
    assert int8_id != torch_id and "onnx-int8" in int8_id
    assert collection_name("chunks", int8_id) != collection_name("chunks", torch_id), "an int8 index is a new collection"


def test_auto_follows_the_cached_choice_and_falls_back_to_torch(tmp_path: Path) -> None:
    folder, cache = fake_model_folder(tmp_path), tmp_path / "cache"
    probe = embedder(folder, cache, "torch")
    assert embedder(folder, cache, "auto").backend == "torch", "nothing measured yet: torch"
    root = backends_root(cache, str(folder), probe.cpu)
    save_choice(choice_path(cache, str(folder), probe.cpu), Choice(backend="onnx-int8", versions=export.library_versions()))
    assert embedder(folder, cache, "auto").backend == "torch", "chosen export missing: torch, never a guess"
    write_export(root, "onnx-int8")
    auto = embedder(folder, cache, "auto")
    assert auto.backend == "onnx-int8" and auto.identity == embedder(folder, cache, "onnx-int8").identity


def test_openvino_telemetry_is_refused_with_its_own_tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    backends.openvino_telemetry_off()
    assert (tmp_path / "intel" / "openvino_telemetry").read_text().strip() == "0"


def test_golden_sets_become_verification_sets_over_the_sample_passages(tmp_path: Path) -> None:
    import importlib
    import sys

    from index.prepare import corpus_passages, spread
    from tests.conftest import DOCUMENTS, ROOT

    sys.path.insert(0, str(ROOT / "scripts"))
    script = importlib.import_module("prepare_embeddings")
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in DOCUMENTS.iterdir():
        (docs / path.name).write_bytes(path.read_bytes())
    (docs / "broken.pdf").write_bytes(b"not a pdf")  # reported and skipped, as in a sync
    passages = corpus_passages(docs, 600, 90)
    assert passages == corpus_passages(DOCUMENTS, 600, 90)
    sets = script.build_sets(passages)
    tune = sets[0]
    assert tune.name == "golden-tune" and len(tune.probes) >= 8
    golden = {q.id: q for q in script.load_golden(script.GOLDEN)}
    for probe in tune.probes:
        q = golden[probe.id]
        assert q.answerable and not q.history and q.split != "test"
        assert all(script.supports(passages[i], q.evidence) for i in probe.relevant)
    assert not {p.id for p in tune.probes} & {q.id for q in script.split_golden(list(golden.values()), "test")}, (
        "never the test half"
    )
    assert len(spread(passages, 32)) == 32 and spread(passages, 32)[0] == passages[0]

"""The naive pipeline of LangChain tutorials, built only to be measured against.

Recursive character splitter 1000/200, all-MiniLM-L6-v2, Chroma similarity top 4,
the same language model with a plain prompt, and every retrieved chunk shown as
a source. It lives in its own temporary Chroma store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.answer import Answer
from assistant.backends import ChatBackend
from assistant.citations import Citation
from assistant.refusals import is_refusal
from assistant.retrieval import Passage, Retrieval
from assistant.text import detect_language
from index.embeddings import Embedder
from index.loaders import LoadError, load_bytes
from index.store import Store

PLAIN_PROMPT = (
    "Use the following pieces of context to answer the question at the end. "
    "If you don't know the answer, just say that you don't know, don't try to make up an answer.\n\n"
    "{context}\n\nQuestion: {question}\nHelpful Answer:"
)


class NaiveBaseline:
    """Tutorial RAG: split 1000/200, MiniLM, top-4 similarity, plain prompt."""

    collection = "baseline-naive"

    def __init__(self, docs_dir: Path, work_dir: Path, embedder: Embedder, backend: ChatBackend, max_tokens: int = 320):
        self.embedder = embedder
        self.backend = backend
        self.max_tokens = max_tokens
        self.store = Store.open(work_dir)
        self.texts: dict[str, tuple[str, str]] = {}
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        ids, texts, metas = [], [], []
        for path in sorted(docs_dir.rglob("*")):
            if not path.is_file():
                continue
            try:
                document = load_bytes(path.read_bytes(), path.name)
            except (LoadError, OSError):
                continue
            for i, piece in enumerate(splitter.split_text(document.text)):
                cid = f"{path.name}-{i}"
                ids.append(cid)
                texts.append(piece)
                metas.append({"doc_hash": path.name, "page": -1, "start": 0, "end": len(piece), "index": i})
                self.texts[cid] = (path.relative_to(docs_dir).as_posix(), document.title)
        for i in range(0, len(ids), 64):
            self.store.upsert(
                self.collection,
                ids[i : i + 64],
                embedder.embed_documents(texts[i : i + 64]),
                texts[i : i + 64],
                metas[i : i + 64],
            )

    def retrieve(self, query: str, k: int, sources: Sequence[str] | None = None, language: str = "fr") -> Retrieval:
        started = time.perf_counter()
        hits = self.store.query(self.collection, self.embedder.embed_query(query), k)
        passages = [
            Passage(
                rank=i,
                chunk_id=h.id,
                source=self.texts[h.id][0],
                title=self.texts[h.id][1],
                page=None,
                start=h.start,
                end=h.end,
                text=h.text,
                score=round(1 - (h.distance or 0), 4),
                dense=round(1 - (h.distance or 0), 4),
                keyword=0.0,
            )
            for i, h in enumerate(hits, start=1)
        ]
        return Retrieval(passages, passages[0].dense if passages else 0.0, time.perf_counter() - started)

    def stream(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Iterator[str | Answer]:
        started = time.perf_counter()
        retrieval = self.retrieve(question, 4)  # tutorials pass the follow-up as it is
        context = "\n\n".join(p.text for p in retrieval.passages)
        messages = [{"role": "user", "content": PLAIN_PROMPT.format(context=context, question=question)}]
        pieces: list[str] = []
        first = None
        for delta in self.backend.stream(messages, self.max_tokens):
            first = first or time.perf_counter() - started
            pieces.append(delta)
            yield delta
        text = "".join(pieces).strip()
        total = time.perf_counter() - started
        abstained = not text or is_refusal(text) or "don't know" in text.lower() or "ne sais pas" in text.lower()
        citations = [
            Citation(p.rank, p.source, p.title, p.page, p.text[:200], p.chunk_id, p.text, p.location) for p in retrieval.passages
        ]
        yield Answer(
            text=text,
            citations=[] if abstained else citations,
            abstained=abstained,
            language=detect_language(question),
            backend=self.backend.name,
            backend_label=self.backend.label,
            passages=retrieval.passages,
            timings={"retrieval": retrieval.seconds, "first_token": first or total, "total": total},
            question=question,
            standalone_question=question,
            draft=text,
        )

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None) -> Answer:
        final = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

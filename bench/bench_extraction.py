"""Text extraction benchmark on the real-document corpus (bench/corpus.py): which PDF extractor, which HTML one.

    python bench/bench_extraction.py [--quick]

PDF, per file and per extractor (pypdf, pypdfium2, pdfminer.six, poppler's pdftotext as a
reference): pages/s, words intact (share of extracted words that are words of the French or
English word list, or numbers) before and after the project's clean-up (running lines,
hyphenation, ligatures), and for generated documents word recall and precision against the true
text. HTML, per file: the current BeautifulSoup loader, trafilatura, and the project's loader:
words, words intact, and the share of lines repeated across the chapters of one manual (menus,
navigation, tables of contents: what a reader does not want in a passage).

Writes bench/results/extraction.json. The default extractor is the winner on quality, then speed.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import write_results
from corpus import build_corpus, truth_of

from index.loaders.cleanup import clean_pages, word_list

_TOKEN = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)*")


def cpu_description() -> dict[str, Any]:
    """The CPU model and the flags that matter to the back-ends (read, never assumed)."""
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        "model": model,
        "avx2": "avx2" in flags,
        "avx512": "avx512f" in flags,
        "bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
        "amx": "amx_tile" in flags,
        "threads": len(os.sched_getaffinity(0)),
    }


# --- PDF extractors: bytes -> one text per page ---------------------------------------------


def extract_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def extract_pypdfium2(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return pages
    finally:
        document.close()


def extract_pdfminer(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    pages = []
    for layout in extract_pages(io.BytesIO(data), laparams=LAParams()):
        pages.append("".join(element.get_text() for element in layout if isinstance(element, LTTextContainer)))
    return pages


def extract_pdftotext(data: bytes) -> list[str]:
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True, timeout=300)
    pages = result.stdout.decode("utf-8", errors="replace").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


PDF_EXTRACTORS: dict[str, Callable[[bytes], list[str]]] = {
    "pypdf": extract_pypdf,
    "pypdfium2": extract_pypdfium2,
    "pdfminer.six": extract_pdfminer,
    "pdftotext (poppler, reference)": extract_pdftotext,
}


# --- measures -------------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def words_intact(text: str) -> float:
    """Share of extracted words that are dictionary words or numbers (glued or cut words are not)."""
    words = word_list()
    found = tokens(text)
    if not found:
        return 0.0
    return sum(1 for t in found if t[0].isdigit() or t in words) / len(found)


def recall_precision(text: str, truth: str) -> tuple[float, float]:
    """Word recall and precision of an extraction against the true text (as multisets of words)."""
    got, want = Counter(tokens(text)), Counter(tokens(truth))
    common = sum((got & want).values())
    return common / max(1, sum(want.values())), common / max(1, sum(got.values()))


def bench_pdf(path: Path, relative: str, corpus: Path) -> dict[str, Any]:
    data = path.read_bytes()
    truth = truth_of(corpus, relative)
    row: dict[str, Any] = {"file": relative}
    for name, extract in PDF_EXTRACTORS.items():
        if name.startswith("pdftotext") and not shutil.which("pdftotext"):
            continue
        started = time.perf_counter()
        pages = extract(data)
        seconds = time.perf_counter() - started
        cleaned = clean_pages(pages)
        raw, clean = "\n".join(pages), "\n".join(cleaned)
        figures: dict[str, Any] = {
            "pages": len(pages),
            "seconds": round(seconds, 3),
            "pages_per_s": round(len(pages) / seconds, 1) if seconds else None,
            "words": len(tokens(raw)),
            "words_intact_raw": round(words_intact(raw), 4),
            "words_intact_clean": round(words_intact(clean), 4),
        }
        if truth is not None and tokens(raw):
            figures["recall_raw"], figures["precision_raw"] = (round(v, 4) for v in recall_precision(raw, truth))
            figures["recall_clean"], figures["precision_clean"] = (round(v, 4) for v in recall_precision(clean, truth))
        row[name] = figures
    # the project's whole PDF loader: extraction, clean-up, outline sections
    from index.loaders.pdf import load_pdf

    started = time.perf_counter()
    document = load_pdf(data, path.stem)
    seconds = time.perf_counter() - started
    text = "\n".join(p.text for p in document.pages)
    row["loader"] = {
        "pages": len(document.pages),
        "seconds": round(seconds, 3),
        "pages_per_s": round(len(document.pages) / seconds, 1),
        "sections": sum(len(p.sections) for p in document.pages),
        "words_intact": round(words_intact(text), 4),
    }
    if truth is not None:
        row["loader"]["recall"], row["loader"]["precision"] = (round(v, 4) for v in recall_precision(text, truth))
    return row


def html_bs4(data: bytes) -> str:
    """The loader as it was before this benchmark (BeautifulSoup, whole page)."""
    from bs4 import BeautifulSoup

    from index.loaders.base import decode_text

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "footer", "header"]):
        tag.decompose()
    return re.sub(r"\n\s*\n+", "\n\n", soup.get_text("\n")).strip()


def html_trafilatura(data: bytes) -> str:
    import trafilatura

    return trafilatura.extract(data, include_tables=True, include_comments=False, favor_recall=True) or ""


def html_project(data: bytes) -> str:
    from index.loaders.html import load_html

    return load_html(data, "page").text


HTML_EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    "beautifulsoup (before)": html_bs4,
    "trafilatura": html_trafilatura,
    "project loader": html_project,
}


def source_headings(data: bytes) -> list[str]:
    """The h1–h3 headings of a page's main text (what its sections should be)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    for link in soup.select("a.headerlink"):
        link.decompose()
    return [" ".join(h.get_text(" ").split()) for h in soup.find_all(["h1", "h2", "h3"]) if h.get_text(strip=True)]


def bench_html(files: list[Path], corpus: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    outputs: dict[str, dict[Path, str]] = {name: {} for name in HTML_EXTRACTORS}
    seconds: dict[str, dict[Path, float]] = {name: {} for name in HTML_EXTRACTORS}
    for path in files:
        data = path.read_bytes()
        for name, extract in HTML_EXTRACTORS.items():
            started = time.perf_counter()
            outputs[name][path] = extract(data)
            seconds[name][path] = time.perf_counter() - started
    for path in files:
        headings = source_headings(path.read_bytes())
        row: dict[str, Any] = {"file": path.relative_to(corpus).as_posix(), "headings_h1_h3": len(headings)}
        siblings = [p for p in files if p.parent == path.parent and p != path]
        for name in HTML_EXTRACTORS:
            text = outputs[name][path]
            lines = [line.strip() for line in text.splitlines() if len(line.strip()) > 2]
            elsewhere = set()
            for sibling in siblings:
                elsewhere |= {line.strip() for line in outputs[name][sibling].splitlines()}
            repeated = sum(len(line) for line in lines if line in elsewhere)
            row[name] = {
                "seconds": round(seconds[name][path], 3),
                "words": len(tokens(text)),
                "words_intact": round(words_intact(text), 4),
                "repeated_across_chapters": round(repeated / max(1, sum(len(line) for line in lines)), 4),
                "headings_kept": sum(1 for h in headings if h in " ".join(text.split())),
            }
        rows.append(row)
    return rows


def summarize_pdf(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in names:
        cells = [row[name] for row in rows if name in row]
        if not cells:
            continue
        pages = sum(c["pages"] for c in cells)
        words = sum(c["words"] for c in cells) or 1
        with_truth = [c for c in cells if "recall_raw" in c]
        summary[name] = {
            "pages": pages,
            "pages_per_s": round(pages / sum(c["seconds"] for c in cells), 1),
            # weighted by words, so that a long manual counts more than a one-page note
            "words_intact_raw": round(sum(c["words_intact_raw"] * c["words"] for c in cells) / words, 4),
            "words_intact_clean": round(sum(c["words_intact_clean"] * c["words"] for c in cells) / words, 4),
            "recall_clean_mean": round(sum(c["recall_clean"] for c in with_truth) / len(with_truth), 4) if with_truth else None,
            "precision_clean_mean": round(sum(c["precision_clean"] for c in with_truth) / len(with_truth), 4)
            if with_truth
            else None,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the generated PDFs and one manual")
    args = parser.parse_args()
    corpus = build_corpus()
    pdfs = sorted((corpus / "pdf").glob("*.pdf")) + sorted((corpus / "generated").glob("*.pdf"))
    if args.quick:
        pdfs = [p for p in pdfs if "generated" in p.parts or p.name.startswith("maint-guide")]
    warm_pdf = (corpus / "generated" / "note-telemedecine.pdf").read_bytes()
    for extract in PDF_EXTRACTORS.values():  # imports and first-call set-up are not part of the figures
        extract(warm_pdf)
    warm_html = next((corpus / "html").rglob("*.html")).read_bytes()
    for extract_html in HTML_EXTRACTORS.values():
        extract_html(warm_html)
    pdf_rows = []
    for path in pdfs:
        relative = path.relative_to(corpus).as_posix()
        if relative.endswith("-scan.pdf"):
            continue  # no text layer: part of the OCR benchmark, not of this one
        pdf_rows.append(bench_pdf(path, relative, corpus))
        print(
            f"{relative}: "
            + ", ".join(f"{k} {v['words_intact_clean']:.3f}" for k, v in pdf_rows[-1].items() if k in PDF_EXTRACTORS)
        )
    html_files = sorted((corpus / "html").rglob("*.html"))
    html_rows = bench_html(html_files, corpus)
    names = list(PDF_EXTRACTORS)
    pdf_summary = summarize_pdf(pdf_rows, names)
    html_summary = {
        name: {
            "words": sum(r[name]["words"] for r in html_rows),
            "words_intact": round(sum(r[name]["words_intact"] for r in html_rows) / len(html_rows), 4),
            "repeated_across_chapters": round(sum(r[name]["repeated_across_chapters"] for r in html_rows) / len(html_rows), 4),
            "seconds": round(sum(r[name]["seconds"] for r in html_rows), 3),
            "headings_kept": f"{sum(r[name]['headings_kept'] for r in html_rows)} / {sum(r['headings_h1_h3'] for r in html_rows)}",
        }
        for name in HTML_EXTRACTORS
    }
    loader_cells = [r["loader"] for r in pdf_rows]
    pdf_summary["project loader (pypdfium2 + clean-up + sections)"] = {
        "pages": sum(c["pages"] for c in loader_cells),
        "pages_per_s": round(sum(c["pages"] for c in loader_cells) / sum(c["seconds"] for c in loader_cells), 1),
        "sections": sum(c["sections"] for c in loader_cells),
    }
    candidates = {k: v for k, v in pdf_summary.items() if k in PDF_EXTRACTORS and "reference" not in k}
    best_quality = max(v["words_intact_clean"] for v in candidates.values())
    # quality first (within half a point of the best), then speed
    close = {k: v for k, v in candidates.items() if v["words_intact_clean"] >= best_quality - 0.005}
    choice = max(close, key=lambda k: close[k]["pages_per_s"])
    write_results(
        "extraction",
        {
            "cpu": cpu_description(),
            "corpus": f"bench-corpus/{corpus.name}",  # the cache folder's version, not this machine's path
            "pdf_summary": pdf_summary,
            "pdf_choice": choice,
            "html_summary": html_summary,
            "pdf": pdf_rows,
            "html": html_rows,
        },
    )


if __name__ == "__main__":
    main()

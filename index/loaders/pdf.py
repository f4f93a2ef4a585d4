"""PDF: text per page."""

from __future__ import annotations

import io

from index.loaders.base import LoadedDocument, LoadError, Page, guess_title


def load_pdf(data: bytes, name: str) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception as exc:  # pypdf raises several types for unsupported encryption
                raise LoadError("PDF chiffré : retirez le mot de passe puis réimportez-le") from exc
            if not ok:
                raise LoadError("PDF protégé par un mot de passe : retirez la protection puis réimportez-le")
        pages = tuple(Page(i, page.extract_text() or "") for i, page in enumerate(reader.pages, start=1))
    except LoadError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise LoadError(f"PDF illisible ou corrompu ({exc.__class__.__name__}) : réexportez-le") from exc
    # pages without a text layer stay empty: load_bytes reads them by OCR (index.loaders.ocr)
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or ""
    first = next((p.text for p in pages if p.text.strip()), "")
    return LoadedDocument(title.strip() or guess_title(first, name), pages)

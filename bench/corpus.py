"""The benchmark corpus of real documents, built into a cache outside the repository.

    python bench/corpus.py [--force] [--ci-docs DIR]

Prints the corpus folder. Idempotent: a built corpus (``manifest.json`` written last) is reused.

- French PDF and HTML manuals from Debian's documentation packages (``apt-get download``,
  ``dpkg-deb -x``), typeset by several tools: DBLaTeX/XeTeX, LuaTeX, pdfTeX (Sphinx); HTML from
  DocBook XSL and Sphinx. Nobody on the project wrote them.
- Documents the project generates with known text (``corpus_texts.py``): a Word report with a
  running header and page numbers, an OpenDocument note, a slide deck (PPTX, and ODP), all also
  converted to PDF by LibreOffice, and a scanned page (text drawn into an image, wrapped in a PDF).
  Their true text is in ``truth/``.

``--ci-docs DIR`` fills DIR with the subset that CI indexes (every document a question of
``tests/golden/real-docs.jsonl`` is about), as symbolic links.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus_texts as texts

VERSION = 1  # bump when the recipe changes: a new folder is built beside the old one

# (Debian package, path inside it, name in the corpus): about 270 pages from three TeX engines
PDFS = [
    ("debian-faq-fr", "usr/share/doc/debian/FAQ/debian-faq.fr.pdf.gz", "pdf/debian-faq.fr.pdf"),  # DBLaTeX, XeTeX
    ("maint-guide-fr", "usr/share/doc/maint-guide-fr/maint-guide.fr.pdf", "pdf/maint-guide.fr.pdf"),  # DBLaTeX, XeTeX
    ("texworks-help-fr", "usr/share/doc/texworks-help-fr/manuel.pdf", "pdf/texworks-manuel.fr.pdf"),  # LuaTeX
    (
        "ubuntu-packaging-guide-pdf-fr",
        "usr/share/doc/ubuntu-packaging-guide-pdf-fr/ubuntu-packaging-guide.pdf.gz",
        "pdf/ubuntu-packaging-guide.fr.pdf",
    ),  # Sphinx, pdfTeX
]

# (Debian package, folder inside it, files, folder in the corpus)
HTMLS = [
    (
        "debian-faq-fr",
        "usr/share/doc/debian/FAQ/fr",
        ["basic-defs.fr.html", "pkg-basics.fr.html", "support.fr.html", "getting-debian.fr.html"],
        "html/debian-faq",
    ),  # DocBook XSL
    (
        "maint-guide-fr",
        "usr/share/doc/maint-guide-fr/html",
        ["first.fr.html", "dreq.fr.html", "update.fr.html"],
        "html/maint-guide",
    ),
    (
        "developers-reference-fr",
        "usr/share/developers-reference/fr",
        ["new-maintainer.html", "developer-duties.html", "l10n.html"],
        "html/developers-reference",
    ),  # Sphinx
    ("aptitude-doc-fr", "usr/share/doc/aptitude/html/fr", ["ch01s02.html", "ch02s01s02.html"], "html/aptitude"),  # DocBook
]

GENERATED = {
    "generated/rapport-mekong-2024.docx": "truth/rapport-mekong-2024.txt",
    "generated/rapport-mekong-2024.pdf": "truth/rapport-mekong-2024.txt",
    "generated/note-telemedecine.odt": "truth/note-telemedecine.txt",
    "generated/note-telemedecine.pdf": "truth/note-telemedecine.txt",
    "generated/comite-hue-rouen.pptx": "truth/comite-hue-rouen.txt",
    "generated/comite-hue-rouen.odp": "truth/comite-hue-rouen.txt",
    "generated/comite-hue-rouen.pdf": "truth/comite-hue-rouen.txt",
    "generated/mission-mopti-scan.pdf": "truth/mission-mopti-scan.txt",
}

# What CI indexes: the documents that the golden questions are about (one deep PDF, HTML chapters
# from both HTML generators, every generated document).
CI_SUBSET = [
    "pdf/maint-guide.fr.pdf",
    "html/debian-faq/basic-defs.fr.html",
    "html/debian-faq/support.fr.html",
    "html/developers-reference/new-maintainer.html",
    "html/developers-reference/developer-duties.html",
    "generated/rapport-mekong-2024.pdf",
    "generated/note-telemedecine.odt",
    "generated/comite-hue-rouen.pptx",
    "generated/mission-mopti-scan.pdf",
]

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "coop-assistant" / "bench-corpus"


def corpus_dir() -> Path:
    """The folder of the benchmark corpus (built or not: see ``build_corpus``)."""
    return cache_root() / f"v{VERSION}"


def truth_of(corpus: Path, relative: str) -> str | None:
    """The true text of a generated document, or None for documents nobody on the project wrote."""
    truth = GENERATED.get(relative)
    return (corpus / truth).read_text(encoding="utf-8") if truth else None


def build_corpus(force: bool = False) -> Path:
    """Build the corpus once (Debian packages, generated documents); return its folder."""
    target = corpus_dir()
    if (target / "manifest.json").is_file() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"v{VERSION}.", dir=target.parent))
    try:
        versions = _add_debian_documents(work)
        _add_generated_documents(work)
        files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
        manifest = {
            "version": VERSION,
            "debian_packages": versions,
            "files": {f: hashlib.sha256((work / f).read_bytes()).hexdigest() for f in files},
            "ci_subset": CI_SUBSET,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def fill_ci_docs(corpus: Path, folder: Path) -> list[str]:
    """Copy the CI subset into ``folder`` (keeping the corpus's relative paths); return them.

    Copies, not links: the index reads regular files only (a link in the documents folder is refused).
    """
    for relative in CI_SUBSET:
        copy = folder / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        if copy.is_symlink() or copy.exists():
            copy.unlink()
        shutil.copyfile(corpus / relative, copy)
    return list(CI_SUBSET)


def _run(command: list[str], cwd: Path | None = None) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"échec de {' '.join(command[:3])} … : {result.stderr.strip()[-800:]}")


def _add_debian_documents(work: Path) -> dict[str, str]:
    packages = sorted({p for p, _, _ in PDFS} | {p for p, _, _, _ in HTMLS})
    debs = work / ".debs"
    debs.mkdir()
    try:
        _run(["apt-get", "download", *packages], cwd=debs)
    except FileNotFoundError as exc:
        raise SystemExit("apt-get introuvable : ce corpus se construit sur Debian (paquets de documentation)") from exc
    except SystemExit:
        # a new machine may not have read the package lists yet
        _run(["apt-get", "update", "-qq"])
        _run(["apt-get", "download", *packages], cwd=debs)
    versions = {}
    roots = {}
    for deb in sorted(debs.glob("*.deb")):
        name, version = deb.name.split("_")[:2]
        versions[name] = version
        roots[name] = debs / name
        _run(["dpkg-deb", "-x", str(deb), str(roots[name])])
    for package, inside, name in PDFS:
        source = roots[package] / inside
        out = work / name
        out.parent.mkdir(parents=True, exist_ok=True)
        data = source.read_bytes()
        out.write_bytes(gzip.decompress(data) if inside.endswith(".gz") else data)
    for package, folder, names, out_folder in HTMLS:
        (work / out_folder).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(roots[package] / folder / name, work / out_folder / name)
    shutil.rmtree(debs)
    return versions


def _add_generated_documents(work: Path) -> None:
    generated = work / "generated"
    truth = work / "truth"
    generated.mkdir()
    truth.mkdir()
    _write_docx(generated / "rapport-mekong-2024.docx")
    (truth / "rapport-mekong-2024.txt").write_text(texts.blocks_text(texts.REPORT), encoding="utf-8")
    _write_odt(generated / "note-telemedecine.odt")
    (truth / "note-telemedecine.txt").write_text(texts.blocks_text(texts.NOTE), encoding="utf-8")
    _write_pptx(generated / "comite-hue-rouen.pptx")
    (truth / "comite-hue-rouen.txt").write_text(texts.slides_text(), encoding="utf-8")
    _write_scan(generated / "mission-mopti-scan.pdf")
    (truth / "mission-mopti-scan.txt").write_text(texts.scan_text(), encoding="utf-8")
    sources = [generated / n for n in ("rapport-mekong-2024.docx", "note-telemedecine.odt", "comite-hue-rouen.pptx")]
    _soffice(["--convert-to", "pdf", "--outdir", str(generated), *map(str, sources)])
    _soffice(["--convert-to", "odp", "--outdir", str(generated), str(generated / "comite-hue-rouen.pptx")])
    for name in ("rapport-mekong-2024.pdf", "note-telemedecine.pdf", "comite-hue-rouen.pdf", "comite-hue-rouen.odp"):
        if not (generated / name).is_file():
            raise SystemExit(f"LibreOffice n'a pas produit {name}")


def _soffice(arguments: list[str]) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        raise SystemExit("LibreOffice introuvable : lancez scripts/setup-test.sh (paquets libreoffice-*-nogui)")
    with tempfile.TemporaryDirectory() as profile:  # a private profile: other LibreOffice runs do not block this one
        _run([soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", *arguments])


def _write_docx(path: Path) -> None:
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.core_properties.title = texts.REPORT_TITLE
    section = document.sections[0]
    section.header.paragraphs[0].text = texts.REPORT_HEADER
    footer = section.footer.paragraphs[0]
    footer.text = "Page "
    field = OxmlElement("w:fldSimple")  # the page number, computed by the word processor
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    footer._p.append(field)
    first = True
    for kind, value in texts.REPORT:
        if kind == "h":
            document.add_heading(str(value), level=0 if first else 1)
            first = False
        elif kind == "p":
            paragraph = document.add_paragraph(str(value))
            paragraph.paragraph_format.space_after = docx.shared.Pt(10)
            for _ in range(2):  # spacing so that the report runs over several pages
                document.add_paragraph("")
        else:
            assert isinstance(value, list)
            table = document.add_table(rows=len(value), cols=len(value[0]))
            table.style = "Table Grid"
            for r, row in enumerate(value):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    document.save(str(path))


def _write_odt(path: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.style import ParagraphProperties, Style, TextProperties
    from odf.text import H, P

    document = OpenDocumentText()
    heading = Style(name="Heading 1", family="paragraph")
    heading.addElement(TextProperties(fontsize="16pt", fontweight="bold"))
    heading.addElement(ParagraphProperties(margintop="0.4cm", marginbottom="0.2cm"))
    document.styles.addElement(heading)
    for kind, value in texts.NOTE:
        if kind == "h":
            document.text.addElement(H(outlinelevel=1, stylename=heading, text=str(value)))
        else:
            document.text.addElement(P(text=str(value)))
    document.save(str(path))


def _write_pptx(path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    for number, (title, bullets, notes) in enumerate(texts.SLIDES):
        slide = deck.slides.add_slide(deck.slide_layouts[0 if number == 0 else 1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for line in bullets[1:]:
            body.add_paragraph().text = line
        slide.notes_slide.notes_text_frame.text = notes
    deck.save(str(path))


def _write_scan(path: Path) -> None:
    """A page of known text as a 200-dpi greyscale image in a PDF: no text layer at all."""
    from PIL import Image, ImageDraw, ImageFont

    dpi = 200
    page = Image.new("L", (int(8.27 * dpi), int(11.69 * dpi)), 255)
    draw = ImageDraw.Draw(page)
    title = ImageFont.truetype(FONT, 46)
    body = ImageFont.truetype(FONT, 36)
    y = 260
    for number, line in enumerate(texts.SCAN):
        draw.text((200, y), line, fill=0, font=title if number == 0 else body)
        y += 80 if number == 0 else 58
    page = page.rotate(0.4, fillcolor=255)  # slightly askew, as scanned pages are
    page.save(path, "PDF", resolution=dpi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--force", action="store_true", help="rebuild even when the corpus is there")
    parser.add_argument("--ci-docs", type=Path, help="link the CI subset into this folder")
    args = parser.parse_args()
    corpus = build_corpus(force=args.force)
    if args.ci_docs:
        fill_ci_docs(corpus, args.ci_docs)
    print(corpus)


if __name__ == "__main__":
    main()

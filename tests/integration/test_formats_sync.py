"""A folder of every format staff use, plus hostile files: the hostile ones fail, the rest is indexed and found."""

from __future__ import annotations

import pytest

from assistant.retrieval import Retriever
from index.isolation import ReadLimits
from index.state import IndexState
from index.store import Store
from index.sync import Indexer
from tests.documents import (
    convert_with_libreoffice,
    looping_pdf,
    make_docx,
    make_epub,
    make_ods,
    make_odt_odfpy,
    make_odt_pandoc_like,
    make_pdf,
    make_pptx,
    make_scanned_pdf,
    make_xlsx,
    nested_html,
    zip_bomb,
)

GOOD = {
    "note.txt": "Note de service : la mission à Phnom Penh est reportée au mois de septembre.".encode(),
    "compte-rendu.md": "# Comité de pilotage\n\nLe comité a validé le jumelage avec l'hôpital de Kunming.".encode(),
    "accord.pdf": make_pdf(["Accord de partenariat signe a Shanghai", "Article 2 : formation de vingt infirmieres"]),
    "scan.pdf": make_scanned_pdf(["Attestation de stage", "Le docteur Tran a suivi le stage de cardiologie à Lille."]),
    "rapport.docx": make_docx(),
    "rapport-lo.odt": b"",  # filled by LibreOffice below
    "liste.odt": make_odt_odfpy(),
    "programme.pptx": make_pptx(),
    "programme-lo.odp": b"",
    "guide.epub": make_epub([("Chapitre 1 : Vaccination", "Vaccination", "La campagne de vaccination couvre trois provinces.")]),
    "forum.html": "<html><body><h1>Forum franco-chinois</h1><p>Deux jours de conférences à Wuhan.</p></body></html>".encode(),
    "rapport-pandoc.odt": make_odt_pandoc_like(),
    "partenaires.xlsx": make_xlsx(
        {
            "Partenaires": [
                ["Nom", "Ville", "Pays"],
                ["Hôpital Bach Mai", "Hanoï", "Viêt Nam"],
                ["CHU de Hué", "Hué", "Viêt Nam"],
            ],
            "Budget": [["Poste", "Montant"], ["Missions d'expertise", 42000], ["Bourses d'internes", 18000]],
        }
    ),
    "contacts.ods": make_ods({"Référents": [["Établissement", "Référent"], ["Hôpital de Kunming", "Dr Li Wei"]]}),
    "depenses.csv": "Poste;Montant\r\nBillets d'avion pour Vientiane;3 200,00\r\n".encode("cp1252"),
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, real_embedder):  # type: ignore[no-untyped-def]
    docs = tmp_path_factory.mktemp("docs")
    files = dict(GOOD)
    files["rapport-lo.odt"] = convert_with_libreoffice(make_docx(), ".docx", "odt")
    files["programme-lo.odp"] = convert_with_libreoffice(make_pptx(), ".pptx", "odp")
    files["bombe.docx"] = zip_bomb(make_docx(), "word/document.xml", size=2 * 1024**3)
    files["bombe.odt"] = zip_bomb(make_odt_odfpy(), "content.xml", size=2 * 1024**3)
    files["boucle.pdf"] = looping_pdf()
    files["imbrique.html"] = nested_html()
    files["tronque.pptx"] = make_pptx()[:5000]
    for name, data in files.items():
        (docs / name).write_bytes(data)
    data_dir = tmp_path_factory.mktemp("data")
    store = Store.open(data_dir)
    state = IndexState.open(data_dir)
    indexer = Indexer(docs, state, store, real_embedder, read_limits=ReadLimits(seconds=10))
    return indexer.sync(), state, store, real_embedder


def test_exactly_the_hostile_files_fail(indexed) -> None:  # type: ignore[no-untyped-def]
    report, state, _store, _embedder = indexed
    assert {f["source"] for f in report.failed} == {"bombe.docx", "bombe.odt", "boucle.pdf", "imbrique.html", "tronque.pptx"}
    assert sorted(report.added) == sorted(GOOD)
    manifest = state.manifest()
    assert manifest is not None and set(manifest.documents) == set(GOOD)
    assert manifest.documents["programme.pptx"].pages == 3, "a deck counts its slides"
    assert manifest.documents["partenaires.xlsx"].pages == 2, "a workbook counts its sheets"


@pytest.mark.parametrize(
    ("question", "source", "location"),
    [
        ("Quand le budget est-il voté ?", "programme.pptx", "diapo 2 · Budget"),
        ("Quand le budget est-il voté ?", "programme-lo.odp", "diapo 2 · Budget"),
        # the short report is one passage, which starts under the document's Title paragraph
        ("Combien d'internes ont été accueillis en 2024 ?", "rapport-lo.odt", "§ Rapport de coopération"),
        ("Quel stage a suivi le docteur Tran ?", "scan.pdf", "p. 1 · texte lu par OCR"),
        ("Combien de provinces couvre la campagne de vaccination ?", "guide.epub", "§ Chapitre 1 : Vaccination"),
        ("Combien d'internes ont été accueillis en 2024 ?", "rapport-pandoc.odt", "§ Rapport de coopération"),
        ("Quel montant pour les missions d'expertise ?", "partenaires.xlsx", "Feuille Budget, lignes 2–3"),
        ("Qui est le référent de l'hôpital de Kunming ?", "contacts.ods", "Feuille Référents, ligne 2"),
        ("Combien ont coûté les billets d'avion pour Vientiane ?", "depenses.csv", "Ligne 2"),
    ],
)
def test_passages_are_found_with_the_location_a_person_cites(indexed, question: str, source: str, location: str) -> None:  # type: ignore[no-untyped-def]
    _report, state, store, embedder = indexed
    retriever = Retriever(store, embedder, state)
    passages = retriever.retrieve(question, 5, sources=[source]).passages
    assert passages, f"nothing found in {source}"
    assert passages[0].location == location

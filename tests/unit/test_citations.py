"""Citations are computed and verified in code, whatever the model wrote."""

from __future__ import annotations

from assistant.citations import cite, facts_hold, numbers_in, proper_names, render, strip_markers
from assistant.retrieval import Passage


def passage(rank: int, text: str, source: str = "doc.txt") -> Passage:
    return Passage(rank, f"c{rank}", source, "Titre", None, 0, len(text), text, 1.0, 0.8, 1.0)


P1 = passage(1, "Selon Gilles Angles, l’Accord intergouvernemental signé en 1993 ne constitue pas seulement un jalon historique.")
P2 = passage(2, "Près de 1 200 étudiants et médecins sont échangés chaque année entre la France et la Chine.", "chine.txt")


def test_numbers_match_across_spacing() -> None:
    assert numbers_in("près de 1 200 étudiants") == {"1200"}
    assert numbers_in("1200 étudiants, 6,5% et 2023-2027") == {"1200", "6,5", "2023", "2027"}


def test_proper_names_skip_the_first_word() -> None:
    assert proper_names("Selon Gilles Angles, l'accord") == {"gilles", "angles"}


def test_facts_must_all_appear() -> None:
    assert facts_hold("L'accord a été signé en 1993.", P1.text)
    assert not facts_hold("L'accord a été signé en 2023.", P1.text)
    assert not facts_hold("L'accord a été signé par Macron en 1993.", P1.text)


def test_supported_sentences_get_the_right_passage_and_quote() -> None:
    checked, citations = cite(
        "L'accord intergouvernemental a été signé en 1993 [2]. Environ 1 200 étudiants sont échangés chaque année [2].", [P1, P2]
    )
    assert [s.citations for s in checked] == [(1,), (2,)], "a wrong [2] marker is corrected to the passage that holds the facts"
    assert [c.n for c in citations] == [1, 2]
    assert "1993" in citations[0].quote and citations[1].source == "chine.txt"


def test_unsupported_sentence_is_flagged_or_dropped() -> None:
    checked, _citations = cite("L'accord a été signé en 1993. Il a coûté 40 millions d'euros.", [P1, P2])
    assert checked[0].supported and not checked[1].supported
    flagged = render(checked, drop_unsupported=False, language="fr")
    assert "40 millions d'euros ⚠ (non vérifié" in flagged and "1993 [1]." in flagged
    dropped = render(checked, drop_unsupported=True, language="fr")
    assert "40 millions" not in dropped


def test_never_cites_a_passage_the_model_was_not_given() -> None:
    _checked, citations = cite("L'accord intergouvernemental a été signé en 1993 [7].", [P1])
    assert [c.n for c in citations] == [1]
    assert strip_markers("Texte [3, 4].") == ("Texte.", [3, 4])


def test_cross_language_support_uses_similarity() -> None:
    calls = []

    def similarity(sentence: str, candidates):  # type: ignore[no-untyped-def]
        calls.append(sentence)
        return [0.9 if "1993" in c else 0.1 for c in candidates]

    checked, citations = cite("The intergovernmental agreement was signed in 1993.", [P2, passage(2, P1.text)][1:], similarity)
    assert checked[0].supported and citations[0].n == 2 and calls
    checked, _ = cite("The agreement was signed in 1994.", [P1], similarity)
    assert not checked[0].supported, "numbers are checked before any similarity"


def test_names_from_the_question_are_context_not_claims() -> None:
    faury = passage(1, "« Il faut s'adapter », rappelle Pierre Faury, co-président de la FHAC.")
    question = "Qui est le co-président de la French Healthcare Alliance China ?"
    checked, _ = cite("Pierre Faury est co-président de la French Healthcare Alliance China.", [faury], question=question)
    assert checked[0].supported
    checked, _ = cite("Jean Dupont est co-président de la French Healthcare Alliance China.", [faury], question=question)
    assert not checked[0].supported, "a name the question did not give must be in the passage"


def test_hyphenated_names_match_across_line_breaks() -> None:
    p = passage(1, "Autre initiative : le projet Génome Asie- Europe, associant l’hôpital Huashan de Shanghai.")
    checked, _ = cite(
        "L'hôpital Huashan de Shanghai participe au projet Génome Asie-Europe.", [p], question="Quel hôpital participe ?"
    )
    assert checked[0].supported


def test_locations_read_as_a_person_cites_them() -> None:
    from assistant.retrieval import format_location

    assert format_location(42, "5.3 Mettre à jour", False, "page") == "p. 42 · 5.3 Mettre à jour"
    assert format_location(3, "Budget", False, "slide") == "diapo 3 · Budget"
    assert format_location(None, "Historique", False, "page", (0, 10)) == "§ Historique"
    assert format_location(None, "", False, "page", (5, 10)) == "car. 5–10"
    assert format_location(7, "", True, "page") == "p. 7 · texte lu par OCR"

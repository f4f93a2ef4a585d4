"""The relevance check: does what is cited address the question's focus (its rare words, names, numbers)?"""

from __future__ import annotations

from assistant.relevance import Corpus, RelevanceRule, assess, holds, question_entities, question_focus
from assistant.retrieval import Passage

DOCS = {
    "sante.txt": [
        "France is a place of health innovation. Les équipes de recherche françaises des CHU ont signé plus de 100 premières mondiales.",
        "Les industries de santé emploient plus de 200 000 personnes.",
    ],
    "reseau.txt": ["Les Clubs Santé : 12 clubs santé actuellement. Côte d’Ivoire et Japon en cours de création."],
    "chine.txt": ["Le Dr Richard Gaston, urologue, retire à distance une tumeur rénale chez un patient chinois."],
}
CORPUS = Corpus((source, source.removesuffix(".txt"), text) for source, texts in DOCS.items() for text in texts)


def cited(source: str, index: int = 0, dense: float = 0.5) -> Passage:
    text = DOCS[source][index]
    return Passage(1, "c", source, source.removesuffix(".txt"), None, 0, len(text), text, 1.0, dense, 1.0)


def test_rare_words_weigh_more_than_common_ones() -> None:
    focus = question_focus("Combien de premières mondiales les équipes des CHU ont-elles signées ?", CORPUS)
    assert "combien" not in focus and focus["premieres"] > focus["les" if "les" in focus else "chu"] * 0.5
    assert CORPUS.idf("japon") < CORPUS.idf("chili"), "a word the index never uses weighs most"


def test_stems_match_by_prefix() -> None:
    assert holds("chinois", "la Chine") and holds("formes", "médecins formés") and holds("medecins", "un médecin")
    assert not holds("chili", "la Chine") and not holds("telephone", "la télémédecine")


def test_question_names_and_numbers_are_its_constraints() -> None:
    assert question_entities("Quel accord la France a-t-elle signé avec le Chili en 2017 ?") == {"france", "chili", "2017"}
    assert question_entities("Combien d'infirmiers français travaillent au Japon ?") == {"japon"}


def test_an_unrelated_real_figure_does_not_address_the_question() -> None:
    rule = RelevanceRule(min_coverage=0.6, min_similarity=0.7)
    off = assess("Combien d'infirmiers français travaillent au Japon ?", [cited("sante.txt")], CORPUS)
    assert off.missing == ("japon",) and not rule.addresses(off)
    on = assess("Combien de premières mondiales les équipes des CHU ont-elles signées ?", [cited("sante.txt")], CORPUS)
    assert on.missing == () and on.coverage > 0.9 and rule.addresses(on)


def test_the_document_and_its_title_count_for_names_not_the_passage_only() -> None:
    # Japon is in the document of the cited passage: the constraint is found, the coverage decides
    r = assess("Combien de clubs santé au Japon ?", [cited("reseau.txt")], CORPUS)
    assert r.missing == ()
    r = assess("Quel patient chinois le Dr Gaston a-t-il opéré à Canton ?", [cited("chine.txt")], CORPUS)
    assert r.missing == ("canton",)


def test_a_paraphrase_stands_on_embedding_similarity() -> None:
    rule = RelevanceRule(min_coverage=0.6, min_similarity=0.55)
    question = "Quel effectif les industriels de la santé font-ils travailler ?"
    low = assess(question, [cited("sante.txt", 1, dense=0.40)], CORPUS)
    high = assess(question, [cited("sante.txt", 1, dense=0.62)], CORPUS)
    assert low.coverage < 0.6 and not rule.addresses(low)
    assert rule.addresses(high), "few shared words, but the question and the passage mean the same"


def test_english_questions_use_similarity_only() -> None:
    rule = RelevanceRule(min_coverage=0.6, min_similarity=0.5, min_similarity_across_languages=0.55)
    question = "How many people do French health industries employ?"
    r = assess(question, [cited("sante.txt", 1, dense=0.6)], CORPUS)
    assert r.cross_language and rule.addresses(r)
    assert not rule.addresses(assess(question, [cited("sante.txt", 1, dense=0.5)], CORPUS))
    r = assess("How many French nurses work in Japan?", [cited("sante.txt", 0, dense=0.6)], CORPUS)
    assert r.missing == ("japan",), "Japan is not in that document (nor Japon)"


def test_an_english_name_may_be_the_translation_of_a_french_one() -> None:
    from assistant.text import fold

    translations = {"health": "sante", "nurses": "infirmieres"}

    def translating(word: str, candidates):  # type: ignore[no-untyped-def]  # a real Similarity: 1 for a translation
        return [1.0 if fold(c) == translations.get(word, word) else 0.3 for c in candidates]

    corpus = Corpus([("mekong.txt", "Rapport du programme Mékong Santé", "En 2024, 46 infirmières ont suivi le module.")])
    passage = Passage(
        1, "c", "mekong.txt", "Rapport du programme Mékong Santé", None, 0, 10, corpus.documents["mekong.txt"], 1.0, 0.6, 1.0
    )
    question = "How many nurses completed the module of the Mekong Health programme?"
    assert assess(question, [passage], corpus).missing == ("health",), "Health is not spelled like Santé"
    assert assess(question, [passage], corpus, translating).missing == (), "but it translates it"
    assert assess("How many nurses work in Chile?", [passage], corpus, translating).missing == ("chile",)


def test_an_acronym_of_the_question_written_out_in_the_passage_is_addressed() -> None:
    text = "Le centre hospitalier universitaire de Bordeaux travaille avec trois hôpitaux de district : Kolda et Sédhiou."
    corpus = Corpus([("note.odt", "Note de cadrage", text), *((s, s, t) for s, ts in DOCS.items() for t in ts)])
    passage = Passage(1, "c", "note.odt", "Note de cadrage", None, 0, len(text), text, 1.0, 0.5, 1.0)
    r = assess("Avec quels hôpitaux de district le CHU de Bordeaux travaille-t-il ?", [passage], corpus)
    assert r.missing == () and r.coverage == 1.0
    other = assess("Avec quels hôpitaux de district le CHR de Bordeaux travaille-t-il ?", [passage], corpus)
    assert other.missing == ("CHR",) and other.coverage < 1.0

"""What the model reads of each passage: the sentences that matter for the question, with their neighbours."""

from __future__ import annotations

from assistant.context import ContextSelector, lexical_scores
from assistant.retrieval import Passage
from assistant.text import sentence_spans, split_sentences

ACCORD = (
    "La coopération franco-vietnamienne est ancienne. "
    "L’Accord intergouvernemental a été signé en 1993 à Hanoï. "
    "Il a été renouvelé en 2014 pour dix ans. "
    "Les hôpitaux de Hué et de Hô Chi Minh-Ville accueillent des internes français. "
    "Des bourses financent ces séjours."
)
ROBOT = (
    "Le 23 octobre 2025 marque un tournant symbolique. "
    "Ce jour-là, le CHU de Bordeaux réalise la première intervention cardiaque robotisée à distance. "
    "Le patient, âgé de 73 ans, quitte l’hôpital deux jours plus tard."
)
OTHER = "Le marché chinois des dispositifs médicaux croît vite. Les exportations françaises augmentent depuis 2020."


def passage(rank: int, text: str, score: float = 1.0) -> Passage:
    return Passage(rank, f"c{rank}", f"doc{rank}.txt", f"Document {rank}", None, 0, len(text), text, score, score, 0.0)


def test_sentence_spans_are_exact_offsets_of_the_sentences_the_checker_reads() -> None:
    text = "« Bonjour. » Dit-il. Puis :\n• une ligne\n\nFin du texte sans point"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == split_sentences(text)
    assert split_sentences(text) == ["« Bonjour. » Dit-il.", "Puis :", "une ligne", "Fin du texte sans point"]
    assert sentence_spans("   \n\n ") == []
    title = "L’attaché est M. Gilles Angles, Dr en médecine. Il a été nommé en 2019."
    assert [title[a:b] for a, b in sentence_spans(title)] == [
        "L’attaché est M. Gilles Angles, Dr en médecine.",
        "Il a été nommé en 2019.",
    ], "a title does not end the sentence the model reads, as it does not for the checker"


def test_rare_question_words_weigh_more() -> None:
    sentences = ["La coopération santé avance.", "La coopération santé signée en 1993.", "Autre chose."]
    scores = lexical_scores("Quand la coopération en santé a-t-elle été signée ?", sentences)
    assert scores[1] > scores[0] > scores[2] == 0.0


def test_the_sentence_that_answers_is_kept_with_its_neighbours_and_the_rest_is_cut() -> None:
    excerpts = ContextSelector(budget=120).select("Quand l'Accord intergouvernemental a-t-il été signé ?", [passage(1, ACCORD)])
    (excerpt,) = excerpts
    assert "signé en 1993" in excerpt.text
    assert "Il a été renouvelé en 2014" in excerpt.text, "the next sentence says what happened to it"
    assert "bourses" not in excerpt.text
    assert excerpt.text.endswith("…"), "the model is told that text was left out"
    for a, b in excerpt.spans:  # what the model reads is the passage's own text
        assert ACCORD[a:b] in excerpt.text


def test_the_sentence_before_gives_the_answer_its_meaning() -> None:
    question = "Quand a eu lieu la première intervention cardiaque robotisée à distance ?"
    (excerpt,) = ContextSelector(budget=100).select(question, [passage(1, ROBOT)])
    assert "Ce jour-là" in excerpt.text and "23 octobre 2025" in excerpt.text
    assert "73 ans" not in excerpt.text, "the sentence before comes first when the best one points back to it"


def test_a_passage_with_nothing_on_the_question_is_left_out_and_numbers_stay() -> None:
    passages = [passage(1, OTHER, 0.9), passage(2, ACCORD, 1.0)]
    excerpts = ContextSelector(budget=100).select("En quelle année l'Accord intergouvernemental a-t-il été signé ?", passages)
    assert [e.rank for e in excerpts] == [2]
    assert "1993" in excerpts[0].text


def test_the_budget_bounds_what_is_read_and_zero_means_whole_passages() -> None:
    passages = [passage(1, ACCORD), passage(2, ROBOT, 0.8), passage(3, OTHER, 0.7)]
    question = "Quels hôpitaux accueillent des internes français et depuis quand la coopération existe-t-elle ?"
    small = ContextSelector(budget=150).select(question, passages)
    longest = max(b - a for p in passages for a, b in sentence_spans(p.text))
    assert sum(b - a for e in small for a, b in e.spans) <= 150 + 2 * longest
    whole = ContextSelector(budget=0).select(question, passages)
    assert [e.text for e in whole] == [" ".join(p.text.split()) for p in passages]
    assert sum(len(e.text) for e in small) < sum(len(e.text) for e in whole)


def test_a_question_asking_for_a_figure_prefers_the_sentence_that_has_one() -> None:
    (excerpt,) = ContextSelector(budget=1, neighbours=0).select("Quel âge avait le patient ?", [passage(1, ROBOT)])
    assert "73 ans" in excerpt.text


def test_an_english_question_reads_the_best_passages_first() -> None:
    passages = [passage(1, ACCORD, 1.0), passage(2, OTHER, 0.6)]
    excerpts = ContextSelector(budget=200).select("Who funds the visits?", passages, "en")
    assert excerpts[0].rank == 1 and excerpts[0].text.startswith("La coopération franco-vietnamienne")


def test_the_passage_retrieval_put_first_is_read_even_when_it_words_the_answer_otherwise() -> None:
    # "combien d'étapes" answered by "en trois phases": no word of the question in the first passage,
    # which retrieval still found best; the others share words with the question and would fill the budget
    first = passage(1, "Le ministère prépare une feuille de route. Cette proposition, conçue en trois phases, vise 2030.", 1.0)
    words = "Le projet ministériel vise des prestations médicales élémentaires sans frais pour tous."
    others = [passage(r, f"{words} Détail {r} du projet ministériel et des prestations médicales.", 0.9) for r in (2, 3)]
    question = "En combien d'étapes est découpé le projet ministériel de prestations médicales sans frais ?"
    read = {e.rank: e.text for e in ContextSelector(budget=150).select(question, [first, *others])}
    assert 1 in read and "trois phases" in read[1]
    assert 1 not in {e.rank for e in ContextSelector(budget=150).select(question, [passage(1, first.text, 0.5), *others])}, (
        "a passage ranked below the others is still left out when nothing in it matches"
    )


def test_an_age_or_a_length_of_time_is_a_number_to_look_for() -> None:
    text = "The operation took place in Xiamen. The operation lasted 20 minutes. The operation was a success."
    [excerpt] = ContextSelector(budget=30, neighbours=0).select("How long did the operation last?", [passage(1, text)], "en")
    assert "20 minutes" in excerpt.text


def test_a_file_name_with_dots_stays_in_its_sentence() -> None:
    # the checker read "~/." as a sentence, and the citation marker went into the path: "~/ [1]. dput.cf"
    text = "Il utilise /etc/dput et ~/.dput.cf pour sa configuration. Lancez ./configure puis make. Voir .gitignore ici."
    assert split_sentences(text) == [
        "Il utilise /etc/dput et ~/.dput.cf pour sa configuration.",
        "Lancez ./configure puis make.",
        "Voir .gitignore ici.",
    ]
    assert [text[a:b] for a, b in sentence_spans(text)] == split_sentences(text)

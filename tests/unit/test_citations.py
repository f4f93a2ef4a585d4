"""Citations are computed and verified in code, whatever the model wrote."""

from __future__ import annotations

from assistant.citations import cite, render, strip_markers
from assistant.facts import counted_words, facts_hold, numbers_in, proper_names
from assistant.retrieval import Passage


def passage(rank: int, text: str, source: str = "doc.txt") -> Passage:
    return Passage(rank, f"c{rank}", source, "Titre", None, 0, len(text), text, 1.0, 0.8, 1.0)


P1 = passage(1, "Selon Gilles Angles, l’Accord intergouvernemental signé en 1993 ne constitue pas seulement un jalon historique.")
P2 = passage(2, "Près de 1 200 étudiants et médecins sont échangés chaque année entre la France et la Chine.", "chine.txt")


def test_numbers_match_across_spacing() -> None:
    assert numbers_in("près de 1 200 étudiants") == {"1200"}
    assert numbers_in("1200 étudiants, 6,5% et 2023-2027") == {"1200", "6,5", "2023", "2027"}


def test_proper_names_skip_a_common_first_word() -> None:
    assert proper_names("Selon Gilles Angles, l'accord") == {"gilles", "angles"}
    assert proper_names("Oui, le Vietnam et la France le renouvellent.") == {"vietnam", "france"}, "a yes is no name"


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


def test_names_from_the_question_must_be_in_the_passage_or_its_document() -> None:
    faury = passage(1, "« Il faut s'adapter », rappelle Pierre Faury, co-président de la FHAC.", "fhac.txt")
    question = "Qui est le co-président de la French Healthcare Alliance China ?"
    answer = "Pierre Faury est co-président de la French Healthcare Alliance China."
    checked, _ = cite(answer, [faury], question=question)
    assert not checked[0].supported, "a name restated from the question is a claim: nothing here says FHAC is that alliance"
    document = "150 acteurs réunis au sein de la French Healthcare Alliance China (FHAC). " + faury.text
    checked, _ = cite(answer, [faury], question=question, documents={"fhac.txt": document})
    assert checked[0].supported, "the passage's document names the alliance: the question's subject is found"
    checked, _ = cite("Jean Dupont est co-président de la French Healthcare Alliance China.", [faury], question=question)
    assert not checked[0].supported, "a name the question did not give must be in the passage itself"


def test_question_constraints_restated_on_an_unrelated_passage_do_not_stand() -> None:
    question = "Quel accord la France a-t-elle signé avec le Chili en 2017 ?"
    # restating the question alone claims nothing (no answer); this sentence adds a word of its own
    claim = "La France a signé un accord avec le Chili en 2017, en présence du Vietnam [1]."
    vietnam = passage(1, "La France a signé avec le Vietnam l’Accord intergouvernemental en 1993.", "vietnam.txt")
    checked, citations = cite(claim, [vietnam], question=question)
    assert not checked[0].supported and citations == []
    document = {"vietnam.txt": "Vietnam. " + vietnam.text}
    checked, _ = cite(claim, [vietnam], question=question, documents=document)
    assert not checked[0].supported, "neither Chile nor 2017 is anywhere in the cited document"
    chile = {"vietnam.txt": "Un accord a été signé avec le Chili en 2017. " + vietnam.text}
    checked, _ = cite(claim, [vietnam], question=question, documents=chile)
    assert checked[0].supported, "the question's constraints are in the passage's document"


def test_a_name_opening_the_sentence_is_checked() -> None:
    assert proper_names("Macron a signé l'accord en 1993.") == {"macron"}
    checked, _ = cite("Macron a signé l'accord intergouvernemental en 1993 [1].", [P1])
    assert not checked[0].supported, "Macron is not in the passage"
    checked, _ = cite("Gilles Angles parle de l'accord intergouvernemental signé en 1993 [1].", [P1])
    assert checked[0].supported
    # a common word opening a sentence is not a name: it is seen in lower case in the passage
    checked, _ = cite("Signé en 1993, l'Accord intergouvernemental constitue un jalon historique [1].", [P1])
    assert checked[0].supported


def test_sentences_split_around_titles_pages_and_etc() -> None:
    from assistant.text import split_sentences

    text = (
        "M. Gilles Angles est attaché. Le Dr. Richard Gaston a opéré en 2025. Voir p. 3 du rapport. Des hôpitaux, etc. La suite."
    )
    assert split_sentences(text) == [
        "M. Gilles Angles est attaché.",
        "Le Dr. Richard Gaston a opéré en 2025.",
        "Voir p. 3 du rapport.",
        "Des hôpitaux, etc.",
        "La suite.",
    ]
    assert split_sentences("Signed by Mr. Angles [1]. Renewed in 2024 [2].\n• 183 milliards ;") == [
        "Signed by Mr. Angles [1].",
        "Renewed in 2024 [2].",
        "183 milliards ;",
    ]
    # each sentence of "Dr. Gaston ..." is checked on its own, with its own name
    gaston = passage(1, "En septembre 2025, le Dr Richard Gaston retire à distance une tumeur rénale chez un patient chinois.")
    checked, _ = cite("Le Dr. Gaston a retiré une tumeur rénale en 2025 [1]. M. Dupont a opéré le rein [1].", [gaston])
    assert [s.supported for s in checked] == [True, False]


ADVISERS = passage(
    1,
    "Le réseau des conseillers pour les affaires sociales comprend 18 postes de conseillers. "
    "Les conseillers régionaux en santé mondiale sont répartis sur 10 postes. "
    "On compte 12 clubs santé actuellement.",
)


def test_a_number_must_sit_with_the_fact_it_counts() -> None:
    wrong = "Les conseillers régionaux en santé mondiale sont répartis sur 18 postes [1]."
    right = "Les conseillers régionaux en santé mondiale sont répartis sur 10 postes [1]."
    assert not cite(wrong, [ADVISERS])[0][0].supported, "18 is in the passage, but it counts the other advisers"
    assert cite(right, [ADVISERS])[0][0].supported
    assert not cite("Il y a 18 clubs santé actuellement [1].", [ADVISERS])[0][0].supported
    assert cite("Il y a 12 clubs santé actuellement [1].", [ADVISERS])[0][0].supported


def test_numbers_written_in_words_match_digits() -> None:
    robot = passage(1, "Vingt minutes d’intervention, une précision millimétrique, et un succès clinique immédiat.")
    assert numbers_in("Vingt minutes et plus de cinquante accords") == {"20", "50"}
    assert cite("L'intervention a duré 20 minutes, avec une précision millimétrique [1].", [robot])[0][0].supported
    assert not cite("L'intervention a duré 30 minutes, avec une précision millimétrique [1].", [robot])[0][0].supported


# A crude bilingual embedding: English words are read as their French counterparts, then
# sentences compare by shared words. A real implementation of the Similarity interface.
_FR = {
    "advisers": "conseillers",
    "regional": "regionaux",
    "global": "mondiale",
    "health": "sante",
    "positions": "postes",
    "social": "sociales",
    "affairs": "affaires",
    "network": "reseau",
    "clubs": "clubs",
    "agreement": "accord",
    "signed": "signe",
    "intergovernmental": "intergouvernemental",
    "students": "etudiants",
    "exchanged": "echanges",
    "france": "france",
    "china": "chine",
}


def bilingual(sentence: str, candidates):  # type: ignore[no-untyped-def]
    from assistant.text import tokenize

    def words(text: str) -> set[str]:
        return {_FR.get(w, w) for w in tokenize(text)}

    a = words(sentence)
    return [len(a & words(c)) / max(1.0, (len(a) * len(words(c))) ** 0.5) for c in candidates]


def test_english_answers_are_checked_against_french_passages() -> None:
    right = "The regional global health advisers hold 10 positions [1]."
    wrong = "The regional global health advisers hold 18 positions [1]."
    assert cite(right, [ADVISERS], bilingual)[0][0].supported
    assert not cite(wrong, [ADVISERS], bilingual)[0][0].supported, "the right figure on the wrong fact, across languages"
    checked, citations = cite("Nearly 1,200 students are exchanged each year between France and China [2].", [P1, P2], bilingual)
    assert checked[0].supported and citations[0].n == 2, "'Chinese', 'French' style words and English digits are fine"
    checked, _ = cite("The agreement was signed in 1993 by Emmanuel Macron [1].", [P1], bilingual)
    assert not checked[0].supported, "an English sentence cannot bring a name the French passage lacks"
    assert proper_names("In March, the French and Chinese teams met in Xiamen.") == {"xiamen"}, (
        "English capitalizes months and nationalities; they are not names to find"
    )
    checked, _ = cite("The intergovernmental agreement was signed in 1993 by Gilles Angles [1].", [P1], bilingual)
    assert checked[0].supported


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


def test_a_figure_free_neighbour_carries_the_figures_subject() -> None:
    surgery = passage(
        1,
        "Le 23 octobre 2025 marque un tournant symbolique. Ce jour-là, le CHU de Bordeaux réalise la première "
        "intervention cardiaque robotisée à distance entre la France et la Chine. Vingt minutes d’intervention suffisent.",
    )
    answer = "La première intervention cardiaque robotisée à distance a eu lieu le 23 octobre 2025 [1]."
    assert cite(answer, [surgery])[0][0].supported


def test_each_figure_is_checked_with_its_own_clause() -> None:
    cas = passage(
        1,
        "Le réseau des conseillers pour les affaires sociales (CAS)\nCréé à partir de trois postes dans les années 1960, "
        "comprend\n\nactuellement 18 postes de conseillers.\nRépartis sur 14 localisations.",
    )
    question = "Avec combien de postes le réseau des CAS a-t-il été créé dans les années 1960 ?"
    right = (
        "Le réseau des CAS a été créé à partir de trois postes dans les années 1960, ce qui représente 18 postes actuellement."
    )
    assert cite(right, [cas], question=question)[0][0].supported
    wrong = "Le réseau des CAS a été créé à partir de 18 postes dans les années 1960, et compte 3 postes actuellement."
    assert not cite(wrong, [cas], question=question)[0][0].supported


def test_a_figure_must_sit_with_what_it_counts() -> None:
    slide = passage(1, "Relais locaux pour les acteurs privés\nLes clubs santé\n 18 CAS\n\n10 CSRM\n\n15 « Clubs » santé")
    assert counted_words("Il y a 18 clubs santé, depuis 2013, pour 72 heures.") == {"18": "clubs", "72": "heures"}
    assert not cite("Il y a 18 clubs santé [1].", [slide])[0][0].supported, "18 counts the CAS, not the clubs"
    assert cite("Il y a 15 clubs santé [1].", [slide])[0][0].supported


def test_a_figure_the_question_gave_does_not_cut_the_clause_of_another() -> None:
    cas = passage(
        1,
        "Le réseau des conseillers pour les affaires sociales (CAS)\nCréé à partir de trois postes dans les années 1960, "
        "comprend\n\nactuellement 18 postes de conseillers.\nRépartis sur 14 localisations.",
    )
    question = "Avec combien de postes le réseau des CAS a-t-il été créé dans les années 1960 ?"
    wrong = "Le réseau des CAS a été créé dans les années 1960 par 18 postes."
    assert not cite(wrong, [cas], question=question)[0][0].supported, "18 is today's count, not the count at creation"
    assert cite("Le réseau des CAS a été créé dans les années 1960 avec trois postes.", [cas], question=question)[0][0].supported


def test_what_a_figure_counts_may_sit_on_the_next_line_of_a_pdf() -> None:
    pdf = passage(1, "Le réseau des conseillers pour les affaires sociales comprend actuellement 18\npostes de conseillers.")
    assert cite("Le réseau des conseillers pour les affaires sociales comprend 18 postes [1].", [pdf])[0][0].supported
    budget = passage(2, "Budget du jumelage\n\nBudget annuel : 210 000 €\n\nReliquat 2023 reporté : 18 000 €")
    assert cite("Le budget annuel du jumelage est de 210 000 euros [2].", [budget])[0][0].supported, "€ counts euros"


def test_restating_the_question_is_no_answer() -> None:
    faq = passage(1, "Debian fournit plus de 59100 paquets et fonctionne sur 9 architectures.")
    question = "Sur combien d'architectures Debian fonctionne-t-elle selon la FAQ ?"
    checked, citations = cite("Sur combien d'architectures Debian fonctionne-t-elle selon la FAQ ? [1]", [faq], question=question)
    assert not any(s.claims for s in checked) and citations == []
    assert cite("Debian fonctionne sur 9 architectures [1].", [faq], question=question)[0][0].supported
    assert cite(
        "Oui, Debian fonctionne sur plusieurs architectures [1].",
        [faq],
        question="Debian fonctionne-t-elle sur plusieurs architectures ?",
    )[0][0].claims


def test_an_english_name_may_translate_the_passage_s_own() -> None:
    from assistant.text import fold

    translations = {"health": "sante", "nurses": "infirmieres"}

    def translating(sentence: str, candidates):  # type: ignore[no-untyped-def]  # a word and its translation: 1
        return [1.0 if fold(c) == translations.get(fold(sentence), fold(sentence)) else 0.3 for c in candidates]

    mekong = "Rapport du programme Mékong Santé\nEn 2024, 46 infirmières ont suivi le module de soins critiques."
    claim = "46 nurses completed the critical care module of the Mekong Health programme in 2024."
    assert not facts_hold(claim, mekong.split("\n")[1], document=mekong), "Health is not spelled like Santé"
    assert facts_hold(claim, mekong.split("\n")[1], document=mekong, similarity=translating)
    assert not facts_hold(claim.replace("Mekong", "Andes"), mekong.split("\n")[1], document=mekong, similarity=translating)


def test_a_counted_word_may_be_written_short_in_the_passage() -> None:
    note = passage(1, "Le service de téléexpertise rend un avis en 72 h pour 90 % des demandes, après 30 min de tri.")
    assert cite("Le service de téléexpertise rend un avis en 72 heures pour 90 % des demandes [1].", [note])[0][0].supported
    assert cite("Le tri des demandes de téléexpertise dure 30 minutes [1].", [note])[0][0].supported
    assert not cite("Le service de téléexpertise rend un avis en 72 jours [1].", [note])[0][0].supported
    ages = passage(2, "Les séjours durent de 5 à 10 ans.")
    assert not cite("Les séjours durent 5 années au plus [2].", [ages])[0][0].supported, "« à » abbreviates nothing"


def test_a_word_of_the_claim_is_found_in_its_plural() -> None:
    slide = passage(1, "Les services économiques gérés par la Direction générale du Trésor\n29 implantations, dans 105 pays")
    question = "Combien d'implantations comptent les services économiques de la Direction générale du Trésor ?"
    claim = "Il y a 29 implantations dans le service économique de la Direction générale du Trésor [1]."
    assert cite(claim, [slide], question=question)[0][0].supported


def test_an_acronym_is_a_name_found_only_in_capitals() -> None:
    from assistant.facts import holds_name

    question = "What is the WHO definition of telemedicine?"
    assert proper_names(question, acronyms=True) == {"WHO"}, "in a question, WHO is not the stop word who"
    assert not holds_name("WHO", "When ?\nWho ?\nHealth professionals"), "a slide's « Who ? » is not the WHO"
    assert holds_name("HP", "l'Assistance Publique – Hôpitaux de Paris (AP-HP)")
    assert holds_name("IMPLANET", "le système JAZZ® d’IMPLANET, dédié à la chirurgie du rachis")
    assert proper_names("La coopération avec l'OMS et d'Emmanuel Macron", acronyms=True) == {"OMS", "emmanuel", "macron"}, (
        "a name after an elision is a name"
    )
    assert proper_names("80% of IT systems are not linked.") == set(), "an answer's IT is checked as words, not in capitals"
    assert proper_names("L'équipement d'IMPLANET sert au rachis.") == {"implanet"}


def test_the_question_s_year_must_be_that_of_the_figure() -> None:
    market = passage(
        1,
        "• 183 milliards de dollars pour les dispositifs médicaux en 2024, avec une croissance annuelle de 15 % ;\n\n"
        "• 2 200 milliards de yuans investis dans la santé en 2025 ;\n\n"
        "• une hausse de 30 % des exportations françaises vers la Chine depuis 2020.",
    )
    wrong = "Le marché des dispositifs médicaux était de 183 milliards de dollars en 2020 [1]."
    checked, _ = cite(wrong, [market], question="Quel était le montant du marché des dispositifs médicaux en 2020 ?")
    assert not checked[0].supported, "2020 is in the passage, but not with 183 milliards"
    right = "Le marché des dispositifs médicaux était de 183 milliards de dollars en 2024 [1]."
    checked, _ = cite(right, [market], question="Quel était le montant du marché des dispositifs médicaux en 2024 ?")
    assert checked[0].supported
    far = passage(2, "À plus de 10 000 kilomètres de là, à Xiamen, un patient de 73 ans est opéré.")
    checked, _ = cite(
        "Le patient opéré en octobre 2025 se trouvait à plus de 10 000 kilomètres [2].",
        [far],
        question="À quelle distance se trouvait le patient opéré en octobre 2025 ?",
        documents={"doc.txt": "Le 23 octobre 2025 marque un tournant.\n" + far.text},
    )
    assert checked[0].supported, "a year the passage does not give may come from its document (the chunk before)"


def test_the_question_s_date_may_sit_in_the_sentence_before_the_figure() -> None:
    surgery = passage(
        1,
        "Le 23 octobre 2025 marque un tournant. Ce jour-là, le CHU de Bordeaux réalise une intervention de 20 minutes.",
    )
    checked, _ = cite(
        "L'intervention du 23 octobre 2025 a duré 20 minutes [1].",
        [surgery],
        question="Combien de temps a duré l'intervention du 23 octobre 2025 ?",
    )
    assert checked[0].supported
    trained = passage(1, "En 2013, un accord est signé avec Hanoï. En 2014, 50 médecins sont formés à Hanoï.")
    checked, _ = cite(
        "En 2013, 50 médecins ont été formés à Hanoï [1].", [trained], question="Combien de médecins formés à Hanoï en 2013 ?"
    )
    assert not checked[0].supported, "the figure's own sentence gives another year"


def test_figure_questions_and_answers_that_give_one() -> None:
    from assistant.facts import gives_figure
    from assistant.text import asks_for_figure

    assert asks_for_figure("Depuis quand occupe-t-il ce poste ?")
    assert asks_for_figure("En quelle année l'AP-HP a-t-elle été créée ?")
    assert asks_for_figure("How long did the forum last?")
    assert not asks_for_figure("En quelle ville se tient le forum ?")
    assert not gives_figure("Jean-Pierre Boffy, président de la French Healthcare Alliance China.")
    assert gives_figure("En décembre prochain.") and gives_figure("Depuis deux ans.") and gives_figure("Des milliers.")
    assert gives_figure("Vingt minutes.") and gives_figure("In 2019.")


def test_deux_is_a_figure_to_check_un_is_not() -> None:
    assert numbers_in("deux semaines à l'avance") == {"2"}
    assert numbers_in("une hausse, un accord") == set(), "an article is no figure"
    holidays = passage(1, "Envoyez un courrier à debian-private avec le sujet [VAC] et donnez la période de vos vacances.")
    checked, _ = cite("Le développeur annonce ses vacances à debian-private deux semaines à l'avance [1].", [holidays])
    assert not checked[0].supported, "« deux semaines » is in no passage"


def test_an_invented_fact_is_told_from_a_sentence_worded_otherwise() -> None:
    accord = passage(1, "Le renouvellement de l'accord intergouvernemental qui lie la France et le Vietnam est en cours.")
    checked, _ = cite("Le doyen de l'école est Zhang Xianming.", [accord])
    assert not checked[0].supported and checked[0].invented, "a name no passage holds"
    checked, _ = cite("Oui, la France et le Vietnam envisagent de prolonger leur entente.", [accord])
    assert not checked[0].supported and not checked[0].invented, "only the wording differs: flagged, not invented"


def test_an_acronym_is_supported_by_a_passage_that_writes_it_out() -> None:
    from assistant.facts import spelled_out

    passage = (
        "Cette note propose un service de téléexpertise en dermatologie entre le centre hospitalier universitaire "
        "de Bordeaux et trois hôpitaux de district du Sénégal : Kolda, Sédhiou et Ziguinchor."
    )
    question = "Quels hôpitaux de district travaillent avec le CHU de Bordeaux ?"
    answer = "Les hôpitaux de district qui travaillent avec le CHU de Bordeaux sont Kolda, Sédhiou et Ziguinchor."
    assert facts_hold(answer, passage, context=question)
    assert spelled_out("oms", "L'Organisation mondiale de la santé a publié un rapport."), "stop words aside"
    # what is not written out is still refused: another acronym, two letters, initials split by a sentence break
    assert not facts_hold(answer.replace("CHU", "CHR"), passage, context=question.replace("CHU", "CHR"))
    assert not spelled_out("ue", "une étude européenne"), "two letters are too easily met by chance"
    assert not spelled_out("chu", "Le centre ferme. Hospitalier universitaire, il rouvre.")
    assert not facts_hold("Le Chu de Bordeaux soigne Kolda.", "Kolda et le centre ville de Bordeaux.", context="Qui ?")


def test_a_figure_in_a_list_needs_what_it_counts_near_it_not_the_documents_title() -> None:
    from assistant.facts import numbers_in_context

    passage = (
        "Bilan des échanges\n• 17 soignants vietnamiens accueillis à\nRouen\n• 5 missions d'experts rouennais à Hué\n"
        "• Taux de satisfaction : 94 %"
    )
    title = "Comité de pilotage du jumelage Hué – Rouen"
    question = "Quel taux de satisfaction le bilan des échanges du jumelage Hué – Rouen affiche-t-il ?"
    answer = "Le bilan des échanges du jumelage Hué – Rouen affiche un taux de satisfaction de 94 %."
    assert numbers_in_context(answer, passage, question, None, title), "Hué, Rouen, jumelage: the whole document's"
    # the figure must still sit with what it counts: 5 (missions) is not a satisfaction rate
    wrong = "Le bilan des échanges du jumelage Hué – Rouen affiche un taux de satisfaction de 5 %."
    assert not numbers_in_context(wrong, passage, question, None, title)

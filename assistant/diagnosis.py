"""Why an answer abstained, said for the admins: where the question was lost, as far as the pipeline knows.

The evaluation knows where the evidence is and attributes every loss to one stage
(``assistant.evaluation.attribution``). In service nobody knows where the answer is: what can
be said is the retrieval score against its gate, whether the model refused, and which check
refused its draft. The admin page shows it beside each question without answer.
"""

from __future__ import annotations

from assistant.answer import Answer

MAX_DRAFT = 600  # characters of the refused draft kept for the admins


def diagnose(answer: Answer, abstain_below: float) -> str:
    """One or two sentences in French; "" when the answer did not abstain."""
    if not answer.abstained:
        return ""
    best = max((p.dense for p in answer.passages), default=0.0)
    n = len(answer.passages)
    rel = answer.relevance
    if answer.reason == "weak-retrieval":
        if not n:
            return "Recherche : aucun passage trouvé pour cette question."
        return (
            f"Recherche : le passage le plus proche n'a qu'une similarité de {best:.2f} avec la question ; le modèle "
            f"n'est interrogé qu'à partir de {abstain_below:.2f} (ASSISTANT_ABSTAIN_BELOW). Le sujet n'est sans doute "
            "pas dans les documents, ou pas avec ces mots."
        )
    if answer.reason == "model-refusal":
        said = (
            f"Rédaction : le modèle a lu {n} passage(s) (le plus proche à {best:.2f}) et dit ne pas y trouver la réponse. "
            "Si un document la donne, regardez s'il est parmi les passages ci-dessous : sinon c'est la recherche qui l'a manqué."
        )
    elif answer.reason == "unsupported":
        flagged = [s.text for s in answer.sentences if s.claims and not s.supported]
        said = "Vérification des citations : le brouillon du modèle affirmait ce qu'aucun passage ne dit"
        said += f" (« {flagged[0][:200]} »)." if flagged else "."
    elif answer.reason == "off-topic":
        missing = f" ; absents des passages cités : {', '.join(rel.missing)}" if rel is not None and rel.missing else ""
        figures = f" (couverture {rel.coverage:.2f}, similarité {rel.similarity:.2f}{missing})" if rel is not None else ""
        said = f"Vérification de pertinence : le brouillon est étayé, mais ce qu'il cite ne traite pas de la question{figures}."
    elif answer.reason == "no-figure":
        said = (
            "Vérification : la question demande un chiffre ou une date ; le brouillon n'en donne aucun que les passages portent."
        )
    else:
        said = f"Abstention ({answer.reason or 'raison inconnue'})."
    draft = answer.second_draft if answer.second_draft is not None else answer.draft
    if draft and answer.reason != "model-refusal":
        said += f" Brouillon refusé : « {draft[:MAX_DRAFT]} »"
    return said

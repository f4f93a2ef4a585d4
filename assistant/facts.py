"""Check the facts of an answer sentence against a passage: its numbers and its proper names.

A number or a name of the sentence must be in the passage (those that the question
supplied may instead be in the passage's document or title); a number the answer brings
must sit, in the passage, in a sentence about the same thing (the right figure attached to
the wrong fact fails); across languages, a name may be the translation of one in the passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

from assistant.lexicon import ENGLISH_CAPITALIZED, FIGURE_WORDS, LINK_WORDS, NAME_ELISIONS
from assistant.text import detect_language, fold, holds, split_sentences, stopwords, text_cache, tokenize

Similarity = Callable[[str, Sequence[str]], list[float]]  # sentence vs candidates -> cosine each

# Of the claim's content words that the passage holds, the share that must sit in the
# sentence holding the claim's number (calibrated on the tuning half: see README).
NUMBER_CONTEXT = 0.5
# Across languages: the sentence holding the number must be about as close to the claim
# as the passage's closest sentence.
NUMBER_SIMILARITY_MARGIN = 0.05
# Cosine at which an English capitalized word is the translation of a French one (Health: Santé
# 0.85, Nurses: Infirmiers 0.86); different places stay below (Cambodia: Vietnam 0.76, Japan: Chine 0.69).
NAME_TRANSLATION = 0.8

_NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f.,]\d+)*")
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][\w’']*")  # "Asie-Europe" is two words


def _digits(text: str) -> set[str]:
    out = set()
    for raw in _NUMBER.findall(text):
        # thousands separators: "1 200", "1.200", "1,200" (English); "6,5" keeps its decimal comma
        compact = re.sub(r"(?<=\d)[ \u00a0\u202f.,](?=\d{3}\b)", "", raw)
        compact = compact.replace(".", ",")
        out.add(compact.rstrip(",."))
    return out


@text_cache
def _numbers_cached(text: str) -> frozenset[str]:
    from text_to_num import alpha2digit

    found = _digits(text)
    for language in ("fr", "en"):  # "Vingt minutes", "cinquante accords", "twenty minutes"
        try:
            found |= _digits(alpha2digit(text, language, threshold=2))
        except (ValueError, RuntimeError):  # a number it cannot parse is read as digits only
            pass
    return frozenset(found)


def numbers_in(text: str) -> set[str]:
    """Numbers as digit strings: "1 200" and "1200" match; "6,5" stays "6,5"; "vingt" is "20"."""
    return set(_numbers_cached(text))


_FIGURE_WORDS = frozenset(fold(w) for w in FIGURE_WORDS)


def gives_figure(sentence: str) -> bool:
    """Whether the sentence gives a quantity or a time: digits, a number or month written out, "des milliers"."""
    return bool(numbers_in(sentence)) or any(w in _FIGURE_WORDS for w in re.findall(r"[\w']+", fold(sentence)))


def lowercase_words(*texts: str) -> set[str]:
    """Accent-folded words that appear in lower case somewhere in the texts (so they are common words)."""
    return {fold(w) for t in texts for w in _WORD.findall(t) if w[0].islower()}


_ELIDED = re.compile(rf"^(?:{'|'.join(NAME_ELISIONS)})['’]", re.IGNORECASE)


def _as_name(word: str) -> str:
    """A word as names are compared: accent-free lower case, quotes and hyphens trimmed (its elision is cut first)."""
    return fold(word).strip("'’-")


def proper_names(sentence: str, common: set[str] | frozenset[str] = frozenset(), acronyms: bool = False) -> set[str]:
    """Capitalized words, accent-folded (names, places, acronyms).

    The first word of the sentence counts too, unless it is a common word: a stop word,
    or a word that ``common`` (words seen in lower case) holds. "Macron a signé" names Macron.
    A name after an elision counts ("l'OMS", "d'Emmanuel").

    With ``acronyms`` (a question's subject and constraints), a word in capitals is an
    acronym, and so a name, even when it spells a stop word ("the WHO definition" names the
    WHO), unless most of the sentence is in capitals; it is kept in capitals, for it must be
    found in capitals ("Who ?" is not the WHO). An answer's acronyms are checked as other
    names: an English answer's "IT" has no capitals to match in a French passage.
    """
    words = _WORD.findall(sentence)
    shouted = sum(w.isupper() for w in words) > len(words) / 2  # a heading or a question in capitals
    out = set()
    for i, word in enumerate(words):
        word = _ELIDED.sub("", word)  # "l'OMS", "d'Emmanuel": the name after the elision
        if not word or not word[0].isupper():
            continue
        folded = _as_name(word)
        if acronyms and not shouted and len(word) >= 2 and word.isupper() and folded.isalpha():
            out.add(folded.upper())  # an acronym is a name even when it spells a common word (WHO, UE, OMS)
            continue
        if len(folded) <= 2 or folded in stopwords() or folded in ENGLISH_CAPITALIZED or folded == "oui":
            continue  # "Oui, …" opens an answer: not a name (the stop word lists have "non", not "oui")
        if i == 0 and not word.isupper() and (folded in common or fold(word) in common):
            continue
        out.add(folded)
    return out


@text_cache
def _capital_words(text: str) -> frozenset[str]:
    """The words of the text written in capitals, without accents ("AP-HP" gives AP and HP)."""
    words = (_ELIDED.sub("", w) for w in _WORD.findall(text))  # "d’IMPLANET" gives IMPLANET
    return frozenset(w for w in (_as_name(w).upper() for w in words if w.isupper()) if w.isalpha())


@text_cache
def _folded_words(text: str) -> tuple[str, frozenset[str]]:
    folded = fold(text)
    return folded, frozenset(re.findall(r"[\w\-]+", folded))


def holds_name(name: str, text: str, across_languages: bool = False) -> bool:
    """The name is in the text; across languages, a close spelling will do (China: Chine, Japan: Japon).

    An acronym (a name in capitals) must be in the text in capitals, as a word of its own.
    """
    if name.isupper():
        return name in _capital_words(text)
    folded, words = _folded_words(text)
    if name in words or name in folded:
        return True
    if not across_languages or len(name) < 4:
        return False
    return any(w[:1] == name[:1] and SequenceMatcher(None, name, w).ratio() >= 0.8 for w in words)


def acronyms_of(sentence: str) -> set[str]:
    """The sentence's acronyms of 3 to 6 capitals ("CHU", "OMS"), as ``proper_names`` gives them (folded)."""
    words = (_ELIDED.sub("", w) for w in _WORD.findall(sentence))
    return {_as_name(w) for w in words if 3 <= len(w) <= 6 and w.isupper() and w.isalpha()}


@text_cache
def _content_initials(text: str) -> str:
    """The first letters of the text's words, stop words left out, in order; a sentence break as a space."""
    out = []
    for sentence in split_sentences(text) or [text]:
        out.append(
            "".join(
                _as_name(w)[:1]
                for w in (_ELIDED.sub("", w) for w in _WORD.findall(sentence))
                if w and _as_name(w) not in stopwords()
            )
        )
    return " ".join(out)


def spelled_out(acronym: str, text: str) -> bool:
    """The text writes the acronym out: consecutive words whose initials spell it, stop words aside.

    "CHU" is "centre hospitalier universitaire", "OMS" "Organisation mondiale de la santé": a
    passage that says it in full supports a sentence that abbreviates it. Three letters at least,
    so that two words by chance do not pass for an acronym.
    """
    return len(acronym) >= 3 and acronym.lower() in _content_initials(text)


def translated_name(name: str, text: str, similarity: Similarity | None) -> bool:
    """Across languages, a capitalized word may be a translation of one of the text's ("Mekong Health": "Mékong Santé").

    The word and the text's capitalized words are compared by embedding: a word and its
    translation sit at a cosine of about 0.85, two different places or names below 0.8.
    """
    if similarity is None:
        return False
    words = list(dict.fromkeys(w.strip("'’-") for w in _WORD.findall(text) if w[0].isupper() and len(w) > 2))[:60]
    return bool(words) and max(similarity(name, words)) >= NAME_TRANSLATION


def facts_hold(
    sentence: str,
    passage_text: str,
    context: str = "",
    document: str = "",
    common: set[str] | frozenset[str] = frozenset(),
    similarity: Similarity | None = None,
) -> bool:
    """Every number and proper name of the sentence is in the passage.

    Those that the question (``context``) supplied may be found in the passage's
    ``document`` (its whole text and title) instead; none is taken on trust. Across
    languages, a name may be the translation of one in the passage or the title.
    """
    given_numbers, given_names = numbers_in(context), proper_names(context, common) | set(tokenize(context))
    passage_numbers = numbers_in(passage_text)
    for number in numbers_in(sentence):
        if number in passage_numbers:
            continue
        if not (number in given_numbers and number in numbers_in(document)):
            return False
    across = detect_language(sentence) != detect_language(passage_text)
    acronyms = acronyms_of(sentence)
    for name in proper_names(sentence, common):
        if holds_name(name, passage_text, across) or (name in acronyms and spelled_out(name, passage_text)):
            continue
        if (
            name in given_names
            and document
            and (holds_name(name, document, across) or (name in acronyms and spelled_out(name, document)))
        ):
            continue
        title = document.split("\n", 1)[0]
        if not (across and translated_name(name, f"{title}\n{passage_text}", similarity)):
            return False
    return True


def _context_of(sentences: Sequence[str], i: int, reach: int = 2) -> set[str]:
    """Content words of sentence i and of the figure-free sentences around it.

    A neighbour without a figure of its own often carries the figure's subject ("Le 23
    octobre 2025 marque un tournant. Ce jour-là, le CHU de Bordeaux réalise la première
    intervention…", or a slide's heading lines); a neighbour with its own figure speaks
    of its own fact, and stops the reach.
    """
    words = set(tokenize(sentences[i]))
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(sentences) and abs(j - i) <= reach and not numbers_in(sentences[j]):
            words |= set(tokenize(sentences[j]))
            j += step
    return words


def _number_clauses(sentence: str, given: set[str] | frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """For each number of a claim, the content words between the claim's own numbers before and after it.

    "créé avec trois postes dans les années 1960, ce qui représente 18 postes actuellement"
    gives 18 the words "représente postes actuellement": each figure is checked with its own
    clause, not with the other figure's. A number that the question supplied (``given``)
    does not cut a clause: "créé dans les années 1960 avec 18 postes" ties 18 to "créé".
    """
    text = _as_digits(sentence)
    spans = [m for m in _NUMBER.finditer(text) if not _digits(m.group()) <= given]
    clauses: dict[str, set[str]] = {}
    for k, match in enumerate(spans):
        start = spans[k - 1].end() if k > 0 else 0
        end = spans[k + 1].start() if k + 1 < len(spans) else len(text)
        words = {w for w in tokenize(text[start : match.start()] + " " + text[match.end() : end]) if not w[0].isdigit()}
        for number in _digits(match.group()):
            clauses.setdefault(number, set()).update(words)
    return clauses


def _as_digits(text: str) -> str:
    from text_to_num import alpha2digit

    try:
        return str(alpha2digit(text, "fr", threshold=2))
    except (ValueError, RuntimeError):
        return text


_YEAR = re.compile(r"(1[5-9]|20)\d\d")
_NEXT_WORD = re.compile(r"[ \u00a0\u202f]*([^\W\d_][\w’'-]*)")


def counted_words(sentence: str) -> dict[str, str]:
    """For each figure of a claim, the word right after it, when it says what is counted ("18 clubs", "72 heures").

    A year counts nothing ("en 2013, un accord"); a figure followed by a stop word or
    punctuation has no counted word.
    """
    text = _as_digits(sentence)
    out: dict[str, str] = {}
    for match in _NUMBER.finditer(text):
        numbers = _digits(match.group())
        follow = _NEXT_WORD.match(text, match.end())
        if follow is None or any(_YEAR.fullmatch(n) for n in numbers):
            continue
        word = tokenize(follow.group(1))
        if len(word) == 1 and not word[0][0].isdigit():
            for number in numbers:
                out.setdefault(number, word[0])
    return out


_SYMBOLS = str.maketrans({"€": " euros ", "$": " dollars ", "£": " livres "})


def _spelled(text: str) -> str:
    """Currency symbols as words: "210 000 €" counts euros."""
    return text.translate(_SYMBOLS)


def _after(number: str, text: str, words: int = 3) -> str:
    """The few words after each occurrence of the figure, across line breaks ("comprend 18\\npostes")."""
    digits = _as_digits(_spelled(text))
    return " ".join(
        " ".join(digits[m.end() : m.end() + 60].split()[:words]) for m in _NUMBER.finditer(digits) if number in _digits(m.group())
    )


def _abbreviated(unit: str, number: str, text: str) -> bool:
    """The passage writes the counted word short right after the figure: "72 h", "30 min", "60 car."."""
    digits = _as_digits(_spelled(text))
    for m in _NUMBER.finditer(digits):
        if number in _digits(m.group()):
            follow = _NEXT_WORD.match(digits, m.end())
            short = fold(follow.group(1)).rstrip(".") if follow else ""
            if short and len(short) <= 4 and short not in LINK_WORDS and unit.startswith(short):
                return True
    return False


def _constrained(parts: Sequence[str], i: int, number: str, constraints: set[str]) -> bool:
    """The figure's passage sentence holds the question's figures (a year, a date), or a sentence next to it does.

    A neighbour counts only when it has no figure but those ("Le 23 octobre 2025 marque un
    tournant. Ce jour-là, …"), and only when the figure's own sentence gives no other year:
    "en 2014, 50 médecins" is not about 2013, whatever the sentence before says.
    """
    own = numbers_in(parts[i])
    if constraints <= own:
        return True
    if any(_YEAR.fullmatch(n) for n in own - constraints - {number}):
        return False
    near = set(own)
    for j in (i - 1, i + 1):
        if 0 <= j < len(parts) and numbers_in(parts[j]) <= constraints:
            near |= numbers_in(parts[j])
    return constraints <= near


def numbers_in_context(
    sentence: str, passage_text: str, context: str = "", similarity: Similarity | None = None, title: str = ""
) -> bool:
    """Each number the answer brings sits in a passage sentence about the same thing as its clause.

    Catches a real figure attached to the wrong fact (18 advisers where the passage says 10):
    the passage sentence that holds the figure must hold what it counts ("18 clubs" is not
    "18 CAS"), and about half of the claim's words around it; and the question's own figures
    that the claim repeats (a year), when the passage gives them, must be those of one of its
    figures ("183 milliards en 2020" where the passage says 183 milliards in 2024 and names
    2020 for something else).
    """
    given = numbers_in(context)
    own = numbers_in(sentence) - given
    if not own:
        return True
    parts = split_sentences(passage_text) or [passage_text]
    # the question's own figures that the claim repeats ("en 2020") and that the passage gives
    # too: its constraints, which must be those of the passage's figure, not of a figure beside
    # it (183 milliards "en 2024"). One the passage does not give may come from its document.
    constraints = (numbers_in(sentence) & given & numbers_in(passage_text)) - numbers_in(title)
    located = False  # some figure of the claim was found in a passage sentence
    passage_words = set(tokenize(passage_text))
    title_words = set(tokenize(title))
    clauses = _number_clauses(sentence, given)
    counted = counted_words(sentence)
    everything = {w for w in tokenize(sentence) if not w[0].isdigit()}
    cross_language = detect_language(sentence) != detect_language(passage_text)
    sims: list[float] | None = None
    for number in own:
        holders = [i for i, part in enumerate(parts) if number in numbers_in(part)]
        if not holders:
            continue  # the figure spans two sentences of the passage: nothing to compare
        located = True
        if constraints and any(_constrained(parts, i, number, constraints) for i in holders):
            constraints = set()  # one of the claim's figures carries them: "trois postes dans les années 1960"
        # the title's words describe every passage of the document ("jumelage Hué – Rouen"): not what the figure counts
        in_passage = (clauses.get(number, everything) & passage_words) - title_words
        if not cross_language:
            unit = counted.get(number)
            if (
                unit
                and not any(holds(unit, _spelled(parts[i])) for i in holders)
                and not holds(unit, _after(number, passage_text))
                and not _abbreviated(unit, number, passage_text)
            ):
                return False
        if not cross_language and in_passage:
            best = max(len(in_passage & _context_of(parts, i)) for i in holders) / len(in_passage)
            if best < NUMBER_CONTEXT:
                return False
        elif cross_language and similarity is not None and len(parts) > 1:
            sims = sims if sims is not None else similarity(sentence, parts)
            if max(sims[i] for i in holders) < max(sims) - NUMBER_SIMILARITY_MARGIN:
                return False
    return not (constraints and located)  # no figure of the claim carries the question's

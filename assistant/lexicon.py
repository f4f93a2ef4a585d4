"""The word lists of the answering side, French and English, each named by what it is for.

Words are written as a reader spells them (accents kept); the modules that compare
folded text fold them. Two lists that look alike but serve different checks stay two
lists: changing one must not change the other check.
"""

from __future__ import annotations

# --- calendar ------------------------------------------------------------------------------------

FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
ENGLISH_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

# --- names ---------------------------------------------------------------------------------------

# Capitalized in English without being names: checked as words, not as names.
ENGLISH_CAPITALIZED = frozenset(
    [
        *ENGLISH_MONTHS,
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "french",
        "chinese",
        "vietnamese",
        "european",
        "asian",
        "english",
        "american",
        "african",
        "japanese",
        "german",
        "spanish",
        "italian",
        "british",
        "international",
    ]
)

# What an elision cuts off before a name ("l'OMS", "d'Emmanuel"), read before an apostrophe.
NAME_ELISIONS = ("l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu")
# What tokenizing cuts off before a word ("l'accord", "qu'il", "quoiqu'il"), in folded text.
WORD_ELISIONS = ("l", "d", "qu", "j", "m", "n", "s", "t", "c", "jusqu", "lorsqu", "puisqu", "quoiqu")

# --- figures -------------------------------------------------------------------------------------

# Words that give a quantity or a time without digits ("deux", "en mars", "des milliers", "twice").
FIGURE_WORDS = (
    *FRENCH_MONTHS,
    *ENGLISH_MONTHS,
    "printemps",
    "été",
    "automne",
    "hiver",
    "spring",
    "summer",
    "autumn",
    "fall",
    "winter",
    "deux",
    "zéro",
    "two",
    "zero",
    "none",
    "once",
    "twice",
    "double",
    "moitié",
    "half",
    "dizaine",
    "dizaines",
    "douzaine",
    "vingtaine",
    "trentaine",
    "quarantaine",
    "cinquantaine",
    "centaine",
    "centaines",
    "millier",
    "milliers",
    "million",
    "millions",
    "milliard",
    "milliards",
    "dozen",
    "dozens",
    "hundreds",
    "thousands",
    "billion",
    "billions",
    "décennie",
    "décennies",
    "siècle",
    "siècles",
    "decade",
    "decades",
    "century",
    "centuries",
)

# Short words that link a figure to the next word: never the abbreviation of a counted word ("18 de …").
LINK_WORDS = frozenset(
    [
        "a",
        "au",
        "aux",
        "de",
        "des",
        "du",
        "en",
        "et",
        "la",
        "le",
        "les",
        "ou",
        "un",
        "une",
        "par",
        "pour",
        "sur",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "and",
        "or",
    ]
)

# --- questions and answers -----------------------------------------------------------------------

# Words that frame a question without saying what it is about.
QUESTION_FRAME_WORDS = (
    "combien",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "qui",
    "quand",
    "comment",
    "pourquoi",
    "année",
    "années",
    "date",
    "nom",
    "appelle",
    "s'appelle",
    "chiffre",
    "nombre",
    "what",
    "which",
    "who",
    "whom",
    "when",
    "where",
    "why",
    "how",
    "many",
    "much",
    "year",
    "name",
    "number",
)

# An answer that opens on one of these answers a yes-or-no question.
YES_NO = ("oui", "non", "yes", "no")

# A sentence that opens on these words leans on the one before it ("Ce jour-là", "Il a été...").
REFERS_BACK = (
    "ce",
    "cet",
    "cette",
    "ces",
    "celui",
    "celle",
    "ceux",
    "celles",
    "il",
    "elle",
    "ils",
    "elles",
    "son",
    "sa",
    "ses",
    "leur",
    "leurs",
    "it",
    "its",
    "they",
    "their",
    "this",
    "these",
    "those",
    "he",
    "she",
    "his",
    "her",
)

# --- language detection --------------------------------------------------------------------------

# Common words of each language, counted to tell French from English.
FRENCH_HINTS = (
    "le",
    "la",
    "les",
    "des",
    "du",
    "de",
    "est",
    "sont",
    "une",
    "un",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "combien",
    "qui",
    "quand",
    "où",
    "ou",
    "pourquoi",
    "comment",
    "et",
    "en",
    "au",
    "aux",
    "avec",
    "pour",
    "dans",
    "sur",
    "ont",
    "été",
    "il",
    "elle",
    "ce",
    "cette",
)
ENGLISH_HINTS = (
    "the",
    "is",
    "are",
    "was",
    "were",
    "what",
    "which",
    "who",
    "when",
    "where",
    "why",
    "how",
    "many",
    "much",
    "does",
    "did",
    "do",
    "of",
    "and",
    "in",
    "to",
    "with",
    "for",
    "has",
    "have",
    "it",
    "this",
    "that",
    "there",
)

# --- sentence splitting --------------------------------------------------------------------------

# Abbreviations with a period that do not end a sentence, beyond pySBD's French ones.
TITLE_ABBREVIATIONS = ("dr", "pr", "prof", "m", "mm", "mme", "mmes", "mlle", "mlles", "me", "mr", "mrs", "ms", "st", "ste")
PAGE_ABBREVIATIONS = ("p", "pp", "no", "n°", "vol", "chap", "art", "fig", "ch")  # followed by a number: "p. 3", "n° 72"
OTHER_ABBREVIATIONS = ("etc", "cf", "env", "min", "ibid")

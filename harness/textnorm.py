"""Text normalisation shared by the data checks and the scorers.

One source of truth for "does this text state that fact": the data tests use it to prove every
reference is derivable from its gold documents, and the scorers use it to read model answers,
so a fact counts the same way in both places.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Unit spellings that mean the same thing, mapped to the canonical house form (lower case).
# Only applied right after a number, so "h" or "c" alone in prose is never rewritten.
_UNIT_ALIASES: list[tuple[str, str]] = [
    (r"newton[\s-]?met(?:re|er)s?|n\s?·\s?m|n\.m|nm", "n·m"),
    (r"(?:running|operating)\s+hours|hours|hrs|hr|h", "h"),
    (r"degrees?\s+celsius|deg(?:rees)?\.?\s*c|°\s?c", "°c"),
    (r"working\s+days|business\s+days", "working days"),
    (r"units|pieces|pcs", "units"),
]
_NUMBER_UNIT = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(" + "|".join(a for a, _ in _UNIT_ALIASES) + r")(?![\w])",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_SPACES = re.compile(r"\s+")


def _canonical_unit(unit: str) -> str:
    for pattern, canonical in _UNIT_ALIASES:
        if re.fullmatch(pattern, unit, re.IGNORECASE):
            return canonical
    return unit.lower()


@functools.lru_cache(maxsize=1 << 16)  # pure, and called for the same texts over and over (scoring, slices)
def normalize(text: str) -> str:
    """Lower-case, NFKC, thousands separators dropped, units in one spelling, single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2011", "-").replace("\u2013", "-").replace("\u2014", "-")

    def unit_sub(m: re.Match[str]) -> str:
        number = m.group(1).replace(",", "")
        if m.group(2):
            number += "." + m.group(2)
        return f"{number} {_canonical_unit(m.group(3))}"

    text = _NUMBER_UNIT.sub(unit_sub, text)
    text = _THOUSANDS.sub("", text)
    return _SPACES.sub(" ", text.lower()).strip()


def contains(text: str, phrase: str) -> bool:
    """True when `phrase` occurs in `text` as whole words, after normalising both."""
    needle = normalize(phrase)
    if not needle:
        return False
    pattern = r"(?<![\w-])" + re.escape(needle) + r"(?![\w-])"
    return re.search(pattern, normalize(text)) is not None


def mentions(text: str, term: str) -> bool:
    """Whole-word, case-insensitive match with NO unit rewriting.

    Style checks need the writer's own spelling: "2000 hours" and "2,000 h" state the same fact,
    but only one of them follows the house style.
    """
    hay = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower())
    needle = _SPACES.sub(" ", unicodedata.normalize("NFKC", term).lower()).strip()
    if not needle:
        return False
    return re.search(r"(?<![\w-])" + re.escape(needle) + r"(?![\w-])", hay) is not None


def tokens(text: str) -> list[str]:
    """Word tokens of the normalised text (house units canonical, punctuation kept inside words)."""
    return re.findall(r"[\w·°-]+", normalize(text))


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def squad_normalize(text: str) -> str:
    """SQuAD's official answer normalisation (lower case, punctuation, articles and extra whitespace removed),
    after this module's normalize (units in one spelling): "Pellam Components." and "pellam components" are
    the same answer, and so are "32 business days" and "32 working days"."""
    text = normalize(text)
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def squad_tokens(text: str) -> list[str]:
    """The tokens SQuAD's token F1 counts: its normalised text split on whitespace."""
    return squad_normalize(text).split()


# a product or part code: KP-8886, C-140, SKU-A12
CODE = re.compile(r"\b[A-Z]{1,5}(?:-[A-Z]*\d+[A-Z0-9]*)+\b")
# units a number may carry, general ones only (after normalize: "hours" is "h", "business days" "working days")
UNITS = r"(?:working days|n·m|°c|°f|%|(?:days?|weeks?|months?|years?|h|min|minutes?|s|ms|seconds?|mg|g|kg|t|ml|l|mm|cm|m|km|" \
        r"units|pages?|eur|usd|gbp|chf|kb|mb|gb|tb|v|kv|a|w|kw|kwh|mw|bar|psi|pa|kpa|hz|mhz|ghz|x|times|people|users)\b)"
_UNIT_WORDS = UNITS
# a number, or a list or range of numbers, and the unit after the last: "32 working days", "10, 25 or 32 days"
_QUANTITY_LIST = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?(?:\s*(?:,|or|and|to|/|-)\s*(?:between\s+)?\d+(?:\.\d+)?)*)\s*(" + _UNIT_WORDS + r")\b")
_NUMBER_ONLY = re.compile(r"\d+(?:\.\d+)?")


def quantity(fact: str) -> tuple[str, str] | None:
    """(number, unit) when the fact is one number and its unit ("32 working days" -> ("32", "working days"))."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(" + _UNIT_WORDS + r")", normalize(fact))
    return (m.group(1), m.group(2)) if m else None


def quantities(text: str, unit: str) -> set[str]:
    """Every number the text states with `unit`, lists and ranges included ("10, 25 or 32 working days")."""
    out: set[str] = set()
    for m in _QUANTITY_LIST.finditer(normalize(text)):
        if m.group(2) == unit:
            out.update(_NUMBER_ONLY.findall(m.group(1)))
    return out


# words that carry no fact in any domain (articles, pronouns, auxiliaries, prepositions, conjunctions,
# common verbs and adverbs of instructions)
STOP_WORDS = frozenset("""
a an the this that these those it its they them their there here we you your our i he she his her
is are was were be been being am do does did done have has had having can could will would shall should may
might must not no nor and or but if then than so as at by for from in into of on onto to with without within
about above after again against all any before below between both during each few more most other over own
same some such through under until up very what when where which while who whom why how only also just
once out off too use used using get got make made take taken per via every never always often please
mean means meaning yes
""".split())

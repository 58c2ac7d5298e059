"""Direct and indirect prompt-injection detection: instruction-override phrasing, role-play
jailbreaks, system-prompt extraction, and payloads hidden in encodings (base64, hex, rot13,
spaced or zero-width-split letters, homoglyphs). Pure regex and decoding: no model call."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

from confusable_homoglyphs import confusables

# Each family: (name, weight, pattern). A text scores the sum of the weights of the families it
# matches, capped at 1; the policy threshold (config.yml) decides what blocks.
_FAMILIES: list[tuple[str, float, str]] = [
    (
        "override",
        1.0,
        r"\b(ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect)\b[\w\s,'-]{0,40}?"
        r"\b(previous|prior|above|earlier|preceding|all|any|your|the|these|those|following|initial|"
        r"original|system|developer)\b[\w\s,'-]{0,30}?\b(instructions?|directions?|prompts?|rules?|"
        r"guidelines?|context|messages?|commands?|policies|polic(y|ies)|constraints?|guardrails?|"
        r"programming|restrictions?|text)\b",
    ),
    (
        "override",
        1.0,
        r"\b(new|updated|real|actual|true|secret|hidden|admin|developer|system)\s+"
        r"(instructions?|directives?|orders|task|prompt)\s*(:|follow|are|is)",
    ),
    (
        "override",
        0.8,
        r"\b(instead|rather)\b[\w\s,]{0,20}\b(say|print|output|respond|reply|write|repeat)\b"
        r"[\w\s,]{0,20}?[\"'“”‘’]",
    ),
    (
        "override",
        1.0,
        r"\b(just|only)\s+(say|print|output|respond with|reply with|write)\s*[:\"'“”‘’]",
    ),
    (
        "override",
        1.0,
        r"\b(stop|end)\s+(everything|what you are doing)|\bnow\s+(say|print|output|repeat)\b",
    ),
    (
        "roleplay",
        1.0,
        # Persona names as jailbreaks write them (in capitals: "Dan", "aim" are ordinary words).
        r"\b(?-i:DAN|STAN|DUDE|AIM|KEVIN|BetterDAN|AntiGPT)\b|"
        r"\b(Developer Mode|DevMode|jailbr(ea|o)k"
        r"(en|ed)?|do anything now|god ?mode|unfiltered|uncensored|without (any )?(restrictions|"
        r"filters|limits|rules|censorship|guidelines)|no (ethical|moral) (guidelines|limits|"
        r"constraints)|evil (confidant|mode|ai)|opposite mode)\b",
    ),
    (
        "roleplay",
        0.6,
        r"\b(pretend|imagine|act as if|act like|roleplay|role-play|you are now|from now on,? you|"
        r"you will now|simulate|stay in character|respond as)\b",
    ),
    (
        "roleplay",
        0.5,
        r"\b(two|2|both|dual) (responses|answers|personalit(y|ies)|modes)\b|\[(🔓|JAILBREAK|"
        r"CLASSIC|DAN|🔒)",
    ),
    (
        "extraction",
        1.0,
        r"\b(reveal|show|print|repeat|output|display|tell me|give me|share|dump|leak|recite|"
        r"spell|write out|list|what (is|are|was|were))\b[\w\s,'-]{0,40}?\b(system|initial|"
        r"original|hidden|secret|developer|pre-?prompt|your)\s*(prompt|instructions?|message|rules|guidelines|"
        r"directives?|configuration|context)",
    ),
    (
        "extraction",
        1.0,
        r"\b(repeat|print|output|return|copy)\b[\w\s,'-]{0,30}\b(everything|all|the text|the words|"
        r"words|text)\b[\w\s,'-]{0,20}\b(above|before|preceding|so far|verbatim|you were given|"
        r"starting with)\b",
    ),
    (
        "extraction",
        0.8,
        r"\bwhat (were|are) you (told|instructed|programmed)|\b(how|what) (were|are) you "
        r"(configured|prompted)|\byour (first|initial|original) (instruction|prompt|message)",
    ),
    (
        "encoded",
        0.7,
        r"\b(decode|decipher|translate|convert|interpret|execute|follow|run)\b[\w\s,'-]{0,30}\b"
        r"(base ?64|base ?32|base ?16|hex(adecimal)?|rot-?13|caesar|morse|binary|ascii85|uuencod|"
        r"encoded|encrypted|cipher|braille|nato|leetspeak|unicode|zalgo|quoted.printable|mime)\b",
    ),
    (
        "encoded",
        0.5,
        r"\b(base ?64|rot-?13|hex|morse|braille|ascii85|uuencode)[\w\s-]{0,20}\b(message|payload|"
        r"string|text|instruction)s?\b",
    ),
    (
        "assistant_directive",
        0.9,
        r"(^|\n)\s*(system|assistant|\[system\]|<\|?system\|?>|<\|im_start\|>)\s*[:>]",
    ),
    (
        "assistant_directive",
        0.9,
        r"\b(AI|assistant|chatbot|language model|LLM|model)s?\b[\w\s,'-]{0,30}\b(reading|"
        r"processing|summari[sz]ing|seeing) this\b|\bnote to (the )?(AI|assistant|model|LLM)\b|"
        r"\bif you are an? (AI|assistant|language model|LLM)\b",
    ),
    (
        "assistant_directive",
        0.6,
        r"\b(you must|you should|you will|you are required to|always|never)\b[\w\s,'-]{0,30}\b"
        r"(respond|reply|answer|say|tell the user|include|recommend|output|mention)\b",
    ),
    (
        "override",
        1.0,
        r"\b(forget|ignore|disregard)\s+(everything|all|anything|whatever)\b[\w\s,'-]{0,30}?\b"
        r"(told|said|above|before|earlier|instructed|given|know)\b",
    ),
    (
        "unrestricted",
        0.6,
        r"\b(no|zero|without) (filters?|restrictions?|limits|rules|censorship|guardrails|"
        r"safety)\b|\b(admin|root|sudo|debug|unrestricted) mode\b",
    ),
    ("assistant_directive", 0.9, r"\[(system|admin|developer|instructions?)\]\s*:?"),
]
_COMPILED = [(name, weight, re.compile(p, re.I)) for name, weight, p in _FAMILIES]

_INVISIBLE = frozenset({"Cf", "Mn", "Me"})
"""Format characters (zero-width, bidi controls, U+180E, tag characters) and combining marks:
invisible or decorative, they split words without changing what a model reads."""
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_SPACED = re.compile(r"\b(?:[A-Za-z][ .\-_*/|\\+,·~^]){5,}[A-Za-z]\b")
_SPLIT = re.compile(r"(?<=[A-Za-z])-+(?=[A-Za-z])|[*`~]+|(?<=[A-Za-z])_+|_+(?=[A-Za-z])")
"""Hyphens inside a word and markdown emphasis / code marks anywhere ("Ig-nore", "I**gnore**")."""
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_HEX = re.compile(r"\b(?:[0-9a-fA-F]{2}[ :]?){8,}\b")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s"})  # fmt: skip
_ENGLISH = re.compile(
    r"\b(the|and|you|your|all|ignore|instructions?|previous|system|prompt|say|print|tell|"
    r"reveal|secret|password|key|now|must|are|is|of|to)\b",
    re.I,
)


@dataclass(frozen=True)
class Finding:
    score: float
    families: tuple[str, ...]
    decoded: str | None = None
    """The decoded payload, when the match was inside an encoding."""


def _normalise(text: str) -> str:
    """The text as a reader sees it: invisible characters and combining marks dropped,
    compatibility forms folded (NFKC: fullwidth, ligatures), letters from other scripts that
    look Latin read as Latin (Unicode's confusables, through confusable_homoglyphs), and
    spaced-out letters joined ("i g n o r e", "i/g/n/o/r/e" -> "ignore")."""
    decomposed = unicodedata.normalize("NFKD", text)
    visible = "".join(c for c in decomposed if unicodedata.category(c) not in _INVISIBLE)
    text = _latin_lookalikes(unicodedata.normalize("NFKC", visible))
    return _SPACED.sub(lambda m: re.sub(r"[^A-Za-z]", "", m.group()), text)


def _untag(match: re.Match) -> str:
    return "".join(chr(ord(c) - 0xE0000) for c in match.group())


def _latin_lookalikes(text: str) -> str:
    if text.isascii():
        return text
    found = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin"]) or []
    table = {
        f["character"]: glyph
        for f in found
        if f["alias"] != "COMMON"
        and (glyph := next((h["c"] for h in f["homoglyphs"] if h["c"].isascii()), None))
    }
    return text.translate(str.maketrans(table)) if table else text


def _families(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for name, weight, pattern in _COMPILED:
        if pattern.search(text):
            found[name] = max(found.get(name, 0.0), weight)
    return found


def _printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or sum(c.isprintable() or c.isspace() for c in text) / len(text) < 0.95:
        return None
    return text


def _decodings(text: str) -> list[str]:
    """Plausible plain-text payloads hidden in the text."""
    out = []
    for match in _BASE64.findall(text):
        for candidate in (match, match + "=" * (-len(match) % 4)):
            try:
                decoded = _printable(base64.b64decode(candidate, validate=True))
            except (binascii.Error, ValueError):
                continue
            if decoded:
                out.append(decoded)
                break
    for match in _HEX.findall(text):
        try:
            decoded = _printable(bytes.fromhex(re.sub(r"[ :]", "", match)))
        except ValueError:
            continue
        if decoded:
            out.append(decoded)
    rot = codecs.decode(text, "rot13")
    if len(_ENGLISH.findall(rot)) > len(_ENGLISH.findall(text)) + 1:
        out.append(rot)
    leet = text.translate(_LEET)
    if leet != text:
        out.append(leet)
    return out


def scan(text: str, *, depth: int = 2) -> Finding:
    """Score how strongly `text` tries to instruct the assistant against its rules."""
    plain = _normalise(text)
    found = _families(plain)
    # Also read with hyphens and markdown marks inside words dropped (the plain reading keeps
    # them, so that hyphenated prose is not rewritten into words it does not contain).
    joined = _SPLIT.sub("", plain)
    if joined != plain:
        for family, weight in _families(joined).items():
            found[family] = max(found.get(family, 0.0), weight)
    decoded = None
    # Unicode tag characters (U+E0020..E007E) spell ASCII that a model may read and a person
    # does not see: the text is also read with them spelled out in place.
    smuggled = [_TAGS.sub(_untag, text)] if _TAGS.search(text) else []
    if depth:
        for payload in [*smuggled, *_decodings(plain)]:
            inner = scan(payload, depth=depth - 1)
            if inner.score >= 0.5:
                for family in (*inner.families, "encoded"):
                    found[family] = max(found.get(family, 0.0), 1.0)
                decoded = inner.decoded or payload
    score = min(1.0, sum(found.values()))
    return Finding(round(score, 2), tuple(sorted(found)), decoded)

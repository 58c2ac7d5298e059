"""Secrets (API keys, tokens, private keys, passwords) found by detect-secrets' plugins, plus a
check for long random-looking tokens, which detect-secrets only flags inside quotes."""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache

# Entropy plugins are left out: on free text they fire on quoted ordinary words.
_SKIP_PLUGINS = {"Base64HighEntropyString", "HexHighEntropyString"}
_TOKEN = re.compile(r"(?<![\w/.-])[A-Za-z0-9_+\-]{24,}={0,2}(?![\w/-]|\.\w)")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# A PEM body without its BEGIN line: three or more full lines of base64 (64 characters each).
_PEM_BODY = re.compile(r"(?:^[A-Za-z0-9+/]{60,76}[ \t]*\n){2,}[A-Za-z0-9+/=]{4,76}[ \t]*$", re.M)
# A line break inside a run of token characters: "AKIAIOSF\nODNN7EXAMPLE" read as one token.
_WRAPPED = re.compile(r"(?<=[A-Za-z0-9+/=_\-])[ \t]*\r?\n[ \t]*(?=[A-Za-z0-9+/=_\-])")
# A token written in groups split by spaces or hyphens ("AKIA Z4R7 QW2P LM5X K3VB"): read
# joined when the groups look like parts of one token (digits and capitals mixed in).
_GROUP = r"(?:[A-Z0-9]{3,8}|(?=[a-z]*[0-9])[a-z0-9]{3,8})"  # capitals and digits, or with a digit
_GROUPED = re.compile(rf"(?<![\w-])(?:{_GROUP}[ -]){{2,}}{_GROUP}(?![\w-])")
# `password: hunter2!x` in free text; detect-secrets' keyword plugin wants code-like quoting.
_ASSIGNED = re.compile(
    r"(?i)\b(password|passwd|pwd|passphrase|secret|api[_ -]?key|access[_ -]?key|auth[_ -]?token|"
    r"token|client[_ -]?secret)\b\s*(?:is|=|:)\s*[\"'`]?([^\s\"'`]{8,})"
)


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str


@cache
def _plugins():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return [
        cls()
        for cls in get_mapping_from_secret_type_to_class().values()
        if cls.__name__ not in _SKIP_PLUGINS
    ]


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _kind(char: str) -> str:
    return "d" if char.isdigit() else "u" if char.isupper() else "l" if char.islower() else ""


def _random_token(value: str) -> bool:
    """Random-looking: high entropy, and digits mixed in often (identifiers made of words, like
    `TTS_Handbook_guidelines_2024`, switch character class only a few times)."""
    kinds = [k for k in map(_kind, value) if k]
    switches = sum(a != b for a, b in itertools.pairwise(kinds))
    digits = kinds.count("d")
    return _entropy(value) >= 3.8 and digits >= 2 and (switches >= 5 or digits >= 6)


def visible(text: str) -> str:
    """The text without format characters (zero-width spaces, joiners, bidi controls): what a
    reader sees, and what a secret interleaved with U+200B really is."""
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def find(text: str) -> list[Secret]:
    """Secrets in `text`, also when disguised: format characters interleaved, or a line break
    inside the token (each reading of the text is searched)."""
    found: dict[str, Secret] = {}
    shown = visible(text)
    readings = [text, shown, _WRAPPED.sub("", shown), _GROUPED.sub(_joined, shown)]
    for reading in dict.fromkeys(readings):
        for secret in _find(reading):
            found.setdefault(secret.value, secret)
    if body := _PEM_BODY.search(shown):
        found.setdefault(body.group(), Secret("Private Key", body.group()))
    return list(found.values())


def _joined(match: re.Match) -> str:
    """Groups of a split token, joined; other runs of short words left as they are."""
    run = match.group()
    joined = re.sub(r"[ -]", "", run)
    tokenish = sum(c.isdigit() for c in joined) >= 2 and any(c.isupper() for c in joined)
    return joined if tokenish else run


def _find(text: str) -> list[Secret]:
    from detect_secrets.settings import default_settings

    found: dict[str, Secret] = {}
    with default_settings():
        for number, line in enumerate(text.splitlines() or [text], start=1):
            for plugin in _plugins():
                for secret in plugin.analyze_line(filename="text", line=line, line_number=number):
                    value = secret.secret_value or ""
                    if len(value) >= 8 and value in line:
                        found.setdefault(value, Secret(secret.type, value))
    for value in _TOKEN.findall(text):
        if value not in found and _random_token(value):
            found[value] = Secret("High Entropy Token", value)
    for _, value in _ASSIGNED.findall(text):
        if not value.startswith(("[REDACTED", "<")) and value not in found:
            found[value] = Secret("Assigned Credential", value)
    if _PRIVATE_KEY.search(text):
        found.setdefault("PRIVATE KEY", Secret("Private Key", _PRIVATE_KEY.search(text).group()))
    return list(found.values())


def redact(text: str) -> tuple[str, list[Secret]]:
    found = find(text)
    # A disguised secret: redact the text as it reads (format characters dropped, then a
    # token's line breaks joined).
    for reading in (visible, lambda t: _WRAPPED.sub("", t)):
        if any(s.value not in text for s in found):
            text = reading(text)
    for secret in sorted(found, key=lambda s: -len(s.value)):
        if secret.value in text:
            text = text.replace(secret.value, "[REDACTED SECRET]")
        else:  # found joined: redact it as written, separators and all
            spaced = "[ -]?".join(map(re.escape, secret.value))
            text = re.sub(spaced, "[REDACTED SECRET]", text)
    return text, found

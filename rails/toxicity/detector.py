"""Toxicity scores from alt-profanity-check's bundled model (a linear SVM over word and
character n-grams, trained on ~200k human-labelled Wikipedia comments and tweets for offensive
language; MIT; no hub download), calibrated to a probability. Loaded once per process; the
prediction is pure CPU (~1 ms per sentence)."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_predict = None


def _model():
    global _predict
    with _lock:
        if _predict is None:
            from profanity_check import predict_prob  # joblib + scikit-learn: seconds to load

            _predict = predict_prob
    return _predict


def scores(texts: list[str]) -> list[float]:
    """The probability each text is offensive (0..1)."""
    if not texts:
        return []
    return [float(p) for p in _model()(texts)]

"""The metrics, from scikit-learn, seqeval and jiwer (never `evaluate.load`, which runs downloaded code).

Every value is on the 0-1 scale of `value_unit` in claims.parquet. A card's bare `f1`, `precision` or
`recall` on a classification task is read as binary when the dataset has two classes (the positive
class being index 1, as the Trainer's examples compute it) and as macro otherwise.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import jiwer
from seqeval import metrics as seqeval
from sklearn import metrics as sk

_AVERAGES = {"f1_macro": "macro", "f1_micro": "micro", "f1_weighted": "weighted"}


def classification(metric: str, gold: Sequence[int], predicted: Sequence[int], n_classes: int) -> float:
    """Accuracy, F1 (binary, macro, micro, weighted), precision or recall; a prediction of -1 (a model
    label the dataset lacks) is wrong."""
    average = _AVERAGES.get(metric, "binary" if n_classes == 2 else "macro")
    if metric == "accuracy" or average == "micro":
        # With one label per example, micro F1 is accuracy; computed as such, a -1 prediction counts as
        # the error it is (a micro average over the dataset's labels alone would leave it out).
        return float(sk.accuracy_score(gold, predicted))
    scorer = {"precision": sk.precision_score, "recall": sk.recall_score}.get(metric, sk.f1_score)
    if average == "binary":
        # Class 1 alone, micro-averaged: binary F1 that also counts the -1 predictions as negatives.
        return float(scorer(gold, predicted, labels=[1], average="micro", zero_division=0))
    return float(scorer(gold, predicted, labels=list(range(n_classes)), average=average, zero_division=0))


def entities(metric: str, gold: list[list[str]], predicted: list[list[str]]) -> float:
    """Entity-level F1, precision or recall (seqeval, micro over entities), or token accuracy."""
    scorer = {
        "f1": seqeval.f1_score,
        "precision": seqeval.precision_score,
        "recall": seqeval.recall_score,
        "accuracy": seqeval.accuracy_score,
    }[metric]
    if metric == "accuracy":
        return float(scorer(gold, predicted))
    return float(scorer(gold, predicted, zero_division=0))


def transcription(metric: str, references: list[str], hypotheses: list[str]) -> float:
    """WER or CER over the corpus (errors over reference words or characters), as jiwer counts them."""
    pairs = [(ref, hyp) for ref, hyp in zip(references, hypotheses, strict=True) if ref.strip()]
    refs, hyps = [ref for ref, _ in pairs], [hyp for _, hyp in pairs]
    return float(jiwer.wer(refs, hyps) if metric == "wer" else jiwer.cer(refs, hyps))


# SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces.
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def normalise_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _token_f1(prediction: str, truth: str) -> float:
    predicted, gold = normalise_answer(prediction).split(), normalise_answer(truth).split()
    common = sum((Counter(predicted) & Counter(gold)).values())
    if not predicted or not gold:
        return float(predicted == gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def answers(metric: str, predictions: list[str], truths: list[list[str]]) -> float:
    """SQuAD exact match or token F1, each example scored against its best gold answer."""
    if metric == "exact_match":
        scores = [
            max((float(normalise_answer(p) == normalise_answer(t)) for t in ts), default=0.0)
            for p, ts in zip(predictions, truths, strict=True)
        ]
    else:
        scores = [
            max((_token_f1(p, t) for t in ts), default=0.0) for p, ts in zip(predictions, truths, strict=True)
        ]
    return sum(scores) / len(scores) if scores else 0.0

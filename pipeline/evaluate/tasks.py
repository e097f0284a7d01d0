"""Batched inference per task, and each task's scorer over what the model predicted.

`run(task, ...)` runs the model over the dataset once and returns an `Outcome` whose `score(metric)`
computes any metric of that task from the same predictions, so a card claiming accuracy and F1 on one
split costs one pass. Columns are found by their features (ClassLabel, Image, Audio) and usual names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from pipeline.errors import HubmineError
from pipeline.evaluate import metrics
from pipeline.evaluate.audio import samples
from pipeline.evaluate.labels import align

TEXT_COLUMNS = ("text", "sentence", "content", "review", "document", "tweet", "comment", "title")
PAIR_COLUMNS = (
    ("premise", "hypothesis"),
    ("sentence1", "sentence2"),
    ("question1", "question2"),
    ("question", "sentence"),
)
TRANSCRIPT_COLUMNS = ("text", "sentence", "transcription", "transcript", "normalized_text")
MAX_TOKENS = 512
QA_MAX_TOKENS = 384
QA_MAX_ANSWER_TOKENS = 30


class ColumnsNotFound(HubmineError):
    """The dataset lacks the columns the task needs."""


@dataclass(frozen=True)
class Outcome:
    n_examples: int
    score: Callable[[str], float]


def run(task: str, model: Any, processor: Any, data: Any, batch_size: int, device: str) -> Outcome:
    runner = {
        "text-classification": _text_classification,
        "token-classification": _token_classification,
        "image-classification": _image_classification,
        "automatic-speech-recognition": _speech_recognition,
        "question-answering": _question_answering,
    }[task]
    with torch.inference_mode():
        return runner(model, processor, data, batch_size, device)


def _batches(data: Any, batch_size: int) -> Iterator[dict[str, list[Any]]]:
    for start in range(0, len(data), batch_size):
        yield data[start : start + batch_size]


def _length_batches(lengths: list[int], batch_size: int) -> Iterator[list[int]]:
    """Row indices in batches of rows of similar length: a batch pads to its longest row, so taking rows
    in length order saves the work spent on padding (which the attention mask keeps out of the result)."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _on(device: str, encoded: Any) -> dict[str, Any]:
    return {name: value.to(device) for name, value in encoded.items() if isinstance(value, torch.Tensor)}


def _id2label(model: Any) -> dict[int, str]:
    return {int(k): str(v) for k, v in (model.config.id2label or {}).items()}


def _class_column(data: Any, inner: bool = False) -> tuple[str, list[str]]:
    """The label column (`label`/`labels` first) and its class names."""
    import datasets

    found = []
    for name, feature in data.features.items():
        feature = getattr(feature, "feature", None) if inner else feature
        if isinstance(feature, datasets.ClassLabel):
            found.append((name not in ("label", "labels", "ner_tags"), name, list(feature.names)))
    if found:
        _, name, names = min(found)
        return name, names
    if not inner and "label" in data.column_names:
        values = data["label"]
        if all(isinstance(v, int) and v >= 0 for v in values):
            # Unnamed integer classes: only a model with unnamed labels aligns (labels.py).
            return "label", [str(i) for i in range(max(values, default=-1) + 1)]
        return "label", sorted({str(v) for v in values})
    raise ColumnsNotFound(f"no label column among {data.column_names[:10]}")


def _gold(data: Any, column: str, names: list[str]) -> list[int]:
    values = data[column]
    if values and isinstance(values[0], str):
        index = {name: i for i, name in enumerate(names)}
        return [index[value] for value in values]
    return [int(value) for value in values]


def _labelled(data: Any, column: str, names: list[str]) -> tuple[Any, list[int]]:
    """The rows that have a gold class, and their classes: a split published without labels (GLUE's test
    splits) marks every row -1, which must not be scored as a class."""
    gold = _gold(data, column, names)
    keep = [i for i, g in enumerate(gold) if 0 <= g < len(names)]
    if not keep:
        raise ColumnsNotFound(f"no row of the split has a label in {column!r} (all are -1 or out of range)")
    if len(keep) < len(gold):
        return data.select(keep), [gold[i] for i in keep]
    return data, gold


def _feature_column(data: Any, kind: str) -> str:
    import datasets

    for name, feature in data.features.items():
        if isinstance(feature, getattr(datasets, kind)):
            return name
    raise ColumnsNotFound(f"no {kind} column among {data.column_names[:10]}")


def _named_column(data: Any, candidates: tuple[str, ...], what: str) -> str:
    for name in candidates:
        if name in data.column_names:
            return name
    raise ColumnsNotFound(f"no {what} column ({', '.join(candidates)}) among {data.column_names[:10]}")


def _max_tokens(tokenizer: Any, cap: int) -> int:
    return min(int(getattr(tokenizer, "model_max_length", cap) or cap), cap)


def _classes(predicted_ids: list[int], mapping: dict[int, int]) -> list[int]:
    return [mapping.get(i, -1) for i in predicted_ids]


def _classification_outcome(gold: list[int], predicted: list[int], n_classes: int) -> Outcome:
    return Outcome(len(gold), lambda metric: metrics.classification(metric, gold, predicted, n_classes))


def _text_classification(model: Any, tokenizer: Any, data: Any, batch_size: int, device: str) -> Outcome:
    pair = next((p for p in PAIR_COLUMNS if set(p) <= set(data.column_names)), None)
    columns = pair or (_named_column(data, TEXT_COLUMNS, "text"),)
    label, names = _class_column(data)
    mapping = align(_id2label(model), names)
    data, gold = _labelled(data, label, names)
    texts = [[str(t) for t in data[column]] for column in columns]
    predicted = [-1] * len(data)
    for rows in _length_batches([sum(len(c[i]) for c in texts) for i in range(len(data))], batch_size):
        encoded = tokenizer(
            *([column[i] for i in rows] for column in texts),
            padding=True,
            truncation=True,
            max_length=_max_tokens(tokenizer, MAX_TOKENS),
            return_tensors="pt",
        )
        for i, label_id in zip(rows, model(**_on(device, encoded)).logits.argmax(-1).tolist(), strict=True):
            predicted[i] = label_id
    return _classification_outcome(gold, _classes(predicted, mapping), len(names))


def _image_classification(model: Any, processor: Any, data: Any, batch_size: int, device: str) -> Outcome:
    image = _feature_column(data, "Image")
    label, names = _class_column(data)
    mapping = align(_id2label(model), names)
    data, gold = _labelled(data, label, names)
    predicted: list[int] = []
    for batch in _batches(data, batch_size):
        encoded = processor(images=[img.convert("RGB") for img in batch[image]], return_tensors="pt")
        predicted += model(**_on(device, encoded)).logits.argmax(-1).tolist()
    return _classification_outcome(gold, _classes(predicted, mapping), len(names))


def _token_classification(model: Any, tokenizer: Any, data: Any, batch_size: int, device: str) -> Outcome:
    words = _named_column(data, ("tokens", "words"), "tokens")
    tags, names = _class_column(data, inner=True)
    model_labels = _id2label(model)
    mapping = align(model_labels, names)
    gold: list[list[str]] = [[names[t] for t in row] for row in data[tags]]
    sentences = data[words]
    predicted: list[list[str]] = [[] for _ in sentences]
    for rows in _length_batches([len(" ".join(sentence)) for sentence in sentences], batch_size):
        batch = [sentences[i] for i in rows]
        encoded = tokenizer(
            batch,
            is_split_into_words=True,
            padding=True,
            truncation=True,
            max_length=_max_tokens(tokenizer, MAX_TOKENS),
            return_tensors="pt",
        )
        ids = model(**_on(device, encoded)).logits.argmax(-1).tolist()
        for row, (i, sentence) in enumerate(zip(rows, batch, strict=True)):
            # Each word takes the prediction of its first sub-token; words cut by truncation are O.
            first: dict[int, int] = {}
            for position, word in enumerate(encoded.word_ids(row)):
                if word is not None and word not in first:
                    first[word] = ids[row][position]
            predicted[i] = [
                names[mapping[first[w]]] if first.get(w) in mapping else "O" for w in range(len(sentence))
            ]
    return Outcome(len(gold), lambda metric: metrics.entities(metric, gold, predicted))


_NOT_SPOKEN = re.compile(r"[^\w\s']")


def _transcript(text: str) -> str:
    """Lower case, punctuation but apostrophes dropped: WER compares words, not their typesetting."""
    return " ".join(_NOT_SPOKEN.sub(" ", text.lower()).split())


def _speech_recognition(model: Any, processor: Any, data: Any, batch_size: int, device: str) -> Outcome:
    import datasets

    audio = _feature_column(data, "Audio")
    text = _named_column(data, TRANSCRIPT_COLUMNS, "transcript")
    rate = processor.feature_extractor.sampling_rate
    data = data.cast_column(audio, datasets.Audio(decode=False))  # audio.py decodes the bytes itself
    hypotheses: list[str] = []
    ctc = model.config.model_type in _ctc_types()
    for batch in _batches(data, batch_size):
        arrays = [samples(clip, rate) for clip in batch[audio]]
        # CTC models take the batch padded to its longest clip; sequence-to-sequence extractors pad
        # their own way (Whisper to 30 s), so they keep their default.
        padding = {"padding": True} if ctc else {}
        inputs = _on(device, processor(arrays, sampling_rate=rate, return_tensors="pt", **padding))
        ids = model(**inputs).logits.argmax(-1) if ctc else model.generate(**inputs)
        hypotheses += processor.batch_decode(ids, skip_special_tokens=True)
    references = [_transcript(str(t)) for t in data[text]]
    hypotheses = [_transcript(h) for h in hypotheses]
    return Outcome(len(references), lambda metric: metrics.transcription(metric, references, hypotheses))


def _ctc_types() -> set[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CTC_MAPPING_NAMES

    return set(MODEL_FOR_CTC_MAPPING_NAMES)


def _question_answering(model: Any, tokenizer: Any, data: Any, batch_size: int, device: str) -> Outcome:
    for column in ("question", "context", "answers"):
        _named_column(data, (column,), column)
    questions, contexts = [str(q) for q in data["question"]], [str(c) for c in data["context"]]
    truths = [list(answer["text"]) or [""] for answer in data["answers"]]
    # A split with unanswerable questions (SQuAD v2) lets the model abstain: it answers nothing when
    # its score for no answer (start and end on the first token) beats its best span, as transformers'
    # question-answering pipeline does with `handle_impossible_answer`.
    may_abstain = [""] in truths
    predictions = [""] * len(data)
    lengths = [len(q) + len(c) for q, c in zip(questions, contexts, strict=True)]
    for rows in _length_batches(lengths, batch_size):
        encoded = tokenizer(
            [questions[i] for i in rows],
            [contexts[i] for i in rows],
            truncation="only_second",
            padding=True,
            max_length=_max_tokens(tokenizer, QA_MAX_TOKENS),
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = encoded.pop("offset_mapping")  # not a model input
        output = model(**_on(device, encoded))
        for row, i in enumerate(rows):
            in_context = torch.tensor(
                [s == 1 for s in encoded.sequence_ids(row)], device=output.start_logits.device
            )
            start_logits = output.start_logits[row].masked_fill(~in_context, float("-inf"))
            end_logits = output.end_logits[row].masked_fill(~in_context, float("-inf"))
            start, end, score = _best_span(start_logits, end_logits)
            no_answer = float(output.start_logits[row][0] + output.end_logits[row][0])
            if start < 0 or (may_abstain and no_answer > score):
                continue
            predictions[i] = contexts[i][int(offsets[row][start][0]) : int(offsets[row][end][1])]
    return Outcome(len(truths), lambda metric: metrics.answers(metric, predictions, truths))


def _best_span(start_logits: torch.Tensor, end_logits: torch.Tensor) -> tuple[int, int, float]:
    """The highest-scoring (start, end, score) with start <= end and at most QA_MAX_ANSWER_TOKENS tokens;
    (-1, -1, -inf) when there is none."""
    scores = start_logits[:, None] + end_logits[None, :]
    n = scores.shape[0]
    allowed = torch.ones(n, n, dtype=torch.bool, device=scores.device).triu().tril(QA_MAX_ANSWER_TOKENS - 1)
    scores = scores.masked_fill(~allowed, float("-inf"))
    best = int(scores.argmax())
    score = float(scores.flatten()[best])
    if not math.isfinite(score):
        return -1, -1, score
    return best // n, best % n, score

"""Tiny real model and dataset repositories served by the Hub simulator, for tests of evaluation.

`serving(registry, tmp)` starts a simulator and points huggingface_hub, transformers and datasets at it
(and their caches at `tmp`); the builders make small but real transformers models and Parquet datasets and
register them file by file. Each model's output is fixed by construction (one label whatever the input,
or one answer per word), so its score on the dataset built beside it is known in advance.
"""

from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch

from hubsim import Registry
from hubsim.tiny import (
    BINARY,
    SPECIAL,
    WORDS,
    TinyDataset,
    forced_classifier,
    parquet_bytes,
    register_dataset,
    register_model,
    save_model,
    sentiment_dataset,
)
from hubsim.tiny import bert_config as _bert_config
from hubsim.tiny import bert_tokenizer as _bert_tokenizer
from hubsim.tiny import force as _force


@dataclass(frozen=True)
class TinyModel:
    model_id: str
    sha: str
    labels: tuple[str, ...]
    predicted: str | None  # the label a forced model always gives


@dataclass(frozen=True)
class TinyPair:
    """A model, a dataset it is claimed on, and the score the model must get there."""

    model: TinyModel
    dataset: TinyDataset
    metric: str
    expected: float | None  # None: no score can be had (the labels do not match)


# -- registering ------------------------------------------------------------------------------------


# -- text classification ----------------------------------------------------------------------------


def text_classifier(
    registry: Registry,
    model_id: str,
    *,
    labels: tuple[str, ...] = BINARY,
    predicted: str = "positive",
    pickle_only: bool = False,
    remote_code: bool = False,
    fails: bool = False,
    card_data: dict[str, Any] | None = None,
) -> TinyModel:
    """A tiny BERT sequence classifier that always predicts `predicted`.

    Variants: `pickle_only` serves only pytorch_model.bin; `remote_code` needs code from the repo (an
    `auto_map` to its own module and model type); `fails` loads but raises on any input longer than four
    tokens (four position embeddings)."""
    model = forced_classifier(labels, predicted, **({"max_position_embeddings": 4} if fails else {}))
    sha = publish(
        registry,
        model_id,
        model,
        _bert_tokenizer(),
        pipeline_tag="text-classification",
        card_data=card_data,
        pickle_only=pickle_only,
        remote_code=remote_code,
    )
    return TinyModel(model_id, sha, labels, predicted)


def publish(
    registry: Registry,
    model_id: str,
    model: Any,
    processor: Any,
    *,
    pipeline_tag: str,
    card_data: dict[str, Any] | None = None,
    pickle_only: bool = False,
    remote_code: bool = False,
) -> str:
    """Save a model and its tokenizer or processor as `save_pretrained` does and serve them as `model_id`;
    returns the commit sha. `pickle_only` swaps model.safetensors for pytorch_model.bin."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_model(folder, model, processor, pickle_only=pickle_only)
        if remote_code:
            _needs_remote_code(folder)
        return register_model(registry, model_id, folder, pipeline_tag=pipeline_tag, card_data=card_data)


def _needs_remote_code(folder: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "tiny-custom-bert"
    config["auto_map"] = {
        "AutoConfig": "modeling_tiny.TinyConfig",
        "AutoModelForSequenceClassification": "modeling_tiny.TinyForSequenceClassification",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    # Never run: loading with trust_remote_code=False must refuse before reading it.
    (folder / "modeling_tiny.py").write_text("raise RuntimeError('remote code must not run in tests')\n")


def text_classification_pair(
    registry: Registry, model_id: str = "tiny/bert-sst2", dataset_id: str = "tiny/sst2", **model: Any
) -> TinyPair:
    """A forced-positive classifier and a dataset with 15 of 20 rows positive: accuracy exactly 0.75."""
    data = sentiment_dataset(registry, dataset_id, rows=20, positive=15)
    card = {"datasets": [dataset_id], "metrics": ["accuracy"]}
    tiny = text_classifier(registry, model_id, predicted="positive", card_data=card, **model)
    return TinyPair(tiny, data, "accuracy", 15 / 20)


def mismatched_pair(registry: Registry) -> TinyPair:
    """The forced classifier's labels (negative, positive) beside a dataset whose classes are others."""
    data = sentiment_dataset(registry, "tiny/topics", names=("sports", "politics"))
    tiny = text_classifier(registry, "tiny/bert-topics", card_data={"datasets": ["tiny/topics"]})
    return TinyPair(tiny, data, "accuracy", None)


# -- models that read each word alone --------------------------------------------------------------------


def _code(index: int, hidden: int) -> torch.Tensor:
    """A zero-mean embedding that layer norm keeps pointing the same way, one direction per class."""
    vector = torch.zeros(hidden)
    vector[index] = 1.0
    vector[hidden // 2 + index] = -1.0
    return vector


def _word_bert(model_class: Any, labels: tuple[str, ...], classes: dict[str, int]) -> Any:
    """A BERT whose encoder hands each token's embedding on unchanged (no position embeddings, sub-layers
    zeroed), so its head sees the word alone: a word in `classes` gets that class, any other class 0."""
    hidden = 16
    torch.manual_seed(0)
    model = model_class(_bert_config(labels, hidden_size=hidden, intermediate_size=2 * hidden)).eval()
    with torch.no_grad():
        embeddings = model.bert.embeddings
        embeddings.position_embeddings.weight.zero_()
        embeddings.token_type_embeddings.weight.zero_()
        table = [_code(classes.get(token, 0), hidden) for token in SPECIAL + WORDS]
        embeddings.word_embeddings.weight.copy_(torch.stack(table))
        for layer in model.bert.encoder.layer:
            for dense in (layer.attention.output.dense, layer.output.dense):
                dense.weight.zero_()
                dense.bias.zero_()
    return model


def _read_by_class(head: torch.nn.Linear, hidden: int, rows: list[int]) -> None:
    """Output `k` of the head scores class `rows[k]`."""
    with torch.no_grad():
        head.weight.copy_(torch.stack([_code(c, hidden) for c in rows]))
        head.bias.zero_()


# -- token classification ---------------------------------------------------------------------------

NER_LABELS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")
NER_LEXICON = {"john": 1, "mary": 1, "paris": 3, "london": 3}


def token_classifier(registry: Registry, model_id: str, card_data: dict[str, Any] | None = None) -> TinyModel:
    """A tiny BERT tagger that tags john and mary B-PER, paris and london B-LOC, every other word O."""
    from transformers import BertForTokenClassification

    model = _word_bert(BertForTokenClassification, NER_LABELS, NER_LEXICON)
    _read_by_class(model.classifier, model.config.hidden_size, list(range(len(NER_LABELS))))
    sha = publish(
        registry,
        model_id,
        model,
        _bert_tokenizer(),
        pipeline_tag="token-classification",
        card_data=card_data,
    )
    return TinyModel(model_id, sha, NER_LABELS, None)


# (words, gold tags); against the lexicon tagger: 6 entities found, 2 missed (film), 2 extra (london).
NER_ROWS = [
    ("john went to paris", "B-PER O O B-LOC"),
    ("mary went to the film", "B-PER O O O B-LOC"),
    ("mary went to the film", "B-PER O O O B-LOC"),
    ("john went to london", "B-PER O O O"),
    ("john went to london", "B-PER O O O"),
    ("the movie was fine", "O O O O"),
]


def ner_dataset(registry: Registry, dataset_id: str) -> TinyDataset:
    """`tokens` and `ner_tags` (a sequence of ClassLabel over NER_LABELS), CoNLL style."""
    label = datasets.ClassLabel(names=list(NER_LABELS))
    features = datasets.Features(
        {"tokens": datasets.List(datasets.Value("string")), "ner_tags": datasets.List(label)}
    )
    columns = {
        "tokens": [words.split() for words, _ in NER_ROWS],
        "ner_tags": [[NER_LABELS.index(t) for t in tags.split()] for _, tags in NER_ROWS],
    }
    return register_dataset(registry, dataset_id, {"test": parquet_bytes(columns, features)}, features)


def token_classification_pair(
    registry: Registry, model_id: str = "tiny/bert-ner", dataset_id: str = "tiny/conll"
) -> TinyPair:
    """The lexicon tagger on NER_ROWS: 6 true, 2 false and 2 missed entities, so seqeval F1 is 0.75."""
    data = ner_dataset(registry, dataset_id)
    tiny = token_classifier(registry, model_id, card_data={"datasets": [dataset_id], "metrics": ["f1"]})
    return TinyPair(tiny, data, "f1", 0.75)


# -- extractive question answering ------------------------------------------------------------------


def qa_model(
    registry: Registry, model_id: str, card_data: dict[str, Any] | None = None, *, abstains: bool = False
) -> TinyModel:
    """A tiny BERT reader whose answer is always the word paris (start and end), wherever it stands. With
    `abstains`, [CLS] scores as paris does: no answer beats every span of a context without paris, and ties
    with paris where it stands (a tie answers)."""
    from transformers import BertForQuestionAnswering

    lexicon = {"paris": 1, "[CLS]": 1} if abstains else {"paris": 1}
    model = _word_bert(BertForQuestionAnswering, ("LABEL_0", "LABEL_1"), lexicon)
    _read_by_class(model.qa_outputs, model.config.hidden_size, [1, 1])
    sha = publish(
        registry,
        model_id,
        model,
        _bert_tokenizer(),
        pipeline_tag="question-answering",
        card_data=card_data,
    )
    return TinyModel(model_id, sha, (), "paris")


def squad_dataset(
    registry: Registry, dataset_id: str, *, rows: int = 8, paris: int = 6, unanswerable: int = 0
) -> TinyDataset:
    """SQuAD's columns; the answer is paris in the first `paris` rows and london (beside paris) after,
    but for the last `unanswerable` rows, which have no answer (SQuAD v2) and no paris."""
    right = ("john went to paris", "paris")
    wrong = ("mary went to london not paris", "london")
    none = ("mary went to the film", "")
    picked = [right if k < paris else none if k >= rows - unanswerable else wrong for k in range(rows)]
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "title": datasets.Value("string"),
            "context": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answers": {
                "text": datasets.List(datasets.Value("string")),
                "answer_start": datasets.List(datasets.Value("int32")),
            },
        }
    )
    columns = {
        "id": [f"q{k}" for k in range(rows)],
        "title": ["travel"] * rows,
        "context": [context for context, _ in picked],
        "question": ["where did john go" if a == "paris" else "where did mary go" for _, a in picked],
        "answers": [
            {"text": [a], "answer_start": [c.index(a)]} if a else {"text": [], "answer_start": []}
            for c, a in picked
        ],
    }
    return register_dataset(registry, dataset_id, {"validation": parquet_bytes(columns, features)}, features)


def question_answering_pair(
    registry: Registry, model_id: str = "tiny/bert-squad", dataset_id: str = "tiny/squad"
) -> TinyPair:
    """The always-paris reader on 8 questions, 6 answered paris: exact match and F1 both 0.75."""
    data = squad_dataset(registry, dataset_id, rows=8, paris=6)
    card = {"datasets": [dataset_id], "metrics": ["exact_match", "f1"]}
    tiny = qa_model(registry, model_id, card_data=card)
    return TinyPair(tiny, data, "exact_match", 0.75)


def squad_v2_pair(
    registry: Registry, model_id: str = "tiny/bert-squad2", dataset_id: str = "tiny/squad2"
) -> TinyPair:
    """The abstaining always-paris reader on 8 questions: 4 answered paris, 2 london, 2 unanswerable (it
    abstains there): exact match and F1 both 0.75."""
    data = squad_dataset(registry, dataset_id, rows=8, paris=4, unanswerable=2)
    card = {"datasets": [dataset_id], "metrics": ["exact_match", "f1"]}
    tiny = qa_model(registry, model_id, card_data=card, abstains=True)
    return TinyPair(tiny, data, "exact_match", 0.75)


# -- image classification ---------------------------------------------------------------------------


def image_classifier(
    registry: Registry,
    model_id: str,
    *,
    labels: tuple[str, ...] = ("cat", "dog"),
    predicted: str = "dog",
    card_data: dict[str, Any] | None = None,
) -> TinyModel:
    """A tiny ViT (8x8 pixels, 4x4 patches) that always predicts `predicted`."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=8,
        patch_size=4,
        num_channels=3,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    model = ViTForImageClassification(config).eval()
    _force(model.classifier, labels.index(predicted))
    processor = ViTImageProcessor(size={"height": 8, "width": 8})
    sha = publish(
        registry, model_id, model, processor, pipeline_tag="image-classification", card_data=card_data
    )
    return TinyModel(model_id, sha, labels, predicted)


def image_dataset(
    registry: Registry,
    dataset_id: str,
    *,
    rows: int = 10,
    dogs: int = 7,
    names: tuple[str, ...] = ("cat", "dog"),
) -> TinyDataset:
    """`image` (16x16 PNGs of one colour each) and `label`; the first `dogs` rows are class 1."""
    from PIL import Image

    labels = [1 if k < dogs else 0 for k in range(rows)]
    images = [Image.new("RGB", (16, 16), (40 * k % 256, 200 * y, 90)) for k, y in enumerate(labels)]
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=list(names))})
    test = parquet_bytes({"image": images, "label": labels}, features)
    return register_dataset(registry, dataset_id, {"test": test}, features)


def image_classification_pair(
    registry: Registry, model_id: str = "tiny/vit-pets", dataset_id: str = "tiny/pets"
) -> TinyPair:
    """A forced-dog ViT on 10 images, 7 of dogs: accuracy 0.7."""
    data = image_dataset(registry, dataset_id, rows=10, dogs=7)
    card = {"datasets": [dataset_id], "metrics": ["accuracy"]}
    tiny = image_classifier(registry, model_id, predicted="dog", card_data=card)
    return TinyPair(tiny, data, "accuracy", 0.7)


# -- speech recognition -----------------------------------------------------------------------------

CTC_VOCAB = ["<pad>", "<unk>", "|", *"abcdefghijklmnopqrstuvwxyz'"]


def speech_recognizer(
    registry: Registry, model_id: str, *, letter: str = "a", card_data: dict[str, Any] | None = None
) -> TinyModel:
    """A tiny Wav2Vec2 CTC model whose every frame is `letter`, so any audio transcribes as that letter."""
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    torch.manual_seed(0)
    config = Wav2Vec2Config(
        vocab_size=len(CTC_VOCAB),
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        conv_dim=(8, 8),
        conv_stride=(5, 2),
        conv_kernel=(10, 3),
        num_conv_pos_embeddings=4,
        num_conv_pos_embedding_groups=2,
        pad_token_id=0,
    )
    model = Wav2Vec2ForCTC(config).eval()
    _force(model.lm_head, CTC_VOCAB.index(letter))
    with tempfile.TemporaryDirectory() as tmp:
        vocab = Path(tmp) / "vocab.json"
        vocab.write_text(json.dumps({token: i for i, token in enumerate(CTC_VOCAB)}))
        tokenizer = Wav2Vec2CTCTokenizer(str(vocab), word_delimiter_token="|")
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=True)
    processor = Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer)
    sha = publish(
        registry,
        model_id,
        model,
        processor,
        pipeline_tag="automatic-speech-recognition",
        card_data=card_data,
    )
    return TinyModel(model_id, sha, (), letter)


# A byte-level BPE vocabulary of two words, and the special tokens Whisper's tokenizer and generation use.
WHISPER_VOCAB = ["a", "b", "\u0120", "\u0120a", "\u0120b"]
WHISPER_SPECIAL = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]


def whisper_recognizer(
    registry: Registry, model_id: str, *, word: str = "a", card_data: dict[str, Any] | None = None
) -> TinyModel:
    """A tiny Whisper (sequence to sequence) whose decoder says `word` once whatever it hears: the final
    layer norm gives a constant vector, the tied output projection maps it to `word`, and the generation
    config asks for one new token."""
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    tokens = WHISPER_VOCAB + WHISPER_SPECIAL
    index = {token: i for i, token in enumerate(tokens)}
    end, start = index["<|endoftext|>"], index["<|startoftranscript|>"]
    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=len(tokens),
        num_mel_bins=8,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        d_model=8,
        encoder_ffn_dim=16,
        decoder_ffn_dim=16,
        max_target_positions=16,
        decoder_start_token_id=start,
        eos_token_id=end,
        pad_token_id=end,
        bos_token_id=end,
        suppress_tokens=None,
        begin_suppress_tokens=None,
    )
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        norm = model.model.decoder.layer_norm
        norm.weight.zero_()
        norm.bias.zero_()
        norm.bias[0] = 1.0
        model.proj_out.weight[:, 0] = -1.0
        model.proj_out.weight[index["\u0120" + word], 0] = 10.0
    model.generation_config.max_new_tokens = 1
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = Path(tmp) / "vocab.json", Path(tmp) / "merges.txt"
        vocab.write_text(json.dumps(index))
        merges.write_text("#version: 0.2\n\u0120 a\n\u0120 b\n")
        tokenizer = WhisperTokenizer(
            str(vocab), str(merges), unk_token=tokens[end], bos_token=tokens[end], eos_token=tokens[end]
        )
    extractor = WhisperFeatureExtractor(feature_size=8, sampling_rate=16000)
    processor = WhisperProcessor(feature_extractor=extractor, tokenizer=tokenizer)
    sha = publish(
        registry, model_id, model, processor, pipeline_tag="automatic-speech-recognition", card_data=card_data
    )
    return TinyModel(model_id, sha, (), word)


def clip_bytes(samples: int, rate: int = 16000, seed: int = 0, fmt: str = "WAV") -> bytes:
    """A mono 16-bit clip of low noise, as `fmt` (WAV or FLAC, as speech sets on the Hub store them)."""
    import soundfile

    noise = (torch.rand(samples, generator=torch.Generator().manual_seed(seed)) * 2000 - 1000).to(torch.int16)
    buffer = io.BytesIO()
    soundfile.write(buffer, noise.numpy(), rate, format=fmt, subtype="PCM_16")
    return buffer.getvalue()


def speech_dataset(registry: Registry, dataset_id: str, *, rows: int = 4, said_a: int = 3) -> TinyDataset:
    """`audio` (a quarter second of 16 kHz each, WAV and FLAC in turn) and `text`: "a" in the first
    `said_a` rows, "b" after."""
    features = datasets.Features(
        {"audio": datasets.Audio(sampling_rate=16000), "text": datasets.Value("string")}
    )
    formats = [("WAV", "FLAC")[k % 2] for k in range(rows)]
    columns = {
        "audio": [
            {"bytes": clip_bytes(4000, seed=k, fmt=fmt), "path": f"clip{k}.{fmt.lower()}"}
            for k, fmt in enumerate(formats)
        ],
        "text": ["a" if k < said_a else "b" for k in range(rows)],
    }
    test = parquet_bytes(columns, features, stored=True)
    return register_dataset(registry, dataset_id, {"test": test}, features)


def speech_recognition_pair(
    registry: Registry, model_id: str = "tiny/wav2vec2-letters", dataset_id: str = "tiny/letters"
) -> TinyPair:
    """The always-"a" recognizer on 4 clips, 3 saying "a": word error rate 0.25."""
    data = speech_dataset(registry, dataset_id, rows=4, said_a=3)
    tiny = speech_recognizer(registry, model_id, card_data={"datasets": [dataset_id], "metrics": ["wer"]})
    return TinyPair(tiny, data, "wer", 0.25)


def whisper_recognition_pair(
    registry: Registry, model_id: str = "tiny/whisper-words", dataset_id: str = "tiny/words"
) -> TinyPair:
    """The always-"a" Whisper on 4 clips, 3 saying "a": word error rate 0.25."""
    data = speech_dataset(registry, dataset_id, rows=4, said_a=3)
    tiny = whisper_recognizer(registry, model_id, card_data={"datasets": [dataset_id], "metrics": ["wer"]})
    return TinyPair(tiny, data, "wer", 0.25)

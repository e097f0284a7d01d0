"""A large registry made up on demand: records shaped like the Hub's, generated from their index.

Only ids and a few numeric arrays are kept; tags, siblings, config, cardData and README text are
rebuilt from (seed, index) each time they are asked for, so 200,000 models fit in a few tens of MB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .columns import Columns
from .fields import card_from_data, digest, sha_hex
from .sample import RecordList

_START_MS = 1_609_459_200_000  # 2021-01-01
_END_MS = 1_751_328_000_000  # 2025-07-01
_DAY_MS = 86_400_000

# (pipeline_tag, library_name, model_type, architecture class)
_KINDS: tuple[tuple[str | None, str | None, str | None, str | None], ...] = (
    ("text-generation", "transformers", "llama", "LlamaForCausalLM"),
    ("text-generation", "transformers", "gpt2", "GPT2LMHeadModel"),
    ("text-generation", "transformers", "mistral", "MistralForCausalLM"),
    ("text-classification", "transformers", "bert", "BertForSequenceClassification"),
    ("text-classification", "transformers", "roberta", "RobertaForSequenceClassification"),
    ("token-classification", "transformers", "bert", "BertForTokenClassification"),
    ("fill-mask", "transformers", "bert", "BertForMaskedLM"),
    ("translation", "transformers", "marian", "MarianMTModel"),
    ("automatic-speech-recognition", "transformers", "whisper", "WhisperForConditionalGeneration"),
    ("sentence-similarity", "sentence-transformers", "mpnet", "MPNetModel"),
    ("text-to-image", "diffusers", None, None),
    ("image-classification", "timm", None, None),
    ("reinforcement-learning", "stable-baselines3", None, None),
    (None, None, None, None),
)
_SIZES = ("tiny", "small", "base", "large", "7b", "1.3b", "xl", "mini")
_SUFFIXES = ("finetuned", "lora", "distilled", "instruct", "v2", "quantized", "sft", "merged", "ft", "test")
_DATASETS = ("imdb", "squad", "glue", "common_voice", "wikitext", "emotion", "conll2003", "xsum", "oasst1")
_LICENSES = ("apache-2.0", "mit", "openrail", "cc-by-4.0", "llama2", "other", "cc-by-nc-4.0")
_LANGUAGES = ("en", "fr", "de", "zh", "es", "multilingual", "ja", "ar")
_WORDS_A = (
    "deep",
    "open",
    "tiny",
    "fast",
    "neural",
    "bright",
    "quiet",
    "clever",
    "north",
    "blue",
    "red",
    "lazy",
)
_WORDS_B = ("lab", "ai", "nlp", "ml", "research", "works", "bits", "models", "team", "dev", "hub", "group")
_SENTENCES = (
    "It achieves competitive results on the evaluation set.",
    "The model was trained with a linear learning-rate schedule and early stopping.",
    "Use it with the pipeline API of its library.",
    "Limitations: the training data may contain biases that the model reproduces.",
    "More information needed.",
    "Evaluation was run on a held-out split of the dataset.",
    "The hyperparameters were chosen by a small grid search.",
    "This card was written by the authors of the model.",
)
# README states: 0 card with front matter, 1 no README file, 2 empty file, 3 card without front matter.
_README_WEIGHTS = (0.82, 0.10, 0.03, 0.05)
# Share of models with an `.eval_results/<benchmark>.yaml` file, and the benchmarks they report on:
# (dataset id, task id, score range).
EVAL_RESULTS_SHARE = 0.03
_BENCHMARKS: tuple[tuple[str, str, float, float], ...] = (
    ("cais/mmlu", "mmlu", 25.0, 80.0),
    ("openai/gsm8k", "gsm8k", 5.0, 90.0),
    ("Rowan/hellaswag", "hellaswag", 30.0, 90.0),
    ("allenai/ai2_arc", "arc_challenge", 20.0, 70.0),
    ("truthfulqa/truthful_qa", "truthfulqa_mc2", 30.0, 65.0),
    ("stanfordnlp/imdb", "text-classification", 80.0, 96.0),
)
_REPORTERS = (
    ("Open LLM Leaderboard", "https://huggingface.co/spaces/open-llm-leaderboard/open_llm_leaderboard"),
    ("lm-evaluation-harness", "https://github.com/EleutherAI/lm-evaluation-harness"),
    ("the authors", "https://arxiv.org/abs/2401.00001"),
)


def _b36(value: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rem = divmod(value, 36)
        out = chars[rem] + out
        if not value:
            return out


def _author_name(k: int) -> str:
    a, b = len(_WORDS_A), len(_WORDS_B)
    base = f"{_WORDS_A[k % a]}-{_WORDS_B[(k // a) % b]}"
    return base if k < a * b else f"{base}{k // (a * b)}"


class SyntheticSource:
    """Records for indices 0..n-1, deterministic in (seed, index); optionally shaped after sample records."""

    def __init__(self, n: int, seed: int = 0, templates: RecordList | None = None) -> None:
        self.seed = seed
        self._templates = templates if templates is not None and len(templates) else None
        rng = np.random.default_rng(seed)
        n_authors = max(1, n // 8)
        # Few authors own many models: a heavy-tailed draw over author numbers.
        authors = np.minimum((rng.pareto(1.1, n) * n_authors / 20).astype(np.int64), n_authors - 1)
        names = [_author_name(k) for k in range(n_authors)]
        if self._templates is not None:
            self._template_idx = rng.integers(0, len(self._templates), n).astype(np.int32)
            stems = [tid.split("/")[-1][:60] for tid in self._templates.ids]
            stem_of = [stems[t] for t in self._template_idx.tolist()]
        else:
            self._kind = rng.integers(0, len(_KINDS), n).astype(np.uint8)
            sizes = rng.integers(0, len(_SIZES), n).tolist()
            suffixes = rng.integers(0, len(_SUFFIXES), n).tolist()
            stem_of = [
                f"{_KINDS[k][2] or _KINDS[k][1] or 'model'}-{_SIZES[s]}-{_SUFFIXES[x]}"
                for k, s, x in zip(self._kind.tolist(), sizes, suffixes, strict=True)
            ]
        no_namespace = rng.random(n) < 0.005
        self.ids: list[str] = [
            f"{stem}-{_b36(i)}" if bare else f"{names[a]}/{stem}-{_b36(i)}"
            for i, (a, stem, bare) in enumerate(
                zip(authors.tolist(), stem_of, no_namespace.tolist(), strict=True)
            )
        ]
        self._readme_state = rng.choice(len(_README_WEIGHTS), n, p=_README_WEIGHTS).astype(np.uint8)
        downloads = np.floor(rng.lognormal(3.0, 2.6, n)).astype(np.int64)
        downloads[rng.random(n) < 0.35] = 0
        likes = np.floor(np.sqrt(downloads) * rng.random(n) * 0.4).astype(np.int64)
        # Commit times have whole seconds, as on the Hub.
        created = (_START_MS + rng.integers(0, _END_MS - _START_MS, n)) // 1000 * 1000
        modified = np.minimum(created + (rng.exponential(90, n) * 86_400).astype(np.int64) * 1000, _END_MS)
        age_days = (_END_MS - modified) // _DAY_MS
        trending = (likes * 30 // (30 + age_days)).astype(np.int64)
        gated = np.where(rng.random(n) < 0.02, rng.integers(1, 3, n), 0).astype(np.uint8)
        self.columns = Columns(downloads, likes, created, modified, trending, gated)
        # Drawn last, so the models' other fields are those of the same seed without eval results.
        with_evals = np.flatnonzero(rng.random(n) < EVAL_RESULTS_SHARE).tolist()
        self.eval_results_models: list[int] = [] if self._templates is not None else with_evals

    def __len__(self) -> int:
        return len(self.ids)

    def base_sha(self, i: int) -> str:
        return sha_hex("sha", self.seed, self.ids[i])

    def record(self, i: int) -> dict[str, Any]:
        if self._templates is not None:
            return self._templates.record(int(self._template_idx[i]))
        return self._made_record(i)

    def has_readme(self, i: int) -> bool:
        if self._templates is not None:
            return self._templates.has_readme(int(self._template_idx[i]))
        return int(self._readme_state[i]) != 1

    def readme(self, i: int) -> bytes | None:
        if self._templates is not None:
            t = int(self._template_idx[i])
            text = self._templates.readme(t)
            if text is None:
                return None
            return text.replace(self._templates.ids[t].encode("utf-8"), self.ids[i].encode("utf-8"))
        state = int(self._readme_state[i])
        if state == 1:
            return None
        if state == 2:
            return b""
        record = self._made_record(i)
        text = card_from_data(self.ids[i], record["cardData"] if state == 0 else None)
        d = digest("card", self.seed, i)
        base = f"{_author_name(d[0])}/{_KINDS[int(self._kind[i])][2] or 'model'}-{_SIZES[d[1] % len(_SIZES)]}"
        paragraphs = [
            f"This model is a fine-tuned version of [{base}](https://huggingface.co/{base}).",
            *(
                " ".join(_SENTENCES[(d[2 + j] + k) % len(_SENTENCES)] for k in range(3))
                for j in range(d[12] % 6)
            ),
        ]
        return (text + "\n" + "\n\n".join(paragraphs) + "\n").encode("utf-8")

    def eval_results(self, i: int) -> tuple[str, bytes]:
        """(path, YAML) of model `i`'s eval-results file: one to three results on one benchmark."""
        d = digest("evals", self.seed, i)
        dataset, task, low, high = _BENCHMARKS[d[0] % len(_BENCHMARKS)]
        lines = []
        for k in range(1 + d[1] % 3):
            value = round(low + (high - low) * d[2 + k] / 255, 1)
            reporter, url = _REPORTERS[(d[5] + k) % len(_REPORTERS)]
            lines += [
                f"- dataset:\n    id: {dataset}\n    task_id: {task}",
                f"  value: {value}",
                f"  date: '2025-{1 + d[6 + k] % 12:02d}-{1 + d[9 + k] % 28:02d}'",
                f"  source:\n    url: {url}\n    name: {reporter}\n    user: {_author_name(d[12 + k])}",
                f"  notes: {'5-shot' if k else '0-shot'}",
            ]
            if d[15 + k] % 4 == 0:  # a quarter carry the Hub's verification token
                lines.append(f"  verifyToken: {sha_hex('verify', self.seed, i, k)}")
        return f".eval_results/{task}.yaml", ("\n".join(lines) + "\n").encode()

    def _made_record(self, i: int) -> dict[str, Any]:
        d = digest("rec", self.seed, i)
        pipeline, library, model_type, arch = _KINDS[int(self._kind[i])]
        dataset = _DATASETS[d[0] % len(_DATASETS)]
        license_ = _LICENSES[d[1] % len(_LICENSES)]
        language = _LANGUAGES[d[2] % len(_LANGUAGES)]
        safetensors = d[3] % 3 != 0
        weight = "model.safetensors" if safetensors else "pytorch_model.bin"
        tags = [t for t in (library, "safetensors" if safetensors else "pytorch", model_type, pipeline) if t]
        tags += [f"dataset:{dataset}", language, f"license:{license_}", "endpoints_compatible", "region:us"]
        files = [".gitattributes", "README.md", weight]
        if library == "transformers":
            files += ["config.json", "tokenizer.json", "tokenizer_config.json"]
        state = int(self._readme_state[i])
        card: dict[str, Any] | None = None
        if state == 0:
            card = {
                "license": license_,
                "language": language,
                "datasets": [dataset],
                "tags": [model_type or "model"],
            }
            if pipeline:
                card["pipeline_tag"] = pipeline
        record: dict[str, Any] = {"tags": tags}
        if pipeline:
            record["pipeline_tag"] = pipeline
        if library:
            record["library_name"] = library
        record["config"] = {"architectures": [arch], "model_type": model_type} if arch else {}
        if card is not None:
            record["cardData"] = card
        if arch:
            record["transformersInfo"] = {
                "auto_model": arch,
                "pipeline_tag": pipeline,
                "processor": "AutoTokenizer",
            }
        record["siblings"] = [{"rfilename": f} for f in sorted(files)]
        record["spaces"] = []
        if safetensors:
            params = 1_000_000 * (1 + int.from_bytes(d[4:8], "big") % 7000)
            record["safetensors"] = {"parameters": {"F32": params}, "total": params}
        return record

"""Systematic name variants: two model names that differ the way a family of models names its members.

Names are compared as tokens: case-folded, split on `-`, `_`, `.` and spaces, so `seed_3` and `seed-8`
are the same shape. Two names are a variant of one another when they are equal once the separators are
dropped (`separator`), when every token that differs is a number on both sides or differs only in
digits (`number`: seeds, versions, sizes in digits), or when both tokens of each differing position
are words of the vocabulary below (a language code, a size, a task or dataset, an architecture, a
casing, a format or method); the class is the popular side's token's. A difference of one whole
token (`bert-base` against `bert-base-mnli`) is a variant when that token is in the vocabulary.
"""

from __future__ import annotations

import re

# ISO 639-1 codes, and the ISO 639-3 and OPUS group codes model names use most.
_LANGUAGES = """
aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv
dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig
ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh
mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru
rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug
uk ur uz ve vi vo wa wo xh yi yo za zh zu
ara bem bat cat cel ces deu ell eng est fin fra gem gmq hbs heb hin ita jpn kor mfe mul nld pol por
roa rus sla spa swe tur ukr urd zho zle zls zlw
arabic bengali catalan chinese czech danish dutch english finnish french german greek hebrew hindi
hungarian indonesian italian japanese korean multilingual persian polish portuguese romanian russian
spanish swahili swedish thai turkish ukrainian urdu vietnamese
"""
_SIZES = """
tiny mini small base medium large xl xxl xlarge xxlarge big huge giant nano micro
"""
_TASKS = """
mnli qnli qqp rte sst sst2 cola mrpc stsb sts wnli snli squad squad2 xsum cnn dailymail imdb ner pos
conll conll2003 wikitext wikitext2 yelp polarity ag news emotion sentiment glue superglue boolq coqa
copa wic wsc multirc record anli xnli paws mlm clm qa nli sts-b summarization translation
classification chat instruct finetuned fine-tuned ft
"""
_ARCHITECTURES = """
bert bart roberta electra t5 mt5 byt5 gpt gpt2 gptj gpt-j gpt-neo neo opt llama mistral mixtral xlnet
xlm albert distilbert distilroberta distilgpt2 deberta mpnet canine wav2vec2 hubert whisper vit deit
beit swin convnext clip bloom falcon gemma phi qwen ernie led pegasus marian mbart longformer bigbird
reformer funnel camembert flaubert herbert rembert splinter squeezebert mobilebert minilm tinybert
dialogpt blenderbot prophetnet unispeech wavlm sew data2vec segformer detr yolos
"""
_CASINGS = "cased uncased lower lowercase"
_FORMATS = """
gguf ggml gptq awq exl2 mlx onnx bnb int4 int8 fp16 fp8 fp32 bf16 lora qlora peft sft dpo merged
quantized hf
"""
VOCABULARY: dict[str, str] = {
    word: kind
    for kind, words in (
        ("format", _FORMATS),
        ("casing", _CASINGS),
        ("architecture", _ARCHITECTURES),
        ("task", _TASKS),
        ("size", _SIZES),
        ("language", _LANGUAGES),
    )
    for word in words.split()
}
_SEPARATORS = re.compile(r"[-_.\s]+")
_DIGITS = re.compile(r"\d")
# Sizes in digits and a unit (`7b`, `350m`, `12l`, `312d`) and versions (`v2`).
_NUMBERED = re.compile(r"(v?\d+(\.\d+)?[a-z]?|\d+[a-z]\d+)")


def tokens(name: str) -> list[str]:
    return [t for t in _SEPARATORS.split(name.casefold()) if t]


def _token_class(token: str) -> str | None:
    if _NUMBERED.fullmatch(token):
        return "number"
    return VOCABULARY.get(token)


def _pair_class(popular: str, other: str) -> str | None:
    """The variant class of two differing tokens, or None when the difference is no family's."""
    if _DIGITS.sub("", popular) == _DIGITS.sub("", other):
        return "number"
    popular_class, other_class = _token_class(popular), _token_class(other)
    if popular_class and other_class:
        return popular_class
    return None


def variant_kind(popular_name: str, name: str) -> str | None:
    """How `name` is a systematic variant of `popular_name`, or None when it is not one."""
    popular, other = tokens(popular_name), tokens(name)
    if popular == other:
        if popular_name == name:
            return None
        return "casing" if popular_name.casefold() == name.casefold() else "separator"
    if "".join(popular) == "".join(other):
        return "separator"
    if len(popular) == len(other):
        classes = [_pair_class(p, o) for p, o in zip(popular, other, strict=True) if p != o]
        return classes[0] if classes and all(classes) else None
    longer, shorter = (popular, other) if len(popular) > len(other) else (other, popular)
    if len(longer) != len(shorter) + 1:
        return None
    for index, token in enumerate(longer):
        if longer[:index] + longer[index + 1 :] == shorter:
            return _token_class(token)
    return None

from pipeline.cards.finetuned import FineTunedFrom, finetuned_from


def test_trainer_sentence_names_base_and_dataset():
    body = (
        "# x\n\nThis model is a fine-tuned version of [distilbert-base-uncased]"
        "(https://huggingface.co/distilbert-base-uncased) on the imdb dataset.\nIt achieves"
    )
    assert finetuned_from(body) == FineTunedFrom("distilbert-base-uncased", "imdb", None)


def test_config_suffix_and_unknown_datasets():
    body = "fine-tuned version of [a/b](https://huggingface.co/a/b) on the COMMON_VOICE_7_0 - ES dataset."
    assert finetuned_from(body) == FineTunedFrom("a/b", "COMMON_VOICE_7_0", "ES")
    for unknown in ("on an unknown dataset.", "on the None dataset."):
        assert finetuned_from(f"fine-tuned version of [m](u) {unknown}") == FineTunedFrom("m", None, None)


def test_empty_link_text_takes_the_hub_path_and_plain_names_are_read():
    body = "fine-tuned version of [](https://huggingface.co/org/base) on the squad dataset."
    assert finetuned_from(body) == FineTunedFrom("org/base", "squad", None)
    assert finetuned_from("a fine-tuned version of gpt2 on the wikitext dataset") == FineTunedFrom(
        "gpt2", "wikitext", None
    )
    assert finetuned_from("no such sentence") is None


def test_long_hostile_sentence_is_read_in_bounded_steps():
    body = "fine-tuned version of [" + "a" * 100_000 + "](" + "b" * 100_000
    assert finetuned_from(body) == FineTunedFrom(None, None, None)

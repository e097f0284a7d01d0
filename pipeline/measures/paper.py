"""What Jiang et al. (ICSE 2023) measured on the Hub of August 2022, as the paper reports it."""

from __future__ import annotations

SNAPSHOT = "August 2022"
MODELS_WITH_METADATA = 62_467
MODELS_WITH_CLAIMS = 2_594

# Fig. 7: models with machine-readable model-index claims / models, per pipeline_tag.
CLAIMS_BY_TASK: dict[str, tuple[int, int]] = {
    "token-classification": (526, 3_130),
    "automatic-speech-recognition": (618, 3_919),
    "image-classification": (105, 731),
    "summarization": (56, 501),
    "text-classification": (872, 8_764),
    "translation": (99, 1_637),
    "text2text-generation": (256, 5_320),
    "question-answering": (22, 2_102),
    "fill-mask": (17, 3_802),
    "text-generation": (7, 5_481),
}
OTHER_TASKS = "all other tasks"
CLAIMS_OTHER_TASKS = (12, 26_192)

# Fig. 6: architecture (config.model_type).
ARCHITECTURE_MISSING_SHARE = 0.344
TOP_ARCHITECTURE = ("bert", 0.164)

# Defenses.
ORGANIZATIONS_VERIFIED = (199, 6_243)
REPOSITORIES_GPG_SIGNED = (132, 63_182)
REPOSITORIES_MALWARE_FLAGGED = 0

# Discrepancy experiment: DeiT top-1 on ImageNet validation, claimed vs measured.
DEIT_TOP1 = {
    "tiny": (72.2, 66.5),
    "small": (79.9, 77.1),
    "base": (81.8, 80.1),
    "small-distilled": (81.2, 81.0),
}

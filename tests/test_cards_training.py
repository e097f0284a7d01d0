from __future__ import annotations

from pipeline.cards.sections import find_headings
from pipeline.cards.training import trainer_lists

TRAINER_CARD = """# model

It achieves the following results on the evaluation set:
- Loss: 0.4812
- Accuracy: 0.91

## Training procedure

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 2e-05
- train_batch_size: 8
- seed: 42
- optimizer: Adam with betas=(0.9,0.999) and epsilon=1e-08
- lr_scheduler_type: linear
- num_epochs: 80.0
- mixed_precision_training: Native AMP

### Training results

| Training Loss | Epoch | Step | Validation Loss | Accuracy |
|:-------------:|:-----:|:----:|:---------------:|:--------:|
| No log        | 1.0   | 10   | 0.5             | 0.88     |
| 0.3           | 2.0   | 20   | 0.4812          | 0.91     |

### Framework versions

- Transformers 4.17.0.dev0
- Pytorch 1.10.0+cu111
- Datasets 1.17.0
- Tokenizers 0.10.3
"""


def test_trainer_lists() -> None:
    params, versions = trainer_lists(TRAINER_CARD, find_headings(TRAINER_CARD))
    assert params == {
        "learning_rate": 2e-05,
        "train_batch_size": 8,
        "seed": 42,
        "optimizer": "Adam with betas=(0.9,0.999) and epsilon=1e-08",
        "lr_scheduler_type": "linear",
        "num_epochs": 80.0,
        "mixed_precision_training": "Native AMP",
    }
    assert versions == {
        "transformers": "4.17.0.dev0",
        "pytorch": "1.10.0+cu111",
        "datasets": "1.17.0",
        "tokenizers": "0.10.3",
    }


def test_template_bold_keys_and_absent_lists() -> None:
    body = (
        "#### Training Hyperparameters\n\n- **Training regime:** fp16 mixed precision\n- seed: " + "9" * 5000
    )
    params, versions = trainer_lists(body, find_headings(body))
    assert params["Training regime"] == "fp16 mixed precision"
    assert params["seed"] == "9" * 5000  # too many digits for int(): kept as text
    assert versions == {}
    assert trainer_lists("no headings", []) == ({}, {})

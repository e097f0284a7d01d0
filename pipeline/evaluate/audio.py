"""Audio clips from a dataset as mono float samples at the model's rate.

Clips are read from the bytes embedded in the dataset (a path named inside a downloaded file is never
opened). torchcodec decodes any format when FFmpeg is installed; without it, WAV (PCM) is still read
with the standard library and resampled with scipy, so the usual Parquet speech sets work anywhere.
"""

from __future__ import annotations

import io
import wave
from math import gcd
from typing import Any

import numpy as np

from pipeline.errors import HubmineError

MAX_CLIP_BYTES = 64 * 1024**2


class AudioUndecodable(HubmineError):
    """A clip that cannot be read here."""


def samples(clip: dict[str, Any], rate: int) -> np.ndarray:
    """The clip's samples, mono float32 at `rate` Hz."""
    data = clip.get("bytes")
    if not data:
        raise AudioUndecodable("an audio clip has no embedded bytes (only a path); not read")
    if len(data) > MAX_CLIP_BYTES:
        raise AudioUndecodable(f"an audio clip of {len(data):,} bytes is over {MAX_CLIP_BYTES:,}")
    try:
        from torchcodec.decoders import AudioDecoder
    except (ImportError, OSError, RuntimeError):  # no FFmpeg libraries: read WAV ourselves
        return _wav(data, rate)
    decoded = AudioDecoder(data, sample_rate=rate).get_all_samples()
    return decoded.data.mean(dim=0).numpy().astype(np.float32)


def _wav(data: bytes, rate: int) -> np.ndarray:
    try:
        with wave.open(io.BytesIO(data)) as clip:
            width, channels, source_rate = clip.getsampwidth(), clip.getnchannels(), clip.getframerate()
            frames = clip.readframes(clip.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioUndecodable(
            f"audio is not PCM WAV ({exc}); install FFmpeg so torchcodec can read it"
        ) from None
    kinds = {1: (np.uint8, 128.0, 128.0), 2: (np.int16, 0.0, 32768.0), 4: (np.int32, 0.0, 2147483648.0)}
    if width not in kinds:
        raise AudioUndecodable(f"{8 * width}-bit WAV; install FFmpeg for torchcodec")
    dtype, offset, scale = kinds[width]
    values = (np.frombuffer(frames, dtype=dtype).astype(np.float32) - offset) / scale
    mono = values.reshape(-1, channels).mean(axis=1)
    if source_rate != rate:
        from scipy.signal import resample_poly

        common = gcd(source_rate, rate)
        mono = resample_poly(mono, rate // common, source_rate // common).astype(np.float32)
    return mono

"""Audio clips from a dataset as mono float samples at the model's rate.

Clips are read from the bytes embedded in the dataset (a path named inside a downloaded file is never
opened). torchcodec decodes them where it loads (it needs FFmpeg's libraries); elsewhere soundfile,
whose wheel carries libsndfile, reads WAV, FLAC, Ogg Vorbis/Opus and MP3, and scipy resamples, so the
usual Parquet speech sets work on any machine.
"""

from __future__ import annotations

import io
from math import gcd
from typing import Any

import numpy as np

from pipeline.errors import HubmineError

MAX_CLIP_BYTES = 64 * 1024**2
# A compressed clip can decode to far more than its bytes: ten minutes at 48 kHz is the most kept.
MAX_CLIP_SAMPLES = 600 * 48_000


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
    except (ImportError, OSError, RuntimeError):  # no FFmpeg libraries here
        return decode_with_soundfile(data, rate)
    decoded = AudioDecoder(data, sample_rate=rate).get_all_samples()
    return decoded.data.mean(dim=0).numpy().astype(np.float32)


def decode_with_soundfile(data: bytes, rate: int) -> np.ndarray:
    """Decode with libsndfile (through soundfile) and resample to `rate`."""
    import soundfile

    try:
        with soundfile.SoundFile(io.BytesIO(data)) as clip:
            if clip.frames * clip.channels > MAX_CLIP_SAMPLES:
                raise AudioUndecodable(
                    f"an audio clip of {clip.frames:,} frames x {clip.channels} channels is over "
                    f"{MAX_CLIP_SAMPLES:,} samples"
                )
            values, source_rate = clip.read(dtype="float32", always_2d=True), clip.samplerate
    except (soundfile.SoundFileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioUndecodable(
            f"audio that libsndfile cannot read ({exc}); install FFmpeg so torchcodec can"
        ) from None
    mono = values.mean(axis=1)
    if source_rate != rate:
        from scipy.signal import resample_poly

        common = gcd(source_rate, rate)
        mono = resample_poly(mono, rate // common, source_rate // common)
    return mono.astype(np.float32)

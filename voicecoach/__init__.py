"""VoiceCoach: an offline, hands-free voice coach for low back pain exercise progressions."""

import os

# numpy's OpenBLAS starts a thread per core for each matrix product (the mel filter bank) and keeps them
# spinning afterwards: on 2 cores the spinning thread took the second core from Whisper, the microphone and
# PulseAudio (a live decode 2x slower than offline). One BLAS thread does the same work in the same time.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

__version__ = "0.1.0"

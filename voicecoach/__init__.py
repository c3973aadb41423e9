"""VoiceCoach: an offline, hands-free voice coach for low back pain exercise progressions."""

__version__ = "0.1.0"

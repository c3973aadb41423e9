"""Speech: recognition (asr: offline, per-context grammars with rejection) and synthesis (tts)."""

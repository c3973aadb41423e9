"""Content: the exercises, programs, spoken lines and accepted phrases, loaded from prompts/."""

"""Makes prompts/ the package voicecoach.prompts (pyproject.toml), so wheels carry it and importlib.resources finds it."""

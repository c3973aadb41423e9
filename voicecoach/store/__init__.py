"""Store: the crash-safe session history."""

"""Coach: the session state machine and the clinical progression rules."""

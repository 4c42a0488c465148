"""Cases: what social workers work, opened by the escalation ladder or a call for help."""

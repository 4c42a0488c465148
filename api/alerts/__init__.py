"""Public alerts: CAP messages in and out, and the Seoul districts they reach."""

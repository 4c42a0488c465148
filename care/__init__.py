"""Care for people living alone: check-in plans, check-ins and signals, escalation, and cases."""

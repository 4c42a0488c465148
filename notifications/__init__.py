"""Everything safecity sends: channels (console now; FCM and SMS next), and later the outbox and dispatcher."""

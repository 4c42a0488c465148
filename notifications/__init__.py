"""Everything safecity sends and receives: the outbox, the dispatcher, channels, inbound texts, receipts, templates."""

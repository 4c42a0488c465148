"""``Idempotency-Key`` on POSTs that create things: a retry returns the first response and creates nothing."""

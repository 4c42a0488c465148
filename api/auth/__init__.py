"""Sign-in by phone for citizens, bearer tokens for everyone, and the role and district guards."""

"""Bearer tokens for everyone and the role and district guards; who a staff account is now is asked of the app."""

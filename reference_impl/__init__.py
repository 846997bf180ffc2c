"""Reference "bring your own key" server: the target that passes every byok-audit check.

Small modules with one job each, so a flawed variant can swap exactly one of them:
keyring (master secrets), crypto (record format and AEAD), store (SQLite / PostgreSQL),
upstream (the provider client), logs (metadata logging and redaction), auth, app, cli.
"""

"""Pure parsers that turn stored bytes into facts a check can judge.

- :mod:`byok_audit.forensics.sqlite`: where a byte offset sits inside SQLite's files (live cell,
  freeblock, freelist page, WAL frame, rollback journal record, ...).
- :mod:`byok_audit.forensics.layouts`: the common shapes of a stored ciphertext record (nonce, tag,
  key id) and their encodings.
- :mod:`byok_audit.forensics.records`: locating a stored value in database snapshots and diffing them.

Nothing here does I/O: inputs are bytes and evidence models, outputs are plain values.
"""

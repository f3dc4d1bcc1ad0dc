"""Rules over the stored data: retention, erasure by subject, consent and data-key rotation."""

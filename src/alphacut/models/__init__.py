"""Model catalog (data) and store (cache, fetch, verify)."""

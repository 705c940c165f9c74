"""The bridge from the game's own storage: its SQLite database -> the events topic (backfill, then tail)."""

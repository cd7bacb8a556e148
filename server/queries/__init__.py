"""Read-only questions the screens ask; no state changes here."""

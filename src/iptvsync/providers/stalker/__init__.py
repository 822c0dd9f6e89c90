"""providers/stalker."""

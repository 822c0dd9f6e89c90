"""providers/xtream."""

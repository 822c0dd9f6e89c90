"""providers/m3u."""

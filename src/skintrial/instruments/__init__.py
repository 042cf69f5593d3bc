"""instruments stage."""

"""ollama-provider core."""

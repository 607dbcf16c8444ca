"""The Kubernetes API: the reader, its watch cache, and the JSON parsing both share."""

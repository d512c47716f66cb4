"""Reports and the artifact store."""

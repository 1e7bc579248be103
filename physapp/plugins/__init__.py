"""Plugin manifests, discovery and registry."""

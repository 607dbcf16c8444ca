"""Google Cloud: GKE, Compute Engine and Cloud Logging readers, with one error table for all three."""

"""k8s-chatops: a ChatOps Slack bot for Kubernetes cluster operations, GKE-aware."""

__version__ = "0.1.0"

"""The benchmark: the bot beside kubectl and a naive client on a generated cluster (python -m bench.run)."""

"""Snapshots: plain, immutable data the sources fetch and everything else reads.

They hold only what answers and checks need, so a 150,000-pod cluster fits in
memory and renderers never touch a client library's objects.
"""

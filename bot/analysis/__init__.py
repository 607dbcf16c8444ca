"""Pure reasoning over snapshots: the conclusions answers and alert checks share.

Nothing here fetches or renders; every function takes model objects and
returns plain results, so a command and a scheduled check looking at the same
cluster reach the same conclusion.
"""

"""Where snapshots come from: one reader per API, each taking its client at construction.

The same readers run against the real services and the simulated world; only
the endpoints in the configuration differ. Each translates its client's
exceptions into ``bot.errors`` so nothing above this package sees a client type.
"""

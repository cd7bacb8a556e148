"""Background work (architecture.md, 'Background work'): SLA timers, escalations, delivery.

Each module here registers its tick with ``server.jobs.loop.register_tick``; the loop
imports every module of this package when it starts, so a new module is picked up
without editing the loop.
"""

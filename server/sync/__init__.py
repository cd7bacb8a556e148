"""Offline sync: the mutation registry, exactly-once application, /sync/push and /sync/pull.

A mutation is one offline-capable action with a client-made id. ``apply`` writes its
change together with its ``ClientMutation`` row (all or nothing each, one commit per
push; ``server.sync.apply`` says how), so a replay returns the stored result and changes nothing (architecture promise
2), whether it came from an htmx form post or from the phone's outbox (promise 4). The
idea is Replicache's push/pull with ``lastMutationID``, kept per (client, mutation) like
an idempotency key. A push is received durably into ``sync_inbox`` first and applied
in order right after (``server.sync.inbox``).
"""

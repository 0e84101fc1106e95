"""Primitives the services share: store, queue, clock, notify, ids and ARNs."""

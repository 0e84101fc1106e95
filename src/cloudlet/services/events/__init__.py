"""Amazon EventBridge: event buses, rules, targets, schedules, API destinations, archives."""

"""Amazon EventBridge Scheduler: schedule groups and schedules that fire on core/timers."""

"""AWS Lambda: functions, versions, aliases, layers, policies and synchronous invocation."""

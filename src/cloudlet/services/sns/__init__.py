"""Amazon SNS: topics, subscriptions, publishing and durable delivery to every protocol."""

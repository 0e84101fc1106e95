"""Amazon API Gateway HTTP APIs: control plane and the data plane serving their stages."""

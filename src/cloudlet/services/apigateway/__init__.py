"""Amazon API Gateway REST APIs: control plane and the data plane serving deployed stages."""

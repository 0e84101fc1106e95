"""Amazon SES (v1, query protocol); its state is shared with services/sesv2."""

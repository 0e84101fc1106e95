"""Amazon SES v2 (rest-json) over the state of services/ses."""

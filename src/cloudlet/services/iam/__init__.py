"""AWS Identity and Access Management: roles, inline and managed policies.

IAM is global: its documents are keyed by account only, never by region. Policies are stored
exactly as given, so that enforcement (a later step) can evaluate them; nothing is enforced yet.
"""

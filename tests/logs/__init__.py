"""CloudWatch Logs tests. A package, so its conftest and helpers never shadow tests/conftest.py
(test modules elsewhere import `http` from the top-level `conftest`)."""

"""The `get_models` Lambda: approved model versions of the registry with download URLs.

The Lambda's handler is `functions.get_models.handler.handler`. Importing this package does
no work, so a cold start only pays for what the handler module needs.
"""

"""The one settings object of aws-mlops-playground."""

from mlops_settings.settings import ENV_PREFIX, Settings, SettingsError, load_settings

__all__ = ["ENV_PREFIX", "Settings", "SettingsError", "load_settings"]

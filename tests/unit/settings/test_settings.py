import os

import pytest

from mlops_settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a person exported (e.g. PLAYGROUND_EMULATOR_PORT, as the README suggests) stays out."""
    for var in [v for v in os.environ if v.startswith("PLAYGROUND_")]:
        monkeypatch.delenv(var)


def test_defaults_name_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings()
    assert settings.target == "local"
    assert settings.emulator_url == "http://127.0.0.1:4566"
    env = settings.aws_environment()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_REGION"] == "us-east-1"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("PLAYGROUND_EMULATOR_PORT", "abc", "valid integer"),
        ("PLAYGROUND_EMULATOR_PORT", "70000", "less than or equal to 65535"),
        ("PLAYGROUND_DATA_BUCKET", "Not_A_Bucket", "not a valid S3 bucket name"),
        ("PLAYGROUND_MODEL_PACKAGE_GROUP", "has spaces", "not a valid SageMaker name"),
        ("AWS_ENDPOINT_URL", "ftp://example", "not an http(s) URL"),
        ("AWS_REGION", "moon-1", "should match pattern"),
        ("PLAYGROUND_TARGET", "cloud", "'local' or 'aws'"),
        ("PLAYGROUND_DOWNLOAD_URL_EXPIRY_SECONDS", "3600", "less than or equal to 900"),
        ("PLAYGROUND_EMULATOR_STRICT", "sometimes", "valid boolean"),
    ],
)
def test_wrong_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"{variable}:" in message
    assert problem in message


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.data_bucket = "other"  # type: ignore[misc]


def test_aws_target_uses_no_emulator_and_no_dummy_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    env = load_settings().aws_environment()
    assert env == {"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}


def test_aws_target_honours_the_standard_endpoint_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the AWS rehearsal relies on: an emulator standing in for an account.
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4610")
    settings = load_settings()
    assert settings.endpoint_url == "http://127.0.0.1:4610"
    assert settings.aws_environment()["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4610"
    assert "AWS_ACCESS_KEY_ID" not in settings.aws_environment()


def test_any_origin_fails_at_start_for_the_aws_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    monkeypatch.setenv("PLAYGROUND_CORS_ALLOW_ORIGINS", '["https://digits.example.com", "*"]')
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "PLAYGROUND_CORS_ALLOW_ORIGINS:" in message
    assert "'*' (any origin) is for PLAYGROUND_TARGET=local only" in message


def test_origins_default_to_any_locally_and_to_none_in_aws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLAYGROUND_CORS_ALLOW_ORIGINS", raising=False)
    assert load_settings().cors_allow_origins == ("*",)
    monkeypatch.setenv("PLAYGROUND_TARGET", "aws")
    assert load_settings().cors_allow_origins == ()
    monkeypatch.setenv("PLAYGROUND_CORS_ALLOW_ORIGINS", '["https://digits.example.com"]')
    assert load_settings().cors_allow_origins == ("https://digits.example.com",)


def test_emulator_strict_mode_is_on_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_EMULATOR_STRICT", raising=False)
    assert load_settings().emulator_strict is True
    monkeypatch.setenv("PLAYGROUND_EMULATOR_STRICT", "false")
    assert load_settings().emulator_strict is False

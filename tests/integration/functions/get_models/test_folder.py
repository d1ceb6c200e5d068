"""Which files sit next to a model file, listed in the emulator's S3 and cached briefly."""

from __future__ import annotations

import boto3

from functions.get_models.folder import FOLDER_CACHE_SECONDS, ModelFolders
from mlops_settings import Settings


def test_a_file_added_next_to_a_model_shows_once_the_cached_listing_expires(
    emulator: Settings,
) -> None:
    s3 = boto3.client("s3")
    bucket, folder = emulator.model_bucket, "models/mnist/" + "ab" * 32 + "/"
    s3.put_object(Bucket=bucket, Key=folder + "model.onnx", Body=b"onnx")
    now = [0.0]
    folders = ModelFolders(s3, clock=lambda: now[0])
    url = f"s3://{bucket}/{folder}model.onnx"

    [first], calls = folders.folders([url])
    assert (first.names, first.key("report.html"), calls) == ({"model.onnx"}, None, 1)

    s3.put_object(Bucket=bucket, Key=folder + "report.html", Body=b"<html>")
    now[0] = FOLDER_CACHE_SECONDS - 1
    cached, again = folders.folders([url, url])[0]
    assert (cached.key("report.html"), again.key("report.html")) == (None, None)
    assert folders.folders([url])[1] == 0
    now[0] = FOLDER_CACHE_SECONDS + 1
    [fresh], calls = folders.folders([url])
    assert (fresh.key("report.html"), calls) == (folder + "report.html", 1)


def test_only_files_directly_in_the_folder_count(emulator: Settings) -> None:
    s3 = boto3.client("s3")
    bucket, folder = emulator.model_bucket, "models/mnist/" + "cd" * 32 + "/"
    s3.put_object(Bucket=bucket, Key=folder + "deeper/report.html", Body=b"<html>")
    s3.put_object(Bucket=bucket, Key=folder + "report.html.bak", Body=b"<html>")
    [found], _ = ModelFolders(s3).folders([f"s3://{bucket}/{folder}model.onnx"])
    assert found.key("report.html") is None


def test_a_folder_that_cannot_be_listed_is_asked_again_next_time(emulator: Settings) -> None:
    folders = ModelFolders(boto3.client("s3"))
    url = "s3://no-such-bucket-here/models/mnist/" + "ef" * 32 + "/model.onnx"
    for _ in range(2):
        [missing], calls = folders.folders([url])
        assert (missing.listed, missing.names, calls) == (False, frozenset(), 1)

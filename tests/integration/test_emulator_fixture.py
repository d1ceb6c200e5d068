import boto3

from mlops_settings import Settings


def test_emulator_has_buckets_and_group(emulator: Settings) -> None:
    names = {b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]}
    assert {emulator.data_bucket, emulator.model_bucket} <= names
    groups = boto3.client("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert [g["ModelPackageGroupName"] for g in groups] == [emulator.model_package_group]

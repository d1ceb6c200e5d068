"""The per-role report: statements used (with their call), never used, and denials."""

from __future__ import annotations

from mlops_settings import Settings
from playground.permissions import role_reports

JOBS = "mnist-playground-sagemaker-execution"


def test_used_and_unused_statements_and_denials_per_role() -> None:
    record = {
        "used": {
            JOBS: {
                f"role/{JOBS}:pipeline-jobs#FindTheChampion": {
                    "sagemaker:ListModelPackages": "sagemaker ListModelPackages *"
                }
            }
        },
        "recent": [
            {"role": JOBS, "action": "s3:DeleteObject", "resource": "arn:aws:s3:::d/k"},
            {"role": "stranger", "action": "s3:GetObject", "resource": "arn:aws:s3:::d/k"},
        ],
    }
    reports = {r.role: r for r in role_reports(record, Settings())}
    jobs = reports[JOBS]
    assert [(u.sid, u.calls) for u in jobs.used] == [
        ("FindTheChampion", {"sagemaker:ListModelPackages": "sagemaker ListModelPackages *"})
    ]
    unused = {u.sid for u in jobs.unused}
    assert "FindTheChampion" not in unused
    assert {"ReadRawDataAndPipelineArtifacts", "WriteJobLogs"} <= unused
    assert [d["action"] for d in jobs.denials] == ["s3:DeleteObject"]
    # A role outside the system that was denied is listed too.
    assert [d["action"] for d in reports["stranger"].denials] == ["s3:GetObject"]
    trigger = reports["mnist-playground-training-trigger"]
    assert [u.sid for u in trigger.unused] == ["StartThisPipeline"]


def test_the_people_of_the_runbook_are_reported_like_the_services() -> None:
    approver = "mnist-playground-model-approver"
    record = {
        "used": {
            approver: {
                f"role/{approver}:decide-model-versions#ReadAndDecideModelVersionsOfThisGroup": {
                    "sagemaker:UpdateModelPackage": "sagemaker UpdateModelPackage arn:..."
                }
            }
        },
        "recent": [],
    }
    reports = {r.role: r for r in role_reports(record, Settings())}
    assert [u.sid for u in reports[approver].used] == ["ReadAndDecideModelVersionsOfThisGroup"]
    assert "ListModelVersions" in {u.sid for u in reports[approver].unused}
    assert "mnist-playground-feedback-reviewer" in reports
    deployer = reports["mnist-playground-deployer"]
    assert [u.policy for u in deployer.unused] == ["AdministratorAccess"]

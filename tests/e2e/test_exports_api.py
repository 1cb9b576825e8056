"""Exports over HTTP on the local stack: the job runs through the queue worker, as in AWS."""
from __future__ import annotations

import hashlib
import json

import boto3
import pytest
import requests

from tests.e2e.test_agency_review_api import sent
from tests.e2e.test_citizen_links_api import JPEG, _other_agency_key

pytestmark = pytest.mark.e2e


def wait_done(stack, export_id):
    url = f"{stack.api_url}/agency/exports/{export_id}"
    return stack.wait_for(lambda: (v := stack.agency().get(url).json())["status"] in ("done", "failed") and v,
                          timeout=60, what="the export to finish")


def test_an_export_to_download_links_lists_every_file_with_its_verified_hash(stack):
    sid = sent(stack, case_ref="EXPORT-E2E-1")
    stack.wait_for(lambda: stack.agency().get(f"{stack.api_url}/agency/submissions/{sid}").json()["files"][0]["sha256"])
    started = stack.agency().post(f"{stack.api_url}/agency/exports",
                                  json={"case_ref": "EXPORT-E2E-1", "target": {"type": "download_links"}})
    assert started.status_code == 201, started.text
    view = wait_done(stack, started.json()["export_id"])
    assert view["status"] == "done" and view["items_done"] == view["items_total"] == 1
    manifest = requests.get(view["downloads"]["manifest_json"]).json()
    row, = manifest["rows"]
    assert row["sha256"] == hashlib.sha256(JPEG).hexdigest() and row["integrity"] == "verified"
    file_url = view["downloads"]["files"][0]["url"]
    assert requests.get(file_url).content == JPEG


def test_an_export_to_the_agencys_own_bucket_copies_the_files_and_the_manifest(stack):
    sent(stack, case_ref="EXPORT-E2E-2")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="agency-own-evidence")
    started = stack.agency().post(f"{stack.api_url}/agency/exports", json={
        "case_ref": "EXPORT-E2E-2", "target": {"type": "bucket", "bucket": "agency-own-evidence", "prefix": "pd"}})
    view = wait_done(stack, started.json()["export_id"])
    assert view["status"] == "done", view
    manifest = json.loads(s3.get_object(Bucket="agency-own-evidence", Key="pd/manifest.json")["Body"].read())
    row, = manifest["rows"]
    copied = s3.get_object(Bucket="agency-own-evidence", Key=row["target_key"])["Body"].read()
    assert hashlib.sha256(copied).hexdigest() == row["sha256"]


def test_an_export_to_a_bucket_that_does_not_exist_fails_clearly_and_can_be_retried(stack):
    sent(stack, case_ref="EXPORT-E2E-3")
    started = stack.agency().post(f"{stack.api_url}/agency/exports", json={
        "case_ref": "EXPORT-E2E-3", "target": {"type": "bucket", "bucket": "not-created-yet"}})
    failed = wait_done(stack, started.json()["export_id"])
    assert failed["status"] == "failed" and "not-created-yet" in failed["error"]
    boto3.client("s3").create_bucket(Bucket="not-created-yet")
    retry = stack.agency().post(f"{stack.api_url}/agency/exports/{failed['export_id']}/retry")
    assert retry.status_code == 202
    assert wait_done(stack, failed["export_id"])["status"] == "done"


@pytest.mark.parametrize("body", [
    {"target": {"type": "ftp"}},
    {"target": {"type": "bucket", "bucket": "Bad_Name"}},
    {"target": {"type": "bucket", "bucket": "ok-bucket", "prefix": "../up"}},
    {"target": {"type": "download_links"}, "from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"},
    {},
])
def test_bad_export_requests_get_a_json_400(stack, body):
    response = stack.agency().post(f"{stack.api_url}/agency/exports", json=body)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"


def test_a_filter_that_matches_nothing_gives_an_empty_manifest(stack):
    started = stack.agency().post(f"{stack.api_url}/agency/exports",
                                  json={"case_ref": "NO-SUCH-CASE", "target": {"type": "download_links"}})
    view = wait_done(stack, started.json()["export_id"])
    assert view["status"] == "done" and view["items_total"] == 0
    assert requests.get(view["downloads"]["manifest_json"]).json()["rows"] == []


def test_another_agency_cannot_see_an_export(stack):
    started = stack.agency().post(f"{stack.api_url}/agency/exports",
                                  json={"case_ref": "NO-SUCH-CASE", "target": {"type": "download_links"}})
    other = stack.agency(_other_agency_key(stack))
    assert other.get(f"{stack.api_url}/agency/exports/{started.json()['export_id']}").status_code == 404


def test_the_operator_cli_runs_an_export_with_a_progress_bar(stack, capsys):
    import argparse

    from chalicelib import cli

    sent(stack, case_ref="EXPORT-CLI-1")
    args = argparse.Namespace(agency_id=stack.agency_id, case_ref="EXPORT-CLI-1", bucket=None, prefix="")
    assert cli._export(args) == 0
    out = capsys.readouterr()
    assert "[########################################] 1/1 files" in out.err and ": done" in out.out

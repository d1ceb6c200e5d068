"""What a visitor transfers: first visit, and return visit after a deploy; time to a prediction.

Two views of the same builds:

- **CloudFront, as deployed**: web/deploy.sh (what web.yml runs) uploads the build to a site
  bucket of a throwaway emulator; the bytes a browser receives are summed from the stored
  objects under CloudFront's compression rules (`playground.cloudfront`), plus the model file
  (S3 sends it as stored). The return visit after a deploy of a changed app is the objects of
  the second build that the first did not have byte for byte (hashed names are new files; the
  page and the service worker are revalidated). Issue 19's target: first visit <= 4 MB.
- **Measured**: chromium on the local site server (`playground site serve`, which sends what
  CloudFront sends), counting every byte the server writes (headers and bodies) plus the
  API's and the model bucket's answers; a first visit (download a model, draw, read the
  prediction, the service worker has precached the build), then a deploy of a rebuilt app
  (another SITE_BUILD) and the same browser profile back: the stored model reopens by itself.

Time to first prediction is from the start of navigation to the digit on screen, including the
drawing's pointer moves (about 0.3 s of the figure). Prints figures; asserts nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import boto3

from playground import cloudfront
from playground.site_server import make_server, start_in_thread
from playground.throwaway import throwaway_stack

ROOT = Path(__file__).resolve().parents[1]
LIMIT_BYTES = 4_000_000


def _load_webstack() -> ModuleType:
    # The stack helpers live with the web tests; `tests` is not an importable package here.
    spec = importlib.util.spec_from_file_location("webstack", ROOT / "tests/support/webstack.py")
    if spec is None or spec.loader is None:
        raise ImportError("cannot load tests/support/webstack.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["webstack"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


webstack = _load_webstack()
DIST, MODEL, WEB = webstack.DIST, webstack.MODEL, webstack.WEB


def build(out: Path, site_build: str) -> None:
    """Build the app into ``out`` (vite only: the type check does not change the files)."""
    subprocess.run(
        ["npx", "vite", "build", "--outDir", str(out), "--emptyOutDir"],
        cwd=WEB,
        env={**os.environ, "SITE_BUILD": site_build},
        check=True,
        capture_output=True,
    )


def deployed(dist: Path, bucket: str) -> dict[str, dict[str, Any]]:
    """Run web/deploy.sh into ``bucket``; every object's body, type and encoding."""
    subprocess.run(["bash", str(WEB / "deploy.sh"), str(dist), bucket], check=True)
    s3 = boto3.client("s3")
    found = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        got = s3.get_object(Bucket=bucket, Key=item["Key"])
        found[item["Key"]] = {
            "body": got["Body"].read(),
            "type": got.get("ContentType"),
            "encoding": got.get("ContentEncoding"),
        }
    return found


def viewer(item: dict[str, Any]) -> int:
    return cloudfront.viewer_bytes(item["body"], item["type"], item["encoding"])


class CountingSite:
    """The local site server on a copy of a build, counting what it writes to visitors."""

    def __init__(self, folder: Path, api_url: str, model_url: str) -> None:
        self.folder = folder
        self.sent = 0
        self._lock = threading.Lock()
        self.server = make_server(folder, "127.0.0.1", 0, api_url, model_url)
        inner = cast("partial[Any]", self.server.RequestHandlerClass)
        site = self

        class Counting(inner.func):  # type: ignore[name-defined]
            def setup(self) -> None:
                super().setup()
                write = self.wfile.write

                def counted(data: bytes) -> int:
                    with site._lock:
                        site.sent += len(data)
                    return write(data)

                self.wfile.write = counted

        self.server.RequestHandlerClass = partial(Counting, *inner.args, **inner.keywords)
        start_in_thread(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def deploy(self, dist: Path) -> None:
        """Replace the served files with ``dist``'s, as a deploy replaces the bucket's."""
        shutil.rmtree(self.folder)
        shutil.copytree(dist, self.folder)

    def take(self) -> int:
        with self._lock:
            sent, self.sent = self.sent, 0
        return sent


def visit(
    node: str,
    chromium: str,
    site: CountingSite,
    version: int,
    kind: str,
    profile: Path,
    build_id: str,
) -> dict[str, Any]:
    done = subprocess.run(
        [node, "e2e/delivery-bench.mjs"],
        cwd=WEB,
        env={
            **os.environ,
            "CHROMIUM_PATH": chromium,
            "SITE_URL": site.url,
            "GOOD_VERSION": str(version),
            "VISIT": kind,
            "PROFILE": str(profile),
            "EXPECT_BUILD": build_id,
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"browser benchmark failed:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["site_bytes"] = site.take()
    return figures


def main() -> None:
    chromium = webstack.require_tools()
    node = shutil.which("node")
    if node is None or shutil.which("aws") is None:
        raise SystemExit("node and the AWS CLI are needed (web/deploy.sh runs `aws`)")
    with tempfile.TemporaryDirectory() as tmp_name, throwaway_stack() as local:
        tmp = Path(tmp_name)
        local.activate()
        print("building two versions of the app ...", flush=True)
        first_build, second_build = "bench-first", "bench-second"
        # Each build just before its deploy, as in CI: `aws s3 sync` uploads a file of the same
        # size only when it is newer than the stored object.
        boto3.client("s3").create_bucket(Bucket="bench-site")
        build(tmp / "first", first_build)
        one = deployed(tmp / "first", "bench-site")
        build(tmp / "second", second_build)
        two = deployed(tmp / "second", "bench-site")
        model = MODEL.stat().st_size
        first_cf = sum(viewer(item) for item in one.values()) + model
        changed = {
            key: item
            for key, item in two.items()
            if key not in one or one[key]["body"] != item["body"]
        }
        return_cf = sum(viewer(item) for item in changed.values())
        wasm = next(item for key, item in one.items() if key.endswith(".wasm"))

        versions = webstack.register_versions(local.settings)
        api_url = local.start_api()
        served = tmp / "served"
        shutil.copytree(tmp / "first", served)
        site = CountingSite(served, api_url, local.url)
        profile = tmp / "profile"
        print("first visit, then a deploy and a return visit, in chromium ...", flush=True)
        first = visit(node, chromium, site, versions.good, "first", profile, first_build)
        site.deploy(tmp / "second")
        again = visit(node, chromium, site, versions.good, "return", profile, second_build)
        site.server.shutdown()

    def measured(figures: dict[str, Any]) -> int:
        return int(figures["site_bytes"] + sum(figures["elsewhere_bytes"].values()))

    print(
        f"CloudFront as deployed (web/deploy.sh), first visit: {first_cf:,} bytes"
        f" (wasm runtime {len(wasm['body']):,} gzip, model {model:,})"
        f"   target <= {LIMIT_BYTES:,}"
    )
    print(
        f"CloudFront, return visit after a deploy of a changed app: {return_cf:,} bytes"
        f" ({len(changed)} changed objects: {', '.join(sorted(changed))})"
    )
    print(
        f"measured (chromium, local site server), first visit: {measured(first):,} bytes"
        f" (site {first['site_bytes']:,}, API and model {measured(first) - first['site_bytes']:,});"
        f" time to first prediction {first['first_prediction_ms']:.0f} ms"
    )
    print(
        f"measured, return visit after a deploy: {measured(again):,} bytes"
        f" (site {again['site_bytes']:,}, API and model {measured(again) - again['site_bytes']:,});"
        f" time to first prediction {again['first_prediction_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()

"""The local site server: refusals with what to do, and the Content Security Policy it sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from playground.site_server import SiteError, make_server, site_policy
from support.site_build import tiny_build


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return tiny_build(tmp_path)


def test_refuses_a_missing_build_with_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="make web-build"):
        make_server(
            tmp_path / "nothing", "127.0.0.1", 0, "http://127.0.0.1:8787", "http://127.0.0.1:4566"
        )


def test_refuses_an_api_url_that_is_not_http(dist: Path) -> None:
    with pytest.raises(SiteError, match="not an http"):
        make_server(dist, "127.0.0.1", 0, "127.0.0.1:8787", "http://127.0.0.1:4566")


def test_the_policy_names_only_this_stacks_origins_and_no_inline_script() -> None:
    policy = site_policy("http://127.0.0.1:8787/models", "http://localhost:4566")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert list(directives) == sorted(directives)  # the order Terraform's keys() gives
    assert directives["connect-src"] == ["'self'", "http://127.0.0.1:8787", "http://localhost:4566"]
    assert directives["img-src"] == ["'self'", "blob:", "http://localhost:4566"]
    assert "'unsafe-inline'" not in " ".join(directives["script-src"] + directives["style-src"])
    assert "'unsafe-eval'" not in directives["script-src"]
    assert directives["frame-ancestors"] == ["'none'"]

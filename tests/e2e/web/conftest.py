"""What more than one browser test of the site needs, made once per session."""

from __future__ import annotations

import pytest

from support.webstack import SiteBuilds, build_site


@pytest.fixture(scope="session")
def site_builds(tmp_path_factory: pytest.TempPathFactory) -> SiteBuilds:
    """The two builds the update suites deploy one after the other (built once, shared)."""
    root = tmp_path_factory.mktemp("site-builds")
    builds = SiteBuilds(root / "first", root / "second")
    build_site(builds.first, builds.first_label)
    build_site(builds.second, builds.second_label)
    return builds

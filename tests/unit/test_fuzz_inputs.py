"""Every input container-ci parses, fuzzed with Hypothesis: scenario files,
capabilities.yaml, jobs/promotion.yaml, zuul.d files, clouds.yaml entries,
subunit v2 streams, JUnit XML and Zuul builds API pages.

The property, for each: the input is accepted, or refused as BadInput (exit
2) whose message starts with the file (and `:line` where the input is a file
of lines) or names the source; never another exception, never a partial
write (a store holds each build whole, or nothing of it). Each calls the
function the command calls. The examples per parser come from the profile
(tests/unit/conftest.py: `ci` by default, `bench` for bench/fuzz).

Then the regression tests: the bombs of issue 17 for each reader, and each
crash the fuzzing found, with its input."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from container_ci import paths
from container_ci.cli import main
from container_ci.errors import BadInput
from container_ci.scenarios import catalogue, loader
from container_ci.stability.ingest.sources import ingest_path
from container_ci.stability.ingest.writer import record_build
from container_ci.stability.ingest.zuul_api import ZuulClient, read_zuul_builds
from container_ci.stability.policy import load_policy
from container_ci.stability.store import Store
from container_ci.stability.tables import Build, TestResult
from container_ci.targets.cloud import cloud_region
from container_ci.zuul.check import CheckOptions, UpstreamNames, check
from tests.fuzz_inputs import (
    BASE_URL,
    CAPABILITY_SEEDS,
    CLOUDS_SEEDS,
    POLICY_SEEDS,
    REPO,
    SCENARIO_SEEDS,
    ZUUL_SEEDS,
    junit_files,
    subunit_streams,
    yaml_files,
    zuul_pages,
)

# --- shared -----------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Files of the examples, and the data dir the scenario loader caches in."""
    path = tmp_path_factory.mktemp("fuzz")
    with mock.patch.dict(os.environ, {paths.ENV_DATA_DIR: str(path / "data")}):
        yield path


@pytest.fixture(scope="module")
def fuzz_store(workdir: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{workdir / 'store.sqlite'}") as opened:
        yield opened


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def assert_file_line(exc: BadInput, path: Path) -> None:
    """`file:line: message`."""
    assert re.match(rf"{re.escape(str(path))}:\d+: .", str(exc)), str(exc)


def assert_names(exc: BadInput, source: object) -> None:
    """The message starts with the file or source (`file: ...` or `file:line: ...`)."""
    assert str(exc).startswith(f"{source}:"), str(exc)


def counts(store: Store) -> tuple[int, int]:
    with store.session() as session:
        builds = session.scalar(select(func.count()).select_from(Build)) or 0
        results = session.scalar(select(func.count()).select_from(TestResult)) or 0
    return builds, results


def results_of(store: Store, uuid: str) -> int | None:
    """Rows of the build `uuid` in the store; None when it is not there."""
    with store.session() as session:
        build_id = session.scalar(select(Build.id).where(Build.uuid == uuid))
        if build_id is None:
            return None
        query = select(func.count()).select_from(TestResult).where(TestResult.build_id == build_id)
        return session.scalar(query) or 0


def cli(argv: list[str]) -> tuple[int, str]:
    """main() in-process: its exit code and what it wrote to stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


# --- the properties ----------------------------------------------------------


@given(data=yaml_files(SCENARIO_SEEDS))
def test_property_scenario_files(workdir: Path, data: bytes) -> None:
    """What `container-ci run --scenario FILE` loads (through the loader's
    cache: a second load reads what the first kept)."""
    path = write(workdir / "scenario.yaml", data)
    try:
        first = loader.load_scenario(path)
    except BadInput as exc:
        assert_file_line(exc, path)
        return
    assert loader.load_scenario(path) == first


@given(data=yaml_files(CAPABILITY_SEEDS))
def test_property_capabilities_yaml(workdir: Path, data: bytes) -> None:
    path = write(workdir / "capabilities.yaml", data)
    try:
        first = loader.load_capabilities(path)
    except BadInput as exc:
        assert_file_line(exc, path)
        return
    assert loader.load_capabilities(path) == first


@given(data=yaml_files(POLICY_SEEDS))
def test_property_promotion_policy(workdir: Path, data: bytes) -> None:
    path = write(workdir / "promotion.yaml", data)
    try:
        load_policy(path)
    except BadInput as exc:
        assert_file_line(exc, path)


@pytest.fixture(scope="module")
def zuul_options() -> CheckOptions:
    """What `container-ci zuul check --root REPO --policy jobs/promotion.yaml`
    checks with (run_check builds the same): the shipped upstream names,
    this repository's playbooks, policy and capability matrix."""
    policy = load_policy(REPO / "jobs" / "promotion.yaml")
    return CheckOptions(
        upstream=UpstreamNames.shipped(),
        root=REPO,
        policy_jobs=policy.jobs,
        policy=policy,
        capabilities=catalogue.default_matrix(),
    )


@given(data=yaml_files(ZUUL_SEEDS))
def test_property_zuul_d_files(workdir: Path, zuul_options: CheckOptions, data: bytes) -> None:
    """`container-ci zuul check`'s check(): problems found (exit 0 or 1),
    or BadInput (exit 2) with `file:line: message`."""
    path = write(workdir / "zuul.d" / "fuzz.yaml", data)
    try:
        result = check([path], zuul_options)
    except BadInput as exc:
        assert_file_line(exc, path)
        return
    for problem in result.problems:
        assert str(problem).startswith(f"{problem.path}:{problem.line}: "), str(problem)


@given(data=yaml_files(CLOUDS_SEEDS), cloud=st.sampled_from(["fuzz", "other", "missing"]))
def test_property_clouds_yaml_entries(workdir: Path, data: bytes, cloud: str) -> None:
    """A cloud target's clouds.yaml entry, as openstacksdk finds it
    ($OS_CLIENT_CONFIG_FILE first): a CloudRegion, or BadInput naming the
    file."""
    path = write(workdir / "clouds.yaml", data)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    environment["OS_CLIENT_CONFIG_FILE"] = str(path)
    with mock.patch.dict(os.environ, environment, clear=True):
        try:
            cloud_region(cloud)
        except BadInput as exc:
            assert str(path) in str(exc), str(exc)


def _ingest(store: Store, path: Path) -> None:
    """`container-ci stability ingest PATH`: each build whole, or nothing."""
    before = counts(store)
    try:
        ingested = list(ingest_path(store, path))
    except BadInput as exc:
        assert_names(exc, path)
        assert counts(store) == before
        return
    for item in (item for item in ingested if item.new):
        expected = len({result.test_id for result in item.build.results})
        stored = results_of(store, item.build.uuid)
        assert stored == expected, (item.build.uuid, stored, expected)


@given(data=subunit_streams)
def test_property_subunit_streams(workdir: Path, fuzz_store: Store, data: bytes) -> None:
    _ingest(fuzz_store, write(workdir / "results.subunit", data))


@given(data=junit_files)
def test_property_junit_xml(workdir: Path, fuzz_store: Store, data: bytes) -> None:
    _ingest(fuzz_store, write(workdir / "results.xml", data))


class _Session:
    """requests.Session answering from memory: the builds page at the API
    url, each artifact at its url, 404 elsewhere."""

    def __init__(self, page: bytes, artifacts: dict[str, bytes]) -> None:
        self.page = page
        self.artifacts = artifacts
        self.headers: dict[str, str] = {}

    def get(self, url: str, params: Any = None, **_kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.url = url
        response.status_code = 200
        if url.endswith("/builds"):
            # one page: the second answers an empty list
            response._content = self.page if not (params or {}).get("skip") else b"[]"
        else:
            found = next((d for u, d in self.artifacts.items() if url.startswith(u)), None)
            response.status_code = 404 if found is None else 200
            response._content = found if found is not None else b"not found"
        response._content_consumed = True
        return response


@given(page=zuul_pages())
def test_property_zuul_builds_api_pages(
    fuzz_store: Store, page: tuple[bytes, dict[str, bytes]]
) -> None:
    """`container-ci stability ingest-zuul --subunit`: builds from a page,
    each stored whole; a refusal names the API url or the artifact's."""
    body, artifacts = page
    client = ZuulClient(BASE_URL, "openstack", retries=0, page_size=50)
    client.session = _Session(body, artifacts)  # type: ignore[assignment]
    problems: list[str] = []
    try:
        for build in read_zuul_builds(client, {}, None, ["x.subunit"], problems.append):
            if record_build(fuzz_store, build):  # new: stored whole
                stored = results_of(fuzz_store, build.uuid)
                assert stored == len({result.test_id for result in build.results})
    except BadInput as exc:
        assert str(exc).startswith(f"{client.api}/tenant/openstack/builds"), str(exc)
    for problem in problems:  # each names the artifact (log_url/x.subunit)
        assert re.match(r"\S*x\.subunit: ", problem), problem


# --- regressions: the bombs of issue 17 ---------------------------------------

# Ten levels of nine references: 9**9 nodes once walked, 1 KB of text.
LAUGHS = "\n".join(
    ['a0: &a0 ["lol"]'] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
)


def _bomb_in(seed: str) -> bytes:
    return (LAUGHS + "\n" + seed).encode()


REFUSED_LAUGHS = re.compile(r":\d+: refused: expands to more than 100,000 nodes")


def test_alias_bomb_scenario_is_refused(workdir: Path) -> None:
    path = write(workdir / "bomb" / "scenario.yaml", _bomb_in("steps: *a9\n"))
    with pytest.raises(BadInput) as caught:
        loader.load_scenario(path)
    assert_file_line(caught.value, path)
    assert REFUSED_LAUGHS.search(str(caught.value))


def test_alias_bomb_capabilities_is_refused(workdir: Path) -> None:
    path = write(workdir / "bomb" / "capabilities.yaml", _bomb_in(CAPABILITY_SEEDS[0]))
    with pytest.raises(BadInput, match=REFUSED_LAUGHS):
        loader.load_capabilities(path)


def test_alias_bomb_promotion_policy_is_refused(workdir: Path) -> None:
    path = write(workdir / "bomb" / "promotion.yaml", _bomb_in(POLICY_SEEDS[0]))
    with pytest.raises(BadInput, match=REFUSED_LAUGHS):
        load_policy(path)


def test_alias_bomb_zuul_d_is_refused_by_zuul_check(workdir: Path) -> None:
    bomb = "- job:\n    name: bomb\n    vars:\n" + "\n".join(
        "      " + line for line in LAUGHS.splitlines()
    )
    path = write(workdir / "bomb" / "zuul.d" / "bomb.yaml", bomb.encode())
    code, err = cli(["zuul", "check", str(path.parent)])
    assert code == 2
    assert err.startswith(f"container-ci: {path}:")
    assert REFUSED_LAUGHS.search(err), err


def test_alias_bomb_clouds_yaml_is_refused_before_openstacksdk(workdir: Path) -> None:
    """openstacksdk normalises the keys of every nested mapping into new
    ones: before the bound, a 1 KB clouds.yaml filled 2 GB in 10 s."""
    mappings = ["      a0: &a0 {x: lol}"] + [
        f"      a{i}: &a{i} {{{', '.join(f'k{j}: *a{i - 1}' for j in range(9))}}}"
        for i in range(1, 10)
    ]
    text = "clouds:\n  bomb:\n    auth: {auth_url: 'http://127.0.0.1:5000/v3'}\n    extra:\n"
    path = write(workdir / "bomb" / "clouds.yaml", (text + "\n".join(mappings) + "\n").encode())
    with (
        mock.patch.dict(os.environ, {"OS_CLIENT_CONFIG_FILE": str(path)}),
        pytest.raises(BadInput, match=REFUSED_LAUGHS),
    ):
        cloud_region("bomb")


@pytest.mark.parametrize(
    "text, problem",
    [
        ("cycle: &c [1, *c]\n", "alias *c is inside the node it names"),
        ("[" * 100_000, "nested deeper than 32 levels"),
        ("a:\n" + "".join("  " * i + "k:\n" for i in range(1, 40)), "nested deeper than 32"),
        ("a: [" + ", ".join(["x"] * 100_001) + "]\n", "expands to more than 100,000 nodes"),
    ],
    ids=["cycle", "deep-flow", "deep-block", "too-many-nodes"],
)
def test_yaml_bounds_refuse_with_file_and_line(workdir: Path, text: str, problem: str) -> None:
    path = write(workdir / "bound.yaml", text.encode())
    with pytest.raises(BadInput) as caught:
        load_policy(path)
    assert_file_line(caught.value, path)
    assert f"refused: {problem}" in str(caught.value)


def test_yaml_over_the_size_bound_is_refused_unread(workdir: Path) -> None:
    path = write(workdir / "big.yaml", b"# " + b"x" * (1024 * 1024) + b"\n")
    with pytest.raises(BadInput, match=r"big.yaml:1: refused: larger than 1,048,576 bytes"):
        loader.load_scenario(path)


def test_real_zuul_configurations_stay_within_the_bounds() -> None:
    """This repository's zuul.d and the upstream ones it is checked against
    (when the shared copy is there) load: the bounds refuse none of them."""
    from container_ci.yaml_source import load_yaml

    files = sorted((REPO / "zuul.d").glob("*.yaml"))
    upstream = REPO.parent / "shared" / "upstream"
    files += sorted(upstream.glob("*/*/zuul.d/*.yaml")) + sorted(upstream.glob("*/*/.zuul.yaml"))
    for path in files:
        load_yaml(path)


XML_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE testsuite [\n<!ENTITY l0 "lol">\n'
    + b"".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n'.encode() for i in range(1, 10))
    + b']>\n<testsuite name="s"><testcase classname="a" name="b">'
    + b'<failure message="&l9;"/></testcase></testsuite>\n'
)


def test_xml_entity_bomb_is_refused_with_its_line(workdir: Path, fuzz_store: Store) -> None:
    path = write(workdir / "bomb" / "results.xml", XML_LAUGHS)
    before = counts(fuzz_store)
    with pytest.raises(BadInput, match=r"results.xml:3: refused: declares the entity 'l0'"):
        list(ingest_path(fuzz_store, path))
    assert counts(fuzz_store) == before


def test_xml_external_entity_is_refused(workdir: Path, fuzz_store: Store) -> None:
    xxe = (
        b'<?xml version="1.0"?>\n<!DOCTYPE testsuite [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'\n<testsuite><testcase name="a"><failure>&x;</failure></testcase></testsuite>'
    )
    path = write(workdir / "bomb" / "xxe.xml", xxe)
    with pytest.raises(BadInput, match=r"xxe.xml:2: refused: declares the entity 'x'"):
        list(ingest_path(fuzz_store, path))


def test_gzip_bomb_subunit_is_refused_early(workdir: Path, fuzz_store: Store) -> None:
    """64 KB of gzip, 64 MB of zeros: refused by the ratio once 16 MiB are out."""
    path = write(workdir / "bomb" / "zeros.subunit.gz", gzip.compress(bytes(64 * 1024 * 1024)))
    with pytest.raises(BadInput, match=r"zeros.subunit.gz: refused: a gzip that expands"):
        list(ingest_path(fuzz_store, path))


def test_the_bombs_as_a_zuul_artifact_are_reported_not_stored(fuzz_store: Store) -> None:
    build = {"uuid": "bomb" * 8, "job_name": "j", "result": "SUCCESS", "log_url": BASE_URL + "/l/"}
    client = ZuulClient(BASE_URL, "openstack", retries=0)
    artifacts = {BASE_URL + "/l/": gzip.compress(bytes(32 * 1024 * 1024))}
    client.session = _Session(json.dumps([build]).encode(), artifacts)  # type: ignore[assignment]
    problems: list[str] = []
    assert list(read_zuul_builds(client, {}, None, ["x.subunit.gz"], problems.append)) == []
    assert problems == [f"{BASE_URL}/l/x.subunit.gz: refused: a gzip that expands more than 100:1 "
                        "(a subunit stream gzips about 8:1)"]  # fmt: skip


# --- regressions: what the fuzzing found ---------------------------------------


def test_yaml_that_is_not_utf8_names_its_line(workdir: Path) -> None:
    path = write(workdir / "found" / "latin1.yaml", b"name: x\ndescription: caf\xe9\n")
    with pytest.raises(BadInput, match=r"latin1.yaml:2: not UTF-8: invalid continuation byte"):
        loader.load_scenario(path)


def test_policy_stages_that_are_not_names(workdir: Path) -> None:
    """`stages: [~]` was a TypeError joining the stage names for a message."""
    text = POLICY_SEEDS[0].replace("stages: [experimental,", "stages: [~, experimental,")
    path = write(workdir / "found" / "promotion.yaml", text.encode())
    with pytest.raises(BadInput, match=r"promotion.yaml:\d+: stages: a list of stage names"):
        load_policy(path)


def test_junit_time_that_is_not_a_number(workdir: Path, fuzz_store: Store) -> None:
    """junitparser's float() of `time` was a ValueError traceback."""
    path = write(
        workdir / "found" / "time.xml", b'<testsuite><testcase name="a" time=":"/></testsuite>'
    )
    with pytest.raises(BadInput, match=r"time.xml: testcase a: its time is not a number"):
        list(ingest_path(fuzz_store, path))


@pytest.mark.parametrize(
    "page, message",
    [
        (b"<html>502</html>", "builds: not JSON: "),
        (b"[null]", "builds: build 0: expected an object, got NoneType"),
        (b'[{"uuid": "u", "job_name": "j", "result": "SUCCESS", "start_time": true}]',
         "builds: build u: start_time: True is not a time"),
        (b'[{"uuid": "u", "job_name": "j", "result": "SUCCESS", "end_time": "0"}]',
         "builds: build u: end_time: '0' is not a time"),
        (b'[{"uuid": "u", "job_name": "j", "result": "SUCCESS", "buildset": "x", "voting": 1}]',
         "builds: build u: voting: 1 is not true or false"),
        (b'[{"uuid": "u", "job_name": "j", "result": "SUCCESS", "change": "I7a"}]',
         "builds: build u: change: 'I7a' is not a change number"),
        (b'[{"uuid": null, "job_name": "j", "result": "SUCCESS"}]',
         "builds: a build without 'uuid'"),
    ],
    ids=["not-json", "not-an-object", "time-not-str", "time-not-iso", "voting", "change", "uuid"],
)  # fmt: skip
def test_zuul_build_fields_of_the_wrong_type(page: bytes, message: str) -> None:
    client = ZuulClient(BASE_URL, "openstack", retries=0)
    client.session = _Session(page, {})  # type: ignore[assignment]
    with pytest.raises(BadInput) as caught:
        list(read_zuul_builds(client, {}, None, None, lambda _problem: None))
    assert str(caught.value).startswith(f"{BASE_URL}/api/tenant/openstack/"), str(caught.value)
    assert message in str(caught.value)


def test_zuul_log_url_that_is_not_a_string_has_no_artifact() -> None:
    """A log_url of `true` was an AttributeError fetching the artifact."""
    build = {"uuid": "u", "job_name": "j", "result": "SUCCESS", "log_url": True}
    client = ZuulClient(BASE_URL, "openstack", retries=0)
    client.session = _Session(json.dumps([build]).encode(), {})  # type: ignore[assignment]
    with pytest.raises(BadInput, match=r"build u: log_url: True is not a string"):
        list(read_zuul_builds(client, {}, None, ["x"], lambda _problem: None))


SDK = r"clouds.yaml: cloud 'fuzz': settings openstacksdk cannot use: "


@pytest.mark.parametrize(
    "text, message",
    [
        # not a mapping: openstacksdk's ConfigException escaped as a traceback
        ("just a string\n", r"clouds.yaml:1: Configuration file .* not a valid mapping"),
        # not YAML to PyYAML: openstacksdk skipped it and read ~/.config's instead
        ("$\t\n", r"clouds.yaml:1: invalid YAML: found character '\\t'"),
        ("clouds:\n  x:\n    auth: {a: *u}\n", r"clouds.yaml:3: invalid YAML: found undefined"),
        # shapes openstacksdk takes for granted: TypeError, AttributeError
        ("clouds:\n", r"clouds.yaml:1: clouds: must map cloud names to settings"),
        ("clouds: a string\n", r"clouds.yaml:1: clouds: must map cloud names to settings"),
        ("clouds:\n  fuzz:\n", r"clouds.yaml:2: clouds: 'fuzz': each cloud is a name mapped"),
        ("clouds:\n  0: {auth: {}}\n", r"clouds.yaml:2: clouds: '0': each cloud is a name mapped"),
        # settings openstacksdk fails on in its own code
        ("clouds:\n  fuzz:\n    region_name:\n", SDK + "AttributeError"),
        ("clouds:\n  fuzz:\n    auth:\n", SDK + "TypeError"),
        ("clouds:\n  fuzz:\n    auth: [a]\n", SDK + "ValueError"),
        ("clouds:\n  fuzz:\n    auth: {auth_url: h, ':u': 0}\n", SDK + "TypeError: .*keyword"),
        ("clouds:\n  fuzz:\n    auth: {auth_url: h}\n    x: \"'}\"\n", SDK + "ValueError: Single"),
    ],
    ids=["not-mapping", "tab", "undefined-alias", "clouds-null", "clouds-str", "entry-null",
         "name-int", "region-null", "auth-null", "auth-list", "auth-key", "format-brace"],
)  # fmt: skip
def test_clouds_yaml_openstacksdk_cannot_use(workdir: Path, text: str, message: str) -> None:
    path = write(workdir / "found" / "clouds.yaml", text.encode())
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    environment["OS_CLIENT_CONFIG_FILE"] = str(path)
    with mock.patch.dict(os.environ, environment, clear=True), pytest.raises(BadInput) as caught:
        cloud_region("fuzz")
    assert str(path) in str(caught.value)
    assert re.search(message, str(caught.value)), str(caught.value)


@pytest.mark.parametrize(
    "value",
    ["!!int x", "!!bool x", "!!float x", "2001-13-45", "!!timestamp 2001-99-99", "9" * 5000],
    ids=["int", "bool", "float", "date", "timestamp", "digits"],
)
def test_yaml_scalar_ruamel_cannot_convert_names_its_line(workdir: Path, value: str) -> None:
    """ruamel let the conversion's ValueError or KeyError through."""
    path = write(workdir / "found" / "scalar.yaml", f"name: x\ndescription: {value}\n".encode())
    with pytest.raises(BadInput, match=r"scalar.yaml:2: invalid YAML: cannot read '"):
        loader.load_scenario(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        ("promote: true\n", r"sections.yaml:2: promote: a mapping of stage to rule"),
        ("jobs: [a, b]\n", r"sections.yaml:2: jobs: a mapping of job to stage"),
    ],
    ids=["promote-bool", "jobs-list"],
)
def test_policy_sections_that_are_not_mappings(workdir: Path, edit: str, message: str) -> None:
    """`(document.get(section) or {}).items()` was an AttributeError."""
    path = write(workdir / "found" / "sections.yaml", f"stages: [experimental]\n{edit}".encode())
    with pytest.raises(BadInput, match=message):
        load_policy(path)


def test_zuul_job_vars_that_are_a_list(workdir: Path, zuul_options: CheckOptions) -> None:
    """The plugin-regex check merged a list of vars as a dict: AttributeError."""
    text = ZUUL_SEEDS[0].replace("    vars:\n", "    vars: [a]\n    x-vars:\n", 1)
    path = write(workdir / "found" / "zuul.d" / "vars.yaml", text.encode())
    assert "vars: [a]" in text
    problems = [str(problem) for problem in check([path], zuul_options).problems]
    assert any(": vars: expected dict" in problem for problem in problems), problems


def test_subunit_v1_that_is_not_utf8(workdir: Path, fuzz_store: Store) -> None:
    path = write(workdir / "found" / "v1.subunit", b"test: a\xff\nsuccess: a\xff\n")
    with pytest.raises(BadInput, match=r"v1.subunit: subunit v1 that is not UTF-8"):
        list(ingest_path(fuzz_store, path))


def test_clouds_yaml_pyyaml_cannot_construct(workdir: Path) -> None:
    """`!$` parses but has no constructor: openstacksdk skipped the file and
    looked for the cloud in ~/.config/openstack/clouds.yaml."""
    path = write(workdir / "found" / "tag" / "clouds.yaml", b"!$")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    environment["OS_CLIENT_CONFIG_FILE"] = str(path)
    with (
        mock.patch.dict(os.environ, environment, clear=True),
        pytest.raises(BadInput, match=r"clouds.yaml:1: invalid YAML: could not determine a const"),
    ):
        cloud_region("fuzz")


def test_yaml_mapping_as_a_key_names_its_line(workdir: Path) -> None:
    """A mapping as a mapping key: ruamel's TypeError (unhashable CommentedMap)."""
    path = write(workdir / "found" / "key.yaml", b"targets:\n  ? {a: {b: 1}}\n  : x\n")
    with pytest.raises(BadInput, match=r"key.yaml:2: invalid YAML: cannot read this node"):
        loader.load_capabilities(path)


def test_policy_infrastructure_results_that_is_not_a_list(workdir: Path) -> None:
    path = write(workdir / "found" / "infra.yaml", b"stages: [a]\ninfrastructure_results: 7\n")
    with pytest.raises(BadInput, match=r"infra.yaml:2: infrastructure_results: a list"):
        load_policy(path)


def test_zuul_var_location_with_vars_not_a_mapping(
    workdir: Path, zuul_options: CheckOptions
) -> None:
    """A child job sets vars: 7 under a parent with the plugin's regex: TypeError."""
    text = (
        "- job:\n    name: p\n    parent: devstack-tempest\n"
        "    vars:\n      tempest_test_regex: '(x'\n      tox_envlist: all\n"
        "      tempest_plugins: [container-ci]\n"
        "- job:\n    name: c\n    parent: p\n    vars: 7\n"
    )
    path = write(workdir / "found" / "zuul.d" / "varint.yaml", text.encode())
    problems = [str(problem) for problem in check([path], zuul_options).problems]
    assert f"{path}:11: job c: vars: expected dict" in problems, problems


def test_junit_encoding_python_does_not_know(workdir: Path, fuzz_store: Store) -> None:
    xml = b'<?xml version="1.0" encoding="tf-8"?><testsuite><testcase name="a"/></testsuite>'
    path = write(workdir / "found" / "encoding.xml", xml)
    with pytest.raises(BadInput, match=r"encoding.xml:1: not well-formed JUnit XML: .*tf-8"):
        list(ingest_path(fuzz_store, path))


@pytest.mark.parametrize(
    "text",
    ["!!int -1\n\n $ x'", "!!int :\np:\n  u:\n"],
    ids=["int-value", "int-empty"],
)
def test_clouds_yaml_value_pyyaml_cannot_convert(workdir: Path, text: str) -> None:
    """yaml.safe_load's int() of them: a ValueError (openstacksdk skipped
    the file) or an IndexError (a traceback)."""
    path = write(workdir / "found" / "int" / "clouds.yaml", text.encode())
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    environment["OS_CLIENT_CONFIG_FILE"] = str(path)
    with (
        mock.patch.dict(os.environ, environment, clear=True),
        pytest.raises(BadInput, match=r"clouds.yaml:1: invalid YAML: cannot read"),
    ):
        cloud_region("fuzz")


def test_yaml_tagged_mapping_key_names_its_line(workdir: Path) -> None:
    """`!! name: b` passed the schema (as the string `name`) and then was no
    `name` to the parser: KeyError."""
    text = SCENARIO_SEEDS[0].replace("name:", "!! name:", 1)
    path = write(workdir / "found" / "tagged.yaml", text.encode())
    with pytest.raises(BadInput, match=r"tagged.yaml:1: invalid YAML: a mapping key with a tag"):
        loader.load_scenario(path)


def test_zuul_devstack_local_conf_null(workdir: Path, zuul_options: CheckOptions) -> None:
    """`devstack_local_conf: null` on a plugin job: AttributeError reading the driver."""
    text = (
        "- job:\n    name: p\n    parent: devstack-tempest\n"
        "    vars:\n      tempest_test_regex: container_ci\n"
        "      tempest_exclude_regex: ''\n      tempest_plugins: [container-ci]\n"
        "      tempest_exclude_list: jobs/exclude/libvirt-lxc.txt\n"
        "      devstack_local_conf:\n"
    )
    path = write(workdir / "found" / "zuul.d" / "localconf.yaml", text.encode())
    check([path], zuul_options)


def test_tagged_zuul_document_has_lines(workdir: Path, zuul_options: CheckOptions) -> None:
    """`!0` before the stanzas: ruamel keeps no item positions for a tagged
    sequence, and line_of subscripted None (TypeError)."""
    path = write(workdir / "found" / "zuul.d" / "tagged.yaml", b"!0\n- job:\n    name: x\n- 7\n")
    problems = [str(problem) for problem in check([path], zuul_options).problems]
    assert f"{path}:1: a stanza is a mapping with one key (job, project, ...)" in problems


@pytest.mark.parametrize(
    "driver, message",
    [("'0'", "compute_driver '0': "), ("true", "compute_driver True: not a name")],
    ids=["unknown", "bool"],
)
def test_zuul_compute_driver_the_matrix_has_no_row_for(
    workdir: Path, zuul_options: CheckOptions, driver: str, message: str
) -> None:
    """An unknown driver was the matrix's BadInput (naming capabilities.yaml,
    not the job); a boolean one a TypeError."""
    src = '{{ zuul.projects["opendev.org/openstack/container-ci"].src_dir }}'
    text = (
        "- job:\n    name: p\n    parent: devstack-tempest\n    vars:\n"
        "      tempest_test_regex: '^tempest_plugin\\.tests'\n"
        "      tempest_plugins: [container-ci]\n"
        f"      tempest_exclude_list: '{src}/jobs/exclude/libvirt-lxc.txt'\n"
        "      devstack_local_conf:\n        test-config:\n          $TEMPEST_CONFIG:\n"
        f"            container_ci:\n              compute_driver: {driver}\n"
    )
    path = write(workdir / "found" / "zuul.d" / "driver.yaml", text.encode())
    problems = [str(problem) for problem in check([path], zuul_options).problems]
    assert any(p.startswith(f"{path}:7: job p: {message}") for p in problems), problems

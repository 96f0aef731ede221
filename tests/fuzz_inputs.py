"""Hypothesis strategies for every input container-ci parses, for the fuzz
properties of tests/unit/test_fuzz_inputs.py (and bench/fuzz, which runs
them with the `bench` profile).

Each input kind gets three families, drawn alike:
- mutations of real files: the shipped scenarios, capabilities.yaml,
  jobs/promotion.yaml, zuul.d/*.yaml; subunit and JUnit files written by
  the same libraries and writers the harness and tempest use;
- structured near-valid documents: a real document with values replaced,
  keys dropped or added, types swapped, aliases and anchors woven in;
- raw garbage bytes, and the known bombs (nested aliases, alias cycles,
  XML entities, gzip of zeros) at small sizes."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import subunit
from hypothesis import strategies as st
from ruamel.yaml import YAML

from container_ci.scenarios import catalogue
from container_ci.yaml_source import to_plain
from tests.fakes.stability_data import TEMPEST_TESTS, subunit_stream
from tests.fakes.zuul_api import zuul_build

REPO = Path(__file__).resolve().parent.parent

# --- seeds -----------------------------------------------------------------


def _texts(paths: list[Path]) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in paths]


SCENARIO_SEEDS = _texts(catalogue.shipped_scenarios())
CAPABILITY_SEEDS = _texts([catalogue.default_matrix()])
POLICY_SEEDS = _texts([REPO / "jobs" / "promotion.yaml"])
ZUUL_SEEDS = _texts(sorted((REPO / "zuul.d").glob("*.yaml")))
CLOUDS_SEEDS = [
    """clouds:
  fuzz:
    auth:
      auth_url: http://127.0.0.1:5000/v3
      username: admin
      password: secret
      project_name: admin
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: public
  other:
    auth_type: password
    auth: {auth_url: 'https://keystone.example.org/v3', username: u, password: p}
    verify: false
    compute_api_version: '2.37'
"""
]

# --- YAML ------------------------------------------------------------------

YAML_TOKENS = [
    ": ", "- ", "-", "[", "]", "{", "}", ",", "&a ", "*a", "&b ", "*b", "<<: *a\n",
    "!!str ", "!!int ", "!!binary ", "!!python/object/apply:os.system ", "!custom ",
    "? ", "|\n", ">-\n", "'", '"', "#", "\t", "\n", "  ", "    ", "---\n", "...\n",
    "%YAML 1.2\n", "%TAG ! tag:x,2000:\n", "~", "null", "true", "no", "0x1F", "0o17",
    "1e309", "-.inf", ".nan", "2001-12-14t21:59:43.10-05:00", "2001-13-45", "12:30:45",
    "9" * 5000, "\x00", "\ufeff", "\u2028", "\x85", "é", "\U0001f600", "\\", "\r\n", "%",
    "@", "`", "=", "op: ", "steps:", "instance: ", "expect: ", "supported",
    "unsupported: ", "- job:\n    name: ", "clouds:", "auth:",
]  # fmt: skip


@st.composite
def mutated_text(draw: st.DrawFn, seeds: list[str]) -> str:
    """A seed with a few edits: tokens inserted, slices dropped, duplicated
    or swapped, lines replaced; the edits of a fuzzer working on text."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 5))):
        size = len(text)
        start = draw(st.integers(0, size))
        end = draw(st.integers(start, min(size, start + 200)))
        edit = draw(st.sampled_from(["insert", "drop", "duplicate", "swap", "replace", "cut"]))
        if edit == "insert":
            piece = draw(st.sampled_from(YAML_TOKENS) | st.text(max_size=12))
            text = text[:start] + piece + text[start:]
        elif edit == "drop":
            text = text[:start] + text[end:]
        elif edit == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        elif edit == "swap":
            other = draw(st.integers(0, size))
            text = text[:start] + text[other : other + (end - start)] + text[end:]
        elif edit == "replace":
            lines = text.split("\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index] = draw(st.text(max_size=40) | st.sampled_from(YAML_TOKENS))
            text = "\n".join(lines)
        else:
            text = text[:end]
    return text


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["supported", "boot", "exec", "vm", "base", "active", "gate", "fuzz"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from(["op", "name"]), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _plain(text: str) -> Any:
    return to_plain(YAML(typ="rt").load(text))


@st.composite
def mutated_document(draw: st.DrawFn, seeds: list[str]) -> str:
    """A seed parsed, then values replaced, keys dropped or added at random
    places, dumped again as YAML (block or flow) or JSON."""
    document = _plain(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(_paths(document)))
        if not where:
            document = draw(values) if draw(st.integers(0, 9)) == 0 else document
            continue
        parent = document
        for part in where[:-1]:
            parent = parent[part]
        last = where[-1]
        edit = draw(st.sampled_from(["replace", "drop", "add", "wrap"]))
        if edit == "replace":
            parent[last] = draw(values)
        elif edit == "drop":
            del parent[last]
        elif edit == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(values)
        elif edit == "add":
            parent.insert(last, draw(values))
        else:
            parent[last] = [parent[last]] if draw(st.booleans()) else {"x": parent[last]}
    style = draw(st.sampled_from(["block", "flow", "json"]))
    if style == "json":
        return json.dumps(document)
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = style == "flow"
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


@st.composite
def aliased(draw: st.DrawFn, seeds: list[str]) -> str:
    """A seed with anchors and aliases woven in: a billion-laughs block of
    small size, an alias cycle, a merge key, or an alias of a real node."""
    text = draw(st.sampled_from(seeds))
    kind = draw(st.sampled_from(["laughs", "cycle", "merge", "reuse"]))
    if kind == "laughs":
        levels, refs = draw(st.integers(1, 12)), draw(st.integers(1, 12))
        lines = ['l0: &l0 ["lol"]']
        lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * refs)}]" for i in range(1, levels)]
        block = "\n".join(lines)
        return (
            block + "\n" + text
            if draw(st.booleans())
            else text.replace("\n", "\n" + block + "\n", 1)
        )
    if kind == "cycle":
        return text + "\ncycle: &c [1, *c]\n"
    if kind == "merge":
        return "base: &base {op: boot, instance: vm}\n" + text + "\nmerged: {<<: *base}\n"
    lines = text.split("\n")
    index = draw(st.integers(0, len(lines) - 1))
    if ": " in lines[index]:
        key, value = lines[index].split(": ", 1)
        lines[index] = f"{key}: &r {value}"
        lines.append("reused: *r")
    return "\n".join(lines)


def yaml_files(seeds: list[str]) -> st.SearchStrategy[bytes]:
    """Bytes of a YAML file: the seeds mutated as text or as documents, with
    aliases, or garbage."""
    texts = (
        st.sampled_from(seeds)
        | mutated_text(seeds)
        | mutated_document(seeds)
        | aliased(seeds)
        | st.text(max_size=300)
    )
    return texts.map(lambda text: text.encode("utf-8", "surrogatepass")) | st.binary(max_size=500)


# --- subunit ---------------------------------------------------------------

STATUSES = ["inprogress", "success", "fail", "skip", "xfail", "uxsuccess", "exists", None]
SUBUNIT_SEEDS = [
    subunit_stream(TEMPEST_TESTS),
    subunit_stream(TEMPEST_TESTS[:1]),
    b"test: a.b.c\nsuccess: a.b.c\ntest: a.b.d\nfailure: a.b.d [\nboom\n]\n",  # subunit v1
]
# subunit v2 carries seconds since 1970 in 32 bits
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2106, 1, 1), timezones=st.just(UTC)
)


@st.composite
def subunit_events(draw: st.DrawFn) -> bytes:
    """A stream written by python-subunit from random events: statuses,
    attachments, tags, timestamps anywhere in subunit's range."""
    buffer = io.BytesIO()
    stream = subunit.StreamResultToBytes(buffer)
    names = draw(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4))
    for _ in range(draw(st.integers(1, 12))):
        kwargs: dict[str, Any] = {"test_id": draw(st.sampled_from(names))}
        status = draw(st.sampled_from(STATUSES))
        if status is not None:
            kwargs["test_status"] = status
        if draw(st.booleans()):
            kwargs["timestamp"] = draw(moments)
        if draw(st.integers(0, 3)) == 0:
            kwargs["test_tags"] = set(
                draw(st.lists(st.sampled_from(["infrastructure", "worker-0", "x"]), max_size=2))
            )
        if draw(st.integers(0, 2)) == 0:
            kwargs["file_name"] = draw(st.sampled_from(["traceback", "reason", "stdout", "x"]))
            kwargs["file_bytes"] = draw(st.binary(max_size=60))
            kwargs["mime_type"] = "text/plain;charset=utf8"
            kwargs["eof"] = True
        stream.status(**kwargs)
    return buffer.getvalue()


@st.composite
def mutated_bytes(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """Bytes with a few flips, cuts, splices and duplications."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        size = len(data)
        start = draw(st.integers(0, size))
        end = draw(st.integers(start, min(size, start + 64)))
        edit = draw(st.sampled_from(["flip", "cut", "drop", "duplicate", "insert"]))
        if edit == "flip" and size:
            index = draw(st.integers(0, size - 1))
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif edit == "cut":
            del data[end:]
        elif edit == "drop":
            del data[start:end]
        elif edit == "duplicate":
            data[end:end] = data[start:end]
        else:
            data[start:start] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def _gzipped(strategy: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return strategy.map(gzip.compress)


subunit_streams: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(SUBUNIT_SEEDS),
    subunit_events(),
    mutated_bytes(st.sampled_from(SUBUNIT_SEEDS) | subunit_events()),
    _gzipped(st.sampled_from(SUBUNIT_SEEDS) | subunit_events()),
    mutated_bytes(_gzipped(st.sampled_from(SUBUNIT_SEEDS))),
    st.binary(max_size=400).filter(lambda data: not data.lstrip().startswith(b"<")),
)
"""Bytes of a subunit file (the ingest reads anything not starting with `<`
as subunit, gzipped or not, v1 or v2)."""

# --- JUnit XML -------------------------------------------------------------

JUNIT_SEEDS = [
    # pytest's shape
    b"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
 failures="1" skipped="1" tests="3" time="1.2" timestamp="2026-11-01T12:00:00.123456"
 hostname="h"><testcase classname="tests.test_a" name="test_ok" time="0.1"/>
<testcase classname="tests.test_a" name="test_bad" time="0.5"><failure message="assert 1 == 2">
Traceback
AssertionError</failure></testcase><testcase classname="tests.test_a" name="test_skip"
 time="0.0"><skipped type="pytest.skip" message="no docker">skip</skipped></testcase>
</testsuite></testsuites>""",
    # subunit2junitxml's shape (a bare testsuite)
    b"""<testsuite errors="1" failures="0" name="" tests="2" time="3.5">
<testcase classname="tempest.api.compute.servers.test_x.T" name="test_a[id-1]" time="1.5"/>
<testcase classname="tempest.api.compute.servers.test_x.T" name="test_b" time="2.000">
<error type="infrastructure" message="node lost">lost</error></testcase>
</testsuite>""",
]
XML_TOKENS = [
    b"<", b">", b"/>", b"</testcase>", b"<testcase name='x'>", b"<failure/>", b"<skipped/>",
    b"<error type='infrastructure'/>", b"&amp;", b"&lt;", b"&#0;", b"&#x110000;", b"&e;",
    b"<![CDATA[x]]>", b"<!-- c -->", b"<?pi x?>", b" time='abc'", b" time='1e400'",
    b" time='nan'", b" timestamp='2026-13-45T99:00:00'", b" timestamp='x'", b" name=''",
    b"\x00", b"\xff\xfe", b"\xc3\x28", b"'", b'"', b"=",
    b'<!DOCTYPE t [<!ENTITY e "lol">]>',
    b'<!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE t SYSTEM "http://127.0.0.1:9/x.dtd">',
]  # fmt: skip


@st.composite
def junit_documents(draw: st.DrawFn) -> bytes:
    """JUnit XML built from random suites, cases and outcomes, attribute
    values anything (times that are not numbers, names empty or odd)."""
    attribute = st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=15
    ) | st.sampled_from(["1.5", "-1", "1e400", "nan", "", "2026-11-01T12:00:00", "abc"])

    def attrs(names: list[str]) -> str:
        chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
        return "".join(f' {name}="{_escape(draw(attribute))}"' for name in chosen)  # noqa: B023 - drawn now

    suites = []
    for _ in range(draw(st.integers(0, 3))):
        cases = []
        for _ in range(draw(st.integers(0, 4))):
            outcome = draw(st.sampled_from(["", "failure", "error", "skipped"]))
            body = (
                f"<{outcome}{attrs(['message', 'type'])}>{_escape(draw(st.text(max_size=20)))}"
                f"</{outcome}>"
                if outcome
                else ""
            )
            cases.append(f"<testcase{attrs(['name', 'classname', 'time'])}>{body}</testcase>")
        suites.append(
            f"<testsuite{attrs(['name', 'timestamp', 'time', 'tests'])}>{''.join(cases)}"
            "</testsuite>"
        )
    root = draw(st.sampled_from(["testsuites", "testsuite", "other"]))
    if root == "testsuite" and suites:
        return suites[0].encode()
    return f"<{root}>{''.join(suites)}</{root}>".encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


@st.composite
def xml_bombs(draw: st.DrawFn) -> bytes:
    """The XML billion laughs (at a size that would parse) and an external entity."""
    levels, refs = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    entities = ['<!ENTITY l0 "lol">']
    entities += [f'<!ENTITY l{i} "{f"&l{i - 1};" * refs}">' for i in range(1, levels)]
    if draw(st.booleans()):
        entities.append('<!ENTITY x SYSTEM "file:///etc/hostname">')
    doc = (
        f"<?xml version='1.0'?><!DOCTYPE testsuite [{''.join(entities)}]>"
        f"<testsuite><testcase name='&l{levels - 1};'/></testsuite>"
    )
    return doc.encode()


@st.composite
def mutated_xml(draw: st.DrawFn) -> bytes:
    data = draw(st.sampled_from(JUNIT_SEEDS) | junit_documents())
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data)))
        if draw(st.booleans()):
            data = data[:start] + draw(st.sampled_from(XML_TOKENS)) + data[start:]
        else:
            data = data[:start] + data[start + draw(st.integers(1, 30)) :]
    return data


junit_files: st.SearchStrategy[bytes] = st.one_of(
    st.sampled_from(JUNIT_SEEDS),
    junit_documents(),
    mutated_xml(),
    xml_bombs(),
    st.binary(max_size=300).map(lambda data: b"<" + data),
)
"""Bytes of a JUnit file (the ingest reads a file starting with `<` as JUnit)."""

# --- Zuul builds API pages --------------------------------------------------

BASE_URL = "http://zuul.invalid"
BUILD_KEYS = [
    "uuid", "job_name", "result", "start_time", "end_time", "duration", "voting", "log_url",
    "final", "pipeline", "project", "branch", "change", "patchset", "ref", "nodeset",
    "node_name", "provider", "buildset",
]  # fmt: skip
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["2026-11-01T08:00:00", "2026-13-01T08:00:00", "SUCCESS", "-1", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@st.composite
def zuul_pages(draw: st.DrawFn) -> tuple[bytes, dict[str, bytes]]:
    """A builds page (JSON bytes: real build dicts with fields replaced,
    dropped or nested as Zuul 10+ does; or not a list, or not JSON) and
    the subunit artifact each log url serves."""
    kind = draw(st.sampled_from(["builds", "builds", "builds", "json", "garbage"]))
    if kind == "garbage":
        return draw(st.binary(max_size=200)), {}
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), {}
    builds: list[Any] = []
    artifacts: dict[str, bytes] = {}
    for index in range(draw(st.integers(0, 4))):
        build = zuul_build(index, BASE_URL, "container-ci-lxc", "SUCCESS")
        if draw(st.booleans()):  # Zuul 10+: the ref nested
            build["ref"] = {
                key: build.pop(key) for key in ("project", "branch", "change", "patchset")
            }
        for _ in range(draw(st.integers(0, 3))):
            key = draw(st.sampled_from(BUILD_KEYS))
            if draw(st.integers(0, 3)) == 0:
                build.pop(key, None)
            else:
                build[key] = draw(json_values)
        if draw(st.integers(0, 9)) == 0:
            builds.append(draw(json_values))
            continue
        builds.append(build)
        log_url = build.get("log_url")
        if isinstance(log_url, str) and draw(st.booleans()):
            artifacts[log_url] = draw(subunit_streams)
    return json.dumps(builds).encode(), artifacts

"""zuul.d is code: checked with Zuul's own schemas and this project's rules,
edited without losing anything, and the source of the devstack settings.
Nova's real configuration (tests/nova_files.py says where it is read from)
must pass too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from container_ci.zuul import plugin_tests
from container_ci.zuul.check import CheckOptions, UpstreamNames, check, effective_vars
from container_ci.zuul.config import load_config
from tests.helpers import REPO, run_cli
from tests.nova_files import nova_file, upstream_dir

ZUUL_D = REPO / "zuul.d"


@pytest.fixture
def nova_config() -> Path:
    return nova_file("zuul-config")


def zuul_check(*args: str | Path, cwd: Path = REPO) -> tuple[int, list[str]]:
    done = run_cli("zuul", "check", *args, cwd=cwd, in_process=True)
    return done.returncode, done.stdout.splitlines()


def test_the_repos_own_configuration_passes():
    code, out = zuul_check(ZUUL_D)
    assert code == 0, out
    assert out[-1].endswith(": OK")


def test_the_default_is_the_zuul_d_of_the_checkout_it_is_run_in(tmp_path):
    code, out = zuul_check(cwd=REPO / "zuul.d")
    assert (code, out[-1]) == (0, f"zuul check: {ZUUL_D}: OK")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    code, out = zuul_check(cwd=tmp_path)
    assert code == 2  # that checkout has no zuul.d/


@pytest.fixture
def broken(tmp_path):
    copy = tmp_path / "zuul.d"
    shutil.copytree(ZUUL_D, copy)

    def edit(name: str, old: str, new: str) -> Path:
        path = copy / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
        return path

    return copy, edit


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("name", "old", "new", "marker", "message"),
    [
        (
            "jobs.yaml",
            "    timeout: 7200\n",
            "    timeout: 7200\n    votng: false\n",
            "votng",
            "job container-ci-tempest-base: votng: unknown attribute 'votng'",
        ),
        (
            "project.yaml",
            "        - nova-lxc-tempest:\n            voting: false\n",
            "        - nova-lxc-tempest:\n            votng: false\n",
            "votng",
            "unknown attribute 'votng'",
        ),
        (
            "jobs.yaml",
            "    parent: devstack-tempest\n",
            "    parent: devstack-tempset\n",
            "devstack-tempset",
            "parent 'devstack-tempset' is not defined here nor declared upstream",
        ),
        (
            "jobs.yaml",
            "pre-run: jobs/playbooks/scenarios-pre.yaml",
            "pre-run: jobs/playbooks/scenarios-prep.yaml",
            "scenarios-prep",
            "pre-run playbook jobs/playbooks/scenarios-prep.yaml does not exist",
        ),
        (
            "jobs.yaml",
            r"(api\.container_service|scenario\.test_container)'",
            r"(api\.volume)'",
            r"api\.volume",
            "matches none of the plugin's",
        ),
        (
            "jobs.yaml",
            r"tempest_test_regex: '^tempest_plugin\.tests\.(api\.container_service",
            r"tempest_test_regex: '^tempest_plugin\.tests\.((api\.container_service",
            r"((api",
            "tempest_test_regex does not compile",
        ),
        (  # ran over 30 s under `re` (found by bench/fuzz): now answered at once
            "jobs.yaml",
            r"tempest_test_regex: '^tempest_plugin\.tests\.(api\.container_service"
            r"|scenario\.test_container)'",
            r"tempest_test_regex: '^(\w+\.?)+$!'",
            r"'^(\w+",
            "matches none of the plugin's",
        ),
        (
            "project.yaml",
            "    gate:\n      jobs:\n        - container-ci-tox-py3\n",
            "    gate:\n      jobs:\n        - container-ci-tox-py3:\n            voting: false\n",
            "container-ci-tox-py3:",
            "gate job container-ci-tox-py3 is non-voting",
        ),
        (
            "project.yaml",
            "        - container-service-tempest:\n",
            "        - container-service-tempest:\n            voting: false\n"
            "        - nova-hyperv-tempest:\n",
            "nova-hyperv-tempest",
            "job 'nova-hyperv-tempest' is not defined here",
        ),
    ],
)
def test_each_problem_is_reported_at_its_line(broken, name, old, new, marker, message):
    copy, edit = broken
    path = edit(name, old, new)
    code, out = zuul_check(copy, "--root", REPO, "--policy", REPO / "jobs" / "promotion.yaml")
    assert code == 1
    expected = f"{path}:{line_of(path, marker)}: "
    assert any(line.startswith(expected) and message in line for line in out), out


def check_with_exclude_entry(tmp_path: Path, entry: str) -> tuple[Path, int, list[str]]:
    """`zuul check` of a copy of the repository whose libvirt-lxc exclude
    list ends with `entry`: the list, the entry's line, the problems."""
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "zuul.d", repo / "zuul.d")
    shutil.copytree(REPO / "jobs", repo / "jobs")
    exclude = repo / "jobs" / "exclude" / "libvirt-lxc.txt"
    exclude.write_text(exclude.read_text() + entry + "\n")
    result = check([repo / "zuul.d"], CheckOptions(upstream=UpstreamNames.shipped(), root=repo))
    last = len(exclude.read_text().splitlines())
    return exclude, last, [str(problem) for problem in result.problems]


def test_an_exclude_entry_matching_nothing_and_a_stale_list(tmp_path):
    exclude, last, messages = check_with_exclude_entry(
        tmp_path, "^tempest_plugin\\.tests\\.no_such_test"
    )
    entry = "'^tempest_plugin\\\\.tests\\\\.no_such_test'"
    assert f"{exclude}:{last}: exclude entry {entry} matches no test" in messages
    assert f"{exclude}:1: out of date with the capability matrix for libvirt-lxc" in " ".join(
        messages
    )


def test_an_exclude_entry_that_backtracks_for_ever_is_stopped_at_its_line(tmp_path):
    """An exclude entry from a change under review that the matcher cannot
    finish (exponential backtracking on every test id) is reported at its
    line once its time bound is spent, instead of holding the check."""
    exclude, last, messages = check_with_exclude_entry(tmp_path, "^(\\w+?\\.?)+?(?<=x)$")
    slow = [message for message in messages if "catastrophic backtracking" in message]
    assert slow and slow[0].startswith(f"{exclude}:{last}: exclude entry "), slow
    assert f"over {plugin_tests.MATCH_SECONDS:g} s" in slow[0]


def test_malformed_yaml_names_file_and_line(broken):
    copy, edit = broken
    path = edit("jobs.yaml", "    abstract: true\n", "    abstract: [true\n")
    done = run_cli("zuul", "check", copy, in_process=True)
    assert done.returncode == 2
    assert f"{path}:" in done.stderr


def test_novas_real_configuration_has_no_false_errors(nova_config):
    code, out = zuul_check(nova_config, "--no-files")
    assert code == 0, out


def test_novas_configuration_kept_as_data_is_not_blamed_for_its_playbooks(nova_config, tmp_path):
    """Without Nova's tree beside it, its playbooks are not checked (and it
    says so); with a playbooks/ directory that lacks them, they are errors."""
    kept = tmp_path / "kept" / "nova.zuul.yaml"
    kept.parent.mkdir()
    kept.write_text(nova_config.read_text())
    code, out = zuul_check(kept)
    assert code == 0, out
    assert "playbooks not checked" in out[0]
    copy = tmp_path / ".zuul.yaml"
    copy.write_text(nova_config.read_text())
    (tmp_path / "playbooks").mkdir()
    code, out = zuul_check(copy)
    problems = out[:-1]
    assert code == 1 and problems
    assert all("playbook" in line and "does not exist" in line for line in problems), problems


def test_novas_configuration_with_a_typo_is_caught(nova_config, tmp_path):
    copy = tmp_path / "nova.zuul.yaml"
    text = nova_config.read_text()
    assert "\n    voting: false\n" in text or "voting: false" in text
    copy.write_text(text.replace("voting: false", "votng: false", 1))
    code, out = zuul_check(copy, "--no-files")
    assert code == 1
    assert any("votng" in line and line.startswith(f"{copy}:") for line in out), out


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def test_move_to_check_changes_only_the_moved_lines(tmp_path):
    """In a checkout, `zuul move` edits that checkout's zuul.d/."""
    shutil.copytree(ZUUL_D, tmp_path / "zuul.d")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "x")
    before = (tmp_path / "zuul.d" / "project.yaml").read_text()
    move = ("zuul", "move", "nova-lxc-tempest", "--voting", "false", "--to")
    assert run_cli(*move, "check", cwd=tmp_path, in_process=True).returncode == 0
    diff = git(tmp_path, "diff", "-U0")
    changed = [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert sorted(changed) == sorted(
        [
            "-        - nova-lxc-tempest:",
            "-            voting: false",
            "+    check:",
            "+      jobs:",
            "+        - nova-lxc-tempest:",
            "+            voting: false",
        ]
    )
    after = (tmp_path / "zuul.d" / "project.yaml").read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(comment in after.splitlines() for comment in comments)
    # Back again, voting: the file returns to its first form but for order.
    assert run_cli(*move, "experimental", "--root", tmp_path, in_process=True).returncode == 0
    assert "check:" not in (tmp_path / "zuul.d" / "project.yaml").read_text().split("- project:")[0]
    assert zuul_check(tmp_path / "zuul.d", "--no-files")[0] == 0


def test_move_of_an_unknown_job_is_bad_input():
    done = run_cli(
        "zuul", "move", "nova-hyperv", "--to", "check", "--zuul-dir", ZUUL_D, in_process=True
    )
    assert done.returncode == 2
    assert "job 'nova-hyperv' is in no pipeline" in done.stderr


def test_devstack_config_equals_the_jobs_variables():
    done = run_cli("devstack-config", "--driver", "lxc", in_process=True)
    assert done.returncode == 0
    text = done.stdout
    localrc_block = text.split("[[local|localrc]]\n", 1)[1].split("[[", 1)[0]
    settings = dict(
        line.split("=", 1) for line in localrc_block.splitlines() if "=" in line and " " not in line
    )
    job_vars = effective_vars(load_config([ZUUL_D]), "nova-lxc-tempest")
    for key, value in job_vars["devstack_localrc"].items():
        expected = ("True" if value else "False") if isinstance(value, bool) else str(value)
        assert settings[key] == expected
    assert settings["VIRT_DRIVER"] == "libvirt" and settings["LIBVIRT_TYPE"] == "lxc"
    assert "disable_service c-vol" in text
    container_ci_section = text.split("[container_ci]\n", 1)[1]
    assert "compute_driver = libvirt-lxc" in container_ci_section


@pytest.fixture
def upstream():
    return upstream_dir()


def unresolved(lines: list[str]) -> set[str]:
    return {
        line.split("'")[1]
        for line in lines
        if "is not defined here nor in the repositories" in line
    }


def test_tempests_configuration_resolves_every_name_its_repositories_define(upstream):
    """Tempest's zuul.d against the real configurations of the repositories
    given: a name still unresolved is one none of them defines (grenade's,
    neutron's, cinder's ...); 35 false errors with the old hand list."""
    code, out = zuul_check(upstream / "openstack" / "tempest" / "zuul.d", "--no-files",
                           "--upstream", upstream)  # fmt: skip
    names = unresolved(out)
    assert code == 1 and names, out
    defined = UpstreamNames.from_repositories(upstream)
    assert not names & (defined.jobs | defined.nodesets | defined.templates), names
    text = "\n".join(p.read_text() for p in upstream.glob("*/*/**/*.yaml"))
    for name in names:
        assert f"name: {name}\n" not in text, name  # really defined nowhere given


def test_a_misspelt_attribute_in_tempests_configuration_is_caught_at_its_line(upstream, tmp_path):
    copy = tmp_path / "zuul.d"
    shutil.copytree(upstream / "openstack" / "tempest" / "zuul.d", copy)
    path = copy / "integrated-gate.yaml"
    text = path.read_text()
    assert "    timeout: 10800\n" in text
    path.write_text(text.replace("    timeout: 10800\n", "    timeuot: 10800\n", 1))
    code, out = zuul_check(copy, "--no-files", "--upstream", upstream)
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "timeuot" in t)
    assert code == 1
    assert any(o.startswith(f"{path}:{line}: ") and "timeuot" in o for o in out), out


def test_this_repositorys_configuration_resolves_against_the_real_repositories(upstream):
    code, out = zuul_check(ZUUL_D, "--upstream", upstream)
    assert code == 0, out


def test_the_shipped_names_are_generated_from_the_real_repositories(upstream):
    """upstream-names.yaml is what `zuul upstream-names --write` makes of
    the repositories, commits included: regenerate it when they move."""
    from importlib import resources

    from container_ci.zuul import upstream as upstream_module

    shipped = (resources.files("container_ci.zuul") / "upstream-names.yaml").read_text()
    defined = upstream_module.defined_names(upstream_module.find_repositories(upstream))
    body = upstream_module.names_yaml(defined, "x").split("\n", 1)[1]
    assert shipped.split("\n", 1)[1] == body
    assert "\n  openstack/tempest: " in shipped


def test_an_upstream_directory_without_repositories_is_bad_input(tmp_path):
    done = run_cli("zuul", "check", ZUUL_D, "--upstream", tmp_path, in_process=True)
    assert done.returncode == 2
    assert "no repository with a Zuul configuration" in done.stderr

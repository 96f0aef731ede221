"""A real Zuul on this machine: `container-ci zuul up | down | status | logs | enqueue`.

Zuul 14 (scheduler, web, executor, launcher) from PyPI in a venv of its
own, ZooKeeper (TLS only) and PostgreSQL from Debian, an sshd of ours as the
static node, all on 127.0.0.1, all started and stopped by pid. The tenant
`local` loads this repository's working tree as `openstack/container-ci`
and the upstream job repositories from `../shared/upstream`: what a change
to `zuul.d/` does in a real scheduler is seen before it is pushed.
How it was made to work, pitfall by pitfall: ../shared/research/zuul.md."""

"""nova-compute with the Docker driver: `python -m cci_nova_docker.launch ARGS`.

Nova 34 loads a compute driver only as `nova.virt.<compute_driver>`, so this
registers driver.py under `nova.virt.cci_docker` (the configuration says
`compute_driver = cci_docker.DockerDriver`) and runs nova-compute's own main.
`nova.cmd.compute` is imported first: it puts nova-compute in native
threading mode, which must happen before the rest of Nova is imported."""

import sys

from nova.cmd import compute  # noqa: I001 - first, see above

from cci_nova_docker import driver

sys.modules["nova.virt.cci_docker"] = driver

if __name__ == "__main__":
    sys.exit(compute.main())

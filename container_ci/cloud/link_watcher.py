"""One of the local cloud's processes: brings up the host-side devices of
Neutron ports that OVS has but that were left down (network.guest_ports_down
says why), twice a second, for as long as the cloud runs.

Its one argument is the cloud's state directory: unused by the loop, it puts
the cloud on the watcher's command line, which is how `cloud down` finds a
watcher that lost its pid file."""

from __future__ import annotations

import subprocess
import sys
import time

from container_ci.cloud import network
from container_ci.errors import CloudError

INTERVAL = 0.5


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m container_ci.cloud.link_watcher STATE_DIR", file=sys.stderr)
        return 2
    while True:
        try:
            for name in network.guest_ports_down():
                done = subprocess.run(
                    ["ip", "link", "set", name, "up"], capture_output=True, text=True, check=False
                )
                state = "up" if done.returncode == 0 else f"failed: {done.stderr.strip()}"
                print(f"{time.strftime('%H:%M:%S')} {name} was down: set {state}", flush=True)
        except CloudError as exc:  # ovsdb-server restarting: try again next time
            print(f"{time.strftime('%H:%M:%S')} {exc}", flush=True)
        time.sleep(INTERVAL)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

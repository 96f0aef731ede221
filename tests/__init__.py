"""container-ci's tests: unit/ (no daemons), functional/ (the real Docker
Engine, libvirt LXC, PostgreSQL and the local cloud), and what they share:
helpers.py (running the command line), nova_files.py (Nova's own files),
fakes/ (stand-ins and recorded samples)."""

"""The local cloud: real Keystone, Placement, Glance, Neutron and Nova (libvirt
driver, LXC mode) from PyPI, as plain processes on 127.0.0.1, so the Tempest
plugin and the `nova` target run against a real Nova without devstack."""

"""Stand-ins for what cannot run in a unit test, and recorded samples: an
in-memory target, a loopback cloud answering in the recorded shapes of
Keystone, Nova, Glance and the container service, a Zuul builds API, and
generated result files. The real backends are exercised in tests/functional."""

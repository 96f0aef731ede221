"""container-ci's Tempest plugin: the lowest-common-denominator checks of Nova's
container drivers through the real APIs, skips driven by the capability matrix."""

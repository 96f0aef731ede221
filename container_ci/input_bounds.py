"""How much one input may expand to, for every reader of files that come
from outside: scenario files, zuul.d files and clouds.yaml (YAML), JUnit XML,
subunit v2 streams (files, stestr runs, Zuul artifacts).

Scenario files and zuul.d come from changes under review, and a Zuul
artifact is whatever the job under test left in its logs: one proposed
change must not be able to take down the node that checks it. Without
bounds, a 1 KB YAML file of nested aliases (the "billion laughs" shape: ten
levels of nine references) composes cheaply, as shared nodes, and then
whatever walks the tree (the JSON schema, `to_plain`, openstacksdk's key
normalising) visits 9**9 nodes: 100% CPU and 40 MB/s until killed; a 1 MB
gzip of zeros is a 1 GB subunit stream. Each reader refuses an input over a
bound as bad input (exit 2, `file:line: refused: ...`), before or while
reading it, never after building it.

A module of its own, with no imports: the scenario loader checks the size
before it hashes a file, without importing the YAML parser."""

from __future__ import annotations

# YAML. Measured on every YAML file under /work/shared/upstream (727 files:
# zuul.d/, .zuul.yaml, playbooks) and this repository's: the biggest is 90 KB
# (openstack-zuul-jobs' project-templates.yaml), the most nodes 4,268
# counting aliases as copies (the same file), the deepest 10 levels; the
# biggest Zuul file known, openstack/project-config's zuul.d/projects.yaml,
# is a few hundred KB at about 15 bytes a node. Each bound is well above
# those and well below where walking the loaded tree costs noticeable time
# or reaches Python's recursion limit (to_plain, line_of and jsonschema
# recurse per level).
MAX_YAML_BYTES = 1024 * 1024
"""Bytes of one YAML file: 11x the biggest file here, room for
project-config's projects.yaml. Checked before parsing. (ruamel's
pure-Python parser reads 65-200 KB/s: a file this size costs seconds to
accept, never more.)"""

MAX_YAML_NODES = 100_000
"""Nodes of one document, each alias counted as a copy of the node it names
(what a walk of the loaded data visits): 23x the biggest file here, and more
than MAX_YAML_BYTES of plain YAML holds. Walking that many takes about
0.1 s; the alias bomb crosses it after about 70 nodes of text and is refused
there, in milliseconds."""

MAX_YAML_DEPTH = 32
"""Levels of nested mappings and sequences: 3x the deepest real file, and
far below the recursion limit of the code that walks a loaded document."""

# XML (JUnit). Entities are refused outright (defusedxml): a JUnit file has
# no use for a DTD's entities, and an internal one can expand (the XML
# "billion laughs"), an external one reads files or URLs.
MAX_XML_BYTES = 256 * 1024 * 1024
"""Bytes of one JUnit XML file: a million test cases, each with a line of
failure text, is about 150 MB; tempest's full run as JUnit is a few MB. The
parsed tree costs 2-3x the file in memory."""

# subunit v2. A packet is at most 4 MiB by the protocol (python-subunit
# refuses longer ones); the whole stream is bounded here, after gunzip.
MAX_SUBUNIT_BYTES = 1024 * 1024 * 1024
"""Bytes of one subunit stream, decompressed: 5x a million tempest-shaped
results (bench/ingest_subunit writes 204 MB for a million), and tempest's
full run is 5-30 MB. A gzipped stream is decompressed no further than this:
a 1 MB gzip of zeros stops at the bound, not at 1 GB of memory."""

MAX_GZIP_RATIO = 100
"""Decompressed bytes per compressed byte of a gzipped stream, checked as it
decompresses once GZIP_RATIO_FROM bytes are out: a tempest-shaped stream
gzips 8:1 (bench/ingest_subunit's), deflate's most is 1,032:1 (zeros, a gzip
bomb). A bomb is refused after GZIP_RATIO_FROM bytes, in tens of
milliseconds, not after MAX_SUBUNIT_BYTES (4 s and 1 GB)."""

GZIP_RATIO_FROM = 16 * 1024 * 1024
"""Below this, any ratio: decompressing 16 MiB costs nothing to speak of."""

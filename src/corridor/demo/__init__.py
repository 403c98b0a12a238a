"""The embedded demonstration world: a synthetic but realistic set of field exports.

``generate_world(out_dir, seed=2024)`` writes ``out_dir/sources/`` (places, DHIS2 services,
DTM flows, an mpox line list and ``manifest.json``) and ``out_dir/truth/`` (the hidden truth the
observed data were sampled from). See docs/demo.md.
"""

from corridor.demo.defects import InvalidRow
from corridor.demo.world import DEFAULT_SEED, ManifestFile, WorldManifest, generate_world

__all__ = ["DEFAULT_SEED", "InvalidRow", "ManifestFile", "WorldManifest", "generate_world"]

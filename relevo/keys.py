"""Every Redis key Relevo uses, in one place, under the `relevo:` namespace.

| key | type | what |
|---|---|---|
| `relevo:kb:version` | string | version number of the published knowledge-base index |
| `relevo:kb:events` | stream | one entry per published index version (what changed) |
"""

PREFIX = "relevo"

KB_VERSION = f"{PREFIX}:kb:version"
KB_EVENTS = f"{PREFIX}:kb:events"

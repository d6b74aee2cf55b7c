"""Static files storage for production: WhiteNoise's compressed, hashed (manifest) files.

The vendored minified files (Bootstrap) end with a ``sourceMappingURL`` comment naming a
``.map`` file we do not ship; Django's manifest storage would rewrite that reference and
`collectstatic` would fail on the missing file. Source maps are a debugging aid, never
needed to serve a page, so their comments are left as they are and everything else
(CSS ``url()`` and ``@import``) is hashed as usual.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    def keep(pattern) -> bool:
        regex = pattern[0] if isinstance(pattern, tuple) else pattern
        return "sourceMappingURL" not in regex

    return tuple((glob, tuple(p for p in rules if keep(p))) for glob, rules in patterns)


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)

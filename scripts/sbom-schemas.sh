#!/usr/bin/env bash
# The published JSON schemas the SBOM tests validate against, into DIR (kept between runs):
# CycloneDX 1.5 (with the SPDX license list and JSF schemas it references), from the npm
# package @cyclonedx/cyclonedx-library, which ships CycloneDX's published schema files.
# An SPDX 2.3 schema (spdx-schema.json of spdx/spdx-spec) is used when BERTH_SPDX_SCHEMA
# names one: no package in Debian's archive or npm ships it.
set -euo pipefail
dir=${1:?usage: sbom-schemas.sh DIR}
mkdir -p "$dir"
if [ ! -s "$dir/bom-1.5.schema.json" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent @cyclonedx/cyclonedx-library@10.3.0 >/dev/null)
  tar -xzf "$tmp"/cyclonedx-cyclonedx-library-10.3.0.tgz -C "$tmp" \
    package/res/schema/bom-1.5.SNAPSHOT.schema.json package/res/schema/spdx.SNAPSHOT.schema.json \
    package/res/schema/jsf-0.82.SNAPSHOT.schema.json
  cp "$tmp"/package/res/schema/bom-1.5.SNAPSHOT.schema.json "$dir/bom-1.5.schema.json.tmp"
  cp "$tmp"/package/res/schema/spdx.SNAPSHOT.schema.json "$dir/spdx.schema.json"
  cp "$tmp"/package/res/schema/jsf-0.82.SNAPSHOT.schema.json "$dir/jsf-0.82.schema.json"
  mv "$dir/bom-1.5.schema.json.tmp" "$dir/bom-1.5.schema.json"
fi
if [ -n "${BERTH_SPDX_SCHEMA:-}" ]; then
  cp "$BERTH_SPDX_SCHEMA" "$dir/spdx-2.3.schema.json"
fi
echo "$dir"

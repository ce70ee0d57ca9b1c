#!/usr/bin/python3
"""Validates an SPDX 2.3 JSON and a CycloneDX 1.5 JSON document against their published
schemas in SCHEMA_DIR (scripts/sbom-schemas.sh), with Debian's python3-jsonschema.

usage: validate-sbom.py SCHEMA_DIR SPDX_JSON CYCLONEDX_JSON

Without spdx-2.3.schema.json in SCHEMA_DIR, the SPDX document is checked for what the SPDX
2.3 specification requires of a document and its packages (the fields the schema marks
required, the SPDXID grammar, the relationship types used)."""
import json
import os
import re
import sys

import jsonschema


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def validate_cyclonedx(schema_dir, doc):
    schema = load(os.path.join(schema_dir, "bom-1.5.schema.json"))
    store = {}
    for name in ("spdx.schema.json", "jsf-0.82.schema.json"):
        s = load(os.path.join(schema_dir, name))
        store[name] = s
        if "$id" in s:
            store[s["$id"]] = s
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    jsonschema.Draft7Validator(schema, resolver=resolver).validate(doc)


def validate_spdx(schema_dir, doc):
    path = os.path.join(schema_dir, "spdx-2.3.schema.json")
    if os.path.exists(path):
        jsonschema.Draft7Validator(load(path)).validate(doc)
        return "schema"
    for field in ("spdxVersion", "dataLicense", "SPDXID", "name", "documentNamespace",
                  "creationInfo"):
        assert field in doc, "document: missing " + field
    assert doc["spdxVersion"] == "SPDX-2.3"
    assert doc["dataLicense"] == "CC0-1.0"
    assert doc["SPDXID"] == "SPDXRef-DOCUMENT"
    assert "#" not in doc["documentNamespace"] and re.match(r"^[a-z]+:", doc["documentNamespace"])
    assert doc["creationInfo"]["creators"] and doc["creationInfo"]["created"].endswith("Z")
    ids = set()
    for p in doc["packages"]:
        for field in ("SPDXID", "name", "downloadLocation"):
            assert field in p, "package: missing " + field
        assert re.fullmatch(r"SPDXRef-[A-Za-z0-9.\-]+", p["SPDXID"]), p["SPDXID"]
        assert p["SPDXID"] not in ids
        ids.add(p["SPDXID"])
        for r in p.get("externalRefs", []):
            assert r["referenceCategory"] in ("SECURITY", "PACKAGE-MANAGER", "PERSISTENT-ID", "OTHER")
    for r in doc["relationships"]:
        assert r["relationshipType"] in ("DESCRIBES", "CONTAINS")
        assert r["spdxElementId"] in ids | {"SPDXRef-DOCUMENT"}
        assert r["relatedSpdxElement"] in ids
    return "required fields"


def main():
    schema_dir, spdx, cyclonedx = sys.argv[1:4]
    how = validate_spdx(schema_dir, load(spdx))
    validate_cyclonedx(schema_dir, load(cyclonedx))
    print("SPDX 2.3 valid (%s); CycloneDX 1.5 valid (schema)" % how)


if __name__ == "__main__":
    main()

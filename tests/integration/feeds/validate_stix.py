#!/usr/bin/env python3
"""Validates TAXII 2.1 envelopes of STIX 2.1 objects against the rules that matter to a consumer
(python3 stdlib only; Debian has no python3-stix2):

  ids            <type>--<RFC 4122 UUID>, version 4 or 5, type prefix matching the object
  timestamps     RFC 3339 UTC with "Z" (created/modified/valid_from/first_seen/last_seen), and
                 created/modified/valid_from with millisecond precision; modified >= created
  patterns       indicators: pattern_type "stix", pattern a bracketed comparison of a known object
                 path with a well-formed value (addresses, domains, URLs, hash lengths)
  marking refs   every object but marking definitions has object_marking_refs, each a TLP 2.0
                 marking definition (OASIS ids) that the collection also serves, with the
                 extension naming the right level
  references     sighting_of_ref / where_sighted_refs / created_by_ref resolve in the collection
  forbidden      --forbid VALUE: the value (a victim address, a tenant name) appears nowhere
  TLP            --expect-tlp TYPE=LEVEL: every object of TYPE is marked LEVEL

usage: validate_stix.py [--forbid VALUE]... [--expect-tlp TYPE=LEVEL]... ENVELOPE.json...
Exit 0 when every file passes; otherwise prints each problem and exits 1.
"""
import ipaddress
import json
import re
import sys
import uuid

TLP = {
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "clear",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "green",
    "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421": "amber",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "amber+strict",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "red",
}
TLP_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
TS_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
PATTERN = re.compile(r"^\[([a-z0-9-]+):([A-Za-z0-9_.'-]+) = '((?:[^'\\]|\\['\\])*)'\]$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_-]{1,63}\.)+[a-z0-9_-]{1,63}$")
HASHES = {"'SHA-256'": 64, "SHA256": 64, "MD5": 32, "'SHA-1'": 40, "SHA1": 40}


def check_id(value, want_type, problems, where):
    if not isinstance(value, str) or "--" not in value:
        problems.append(f"{where}: id {value!r} is not <type>--<uuid>")
        return
    t, _, u = value.partition("--")
    if want_type and t != want_type:
        problems.append(f"{where}: id {value} does not start with {want_type}--")
    try:
        parsed = uuid.UUID(u)
    except ValueError:
        problems.append(f"{where}: id {value} has no valid UUID")
        return
    if str(parsed) != u or parsed.variant != uuid.RFC_4122 or parsed.version not in (4, 5):
        problems.append(f"{where}: id {value} is not an RFC 4122 v4/v5 UUID in canonical form")


def check_time(o, key, problems, where, ms=False, required=True):
    if key not in o:
        if required:
            problems.append(f"{where}: missing {key}")
        return None
    v = o[key]
    if not isinstance(v, str) or not (TS_MS if ms else TS).match(v):
        problems.append(f"{where}: {key} {v!r} is not RFC 3339 UTC" + (" with milliseconds" if ms else ""))
        return None
    return v


def check_pattern(p, problems, where):
    m = PATTERN.match(p or "")
    if not m:
        problems.append(f"{where}: pattern {p!r} is not a single comparison")
        return
    obj, path, value = m.group(1), m.group(2), m.group(3).replace("\\'", "'").replace("\\\\", "\\")
    try:
        if (obj, path) == ("ipv4-addr", "value"):
            ipaddress.IPv4Address(value)
        elif (obj, path) == ("ipv6-addr", "value"):
            ipaddress.IPv6Address(value)
        elif (obj, path) == ("domain-name", "value"):
            if not DOMAIN.match(value):
                raise ValueError("bad domain")
        elif (obj, path) == ("url", "value"):
            if not re.match(r"^(https?|ftp)://[^/\s?#]+(/[^\s?#]*)?$", value):
                raise ValueError("bad url (or it has a query string)")
        elif obj == "file" and path.startswith("hashes."):
            n = HASHES.get(path[len("hashes."):])
            if n is None or not re.fullmatch(r"[0-9a-f]{%d}" % n, value):
                raise ValueError("bad hash")
        else:
            raise ValueError("unknown object path")
    except ValueError as e:
        problems.append(f"{where}: pattern {p!r}: {e}")


def validate(envelope, forbid, expect_tlp, name):
    problems = []
    if not isinstance(envelope.get("more"), bool):
        problems.append(f"{name}: envelope has no boolean 'more'")
    objects = envelope.get("objects", [])
    ids = {o.get("id") for o in objects}
    text = json.dumps(envelope)
    for f in forbid:
        if f in text:
            problems.append(f"{name}: forbidden value {f!r} appears")
    for o in objects:
        t = o.get("type")
        where = f"{name}: {o.get('id')}"
        check_id(o.get("id"), t, problems, where)
        if o.get("spec_version") != "2.1":
            problems.append(f"{where}: spec_version is not 2.1")
        created = check_time(o, "created", problems, where, ms=True)
        if t == "marking-definition":
            level = TLP.get(o.get("id"))
            ext = o.get("extensions", {}).get(TLP_EXT, {})
            if level is None or ext.get("tlp_2_0") != level or ext.get("extension_type") != "property-extension":
                problems.append(f"{where}: not a TLP 2.0 marking definition with the OASIS id and extension")
            if o.get("name") != "TLP:" + (level or "").upper():
                problems.append(f"{where}: name {o.get('name')!r} does not match its level")
            continue
        modified = check_time(o, "modified", problems, where, ms=True)
        if created and modified and modified < created:
            problems.append(f"{where}: modified before created")
        refs = o.get("object_marking_refs")
        if not refs:
            problems.append(f"{where}: no object_marking_refs")
        for r in refs or []:
            if r not in TLP:
                problems.append(f"{where}: marking ref {r} is not a TLP 2.0 definition")
            elif r not in ids:
                problems.append(f"{where}: marking definition {r} is not served in the collection")
        if t in expect_tlp:
            levels = [TLP.get(r) for r in refs or []]
            if expect_tlp[t] not in levels:
                problems.append(f"{where}: expected TLP {expect_tlp[t]}, got {levels}")
        if "created_by_ref" in o:
            check_id(o["created_by_ref"], "identity", problems, where)
            if o["created_by_ref"] not in ids:
                problems.append(f"{where}: created_by_ref {o['created_by_ref']} not in the collection")
        if t == "indicator":
            if o.get("pattern_type") != "stix":
                problems.append(f"{where}: pattern_type is not stix")
            check_pattern(o.get("pattern"), problems, where)
            check_time(o, "valid_from", problems, where, ms=True)
        elif t == "sighting":
            check_id(o.get("sighting_of_ref"), "indicator", problems, where)
            if o.get("sighting_of_ref") not in ids:
                problems.append(f"{where}: sighting_of_ref not in the collection")
            c = o.get("count")
            if not isinstance(c, int) or not 0 <= c <= 999999999:
                problems.append(f"{where}: count {c!r} out of range")
            fs = check_time(o, "first_seen", problems, where)
            ls = check_time(o, "last_seen", problems, where)
            if fs and ls and ls < fs:
                problems.append(f"{where}: last_seen before first_seen")
            for r in o.get("where_sighted_refs", []):
                check_id(r, "identity", problems, where)
                if r not in ids:
                    problems.append(f"{where}: where_sighted_ref {r} not in the collection")
        elif t == "identity":
            if not o.get("name") or o.get("identity_class") != "organization":
                problems.append(f"{where}: identity without name or organization class")
        else:
            problems.append(f"{where}: unexpected object type {t}")
    return problems


def main(argv):
    forbid, expect, files = [], {}, []
    i = 0
    while i < len(argv):
        if argv[i] == "--forbid":
            forbid.append(argv[i + 1])
            i += 2
        elif argv[i] == "--expect-tlp":
            t, _, level = argv[i + 1].partition("=")
            expect[t] = level
            i += 2
        else:
            files.append(argv[i])
            i += 1
    problems, count = [], 0
    for f in files:
        with open(f) as fh:
            env = json.load(fh)
        count += len(env.get("objects", []))
        problems += validate(env, forbid, expect, f)
    for p in problems:
        print(p)
    print(f"validated {count} objects in {len(files)} files: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

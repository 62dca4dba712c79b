#!/usr/bin/env python3
"""Small EVE helpers for sensor_test.sh (standard library only).

  eve_tool.py alerts EVE RULES...   one line per alert, sorted: "sid src sport dst dport pcap_cnt";
                                    rules whose threshold/detection_filter is tracked by_src,
                                    by_dst, by_both or by_rule (shared state: the packet that
                                    alerts may depend on thread interleaving) give only
                                    "count sid N".
  eve_tool.py count EVE SID         number of alerts with that signature_id
                                    Exits 3 when the last line is not a stats record.
  eve_tool.py stats EVE             exit 0 when the last line is a stats record
  eve_tool.py stat EVE KEY.PATH     a value of the final stats record ("capture.packets")
  eve_tool.py manifest MANIFEST     "name<TAB>pcap<TAB>rules<TAB>args..." per conformance entry
"""
import collections
import json
import re
import sys

GLOBAL_TRACK = re.compile(r"(threshold|detection_filter)\s*:[^;]*track\s+by_(src|dst|both|rule)")
SID = re.compile(r"\bsid\s*:\s*(\d+)")


def read_eve(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def global_threshold_sids(paths):
    sids = set()
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lstrip().startswith("#"):
                    continue
                if GLOBAL_TRACK.search(line):
                    m = SID.search(line)
                    if m:
                        sids.add(int(m.group(1)))
    return sids


def cmd_alerts(eve, rules):
    skip = global_threshold_sids(rules)
    lines, counts = [], collections.Counter()
    recs = read_eve(eve)
    if not recs or recs[-1].get("event_type") != "stats":
        sys.exit(3)
    for r in recs:
        if r.get("event_type") != "alert":
            continue
        sid = r["alert"]["signature_id"]
        if sid in skip:
            counts[sid] += 1
            continue
        lines.append("%d %s %s %s %s %s" % (sid, r.get("src_ip"), r.get("src_port", "-"),
                                            r.get("dest_ip"), r.get("dest_port", "-"),
                                            r.get("pcap_cnt", "-")))
    out = sorted(lines) + ["count %d %d" % (s, n) for s, n in sorted(counts.items())]
    print("\n".join(out))


def main():
    cmd = sys.argv[1]
    if cmd == "alerts":
        cmd_alerts(sys.argv[2], sys.argv[3:])
    elif cmd == "count":
        sid = int(sys.argv[3])
        print(sum(1 for r in read_eve(sys.argv[2])
                  if r.get("event_type") == "alert" and r["alert"]["signature_id"] == sid))
    elif cmd == "stats":
        recs = read_eve(sys.argv[2])
        sys.exit(0 if recs and recs[-1].get("event_type") == "stats" else 1)
    elif cmd == "stat":
        recs = read_eve(sys.argv[2])
        if not recs or recs[-1].get("event_type") != "stats":
            sys.exit(3)
        v = recs[-1]["stats"]
        for k in sys.argv[3].split("."):
            v = v[k]
        print(v)
    elif cmd == "manifest":
        with open(sys.argv[2], encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                print("\t".join([d["name"], d["pcap"], d["rules"]] + d.get("args", [])))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Regenerates the seed inputs of tests/fuzz/corpus/<name>/ (files named seed-*).

Usage: tests/fuzz/make_seeds.py [SHARED_DIR]   (default: ../shared next to the repository)

Seeds come from the conformance captures in SHARED_DIR/conformance (suricata-verify, MIT) and
from hand-written messages below. Each target's input layout is described at the top of its
fuzz_<name>.cpp; the headers written here follow it. Files not named seed-* (crash reproducers
and inputs libFuzzer found) are left alone. Stdlib only.
"""
import collections
import gzip
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared")
CONF = os.path.join(SHARED, "conformance")


# ---- pcap reading (classic pcap only, enough for the conformance captures) -------------------

def packets(path):
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    dlt = struct.unpack(e + "I", d[20:24])[0]
    off = 24
    while off + 16 <= len(d):
        _, _, caplen, _ = struct.unpack(e + "IIII", d[off:off + 16])
        off += 16
        yield dlt, d[off:off + caplen]
        off += caplen


def ip_of(dlt, f):
    if dlt == 1:
        et, o = struct.unpack(">H", f[12:14])[0], 14
        while et == 0x8100:
            et, o = struct.unpack(">H", f[o + 2:o + 4])[0], o + 4
        return f[o:] if et in (0x800, 0x86DD) else None
    if dlt in (12, 101, 228, 229):
        return f
    if dlt == 104:
        return f[4:]
    return None


def transport(ip):
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        hl, tl = (ip[0] & 15) * 4, struct.unpack(">H", ip[2:4])[0]
        if struct.unpack(">H", ip[6:8])[0] & 0x3FFF:
            return None  # fragment
        return ip[9], ip[12:16], ip[16:20], ip[hl:tl]
    if ip[0] >> 4 == 6:
        return ip[6], ip[8:24], ip[24:40], ip[40:40 + struct.unpack(">H", ip[4:6])[0]]
    return None


def segments(path):
    for dlt, f in packets(path):
        r = transport(ip_of(dlt, f))
        if not r:
            continue
        proto, s, d, b = r
        if proto == 17 and len(b) >= 8:
            sp, dp = struct.unpack(">HH", b[:4])
            yield "udp", s, sp, d, dp, None, b[8:]
        elif proto == 6 and len(b) >= 20:
            sp, dp, seq = struct.unpack(">HHI", b[:8])
            yield "tcp", s, sp, d, dp, seq, b[(b[12] >> 4) * 4:]


def streams(path, port):
    """[(to_server, to_client)] per TCP connection to `port`, segments ordered by sequence."""
    conns = collections.OrderedDict()
    for t, s, sp, d, dp, seq, pl in segments(path):
        if t != "tcp" or port not in (sp, dp):
            continue
        key, dirn = ((s, sp, d, dp), 0) if dp == port else ((d, dp, s, sp), 1)
        c = conns.setdefault(key, [{}, {}])
        if pl and seq not in c[dirn]:
            c[dirn][seq] = pl
    return [tuple(b"".join(m[k] for k in sorted(m)) for m in c) for c in conns.values()]


def udp_payloads(path, port):
    return [(dp == port, pl) for t, s, sp, d, dp, _, pl in segments(path)
            if t == "udp" and port in (sp, dp)]


# ---- writing ------------------------------------------------------------------------------

def two_sided(to_server, to_client, seed):
    n = len(to_server)
    assert n < 65536
    return bytes([n >> 8, n & 0xFF, seed]) + to_server + to_client


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def conf(rel):
    return os.path.join(CONF, "tests", rel)


# ---- http ---------------------------------------------------------------------------------

def http_seeds():
    evader = sorted(os.listdir(conf("http-evader")))
    for i, case in enumerate(evader[::14]):
        for to_server, to_client in streams(conf("http-evader/%s/input.pcap" % case), 80)[:1]:
            write("http", case, two_sided(to_server, to_client, [7, 3, 0x87, 0x45][i % 4]))
    for rel, port in (("http-async/input.pcap", 8080),
                      ("http-encoding-gzip-uncompressed/input.pcap", 8100),
                      ("http-post-file/input.pcap", 8065)):
        for j, (to_server, to_client) in enumerate(streams(conf(rel), port)[:2]):
            if len(to_server) + len(to_client) < 6000:
                write("http", "%s-%d" % (rel.split("/")[0], j), two_sided(to_server, to_client, 7))
    body = b"<html>" + b"A" * 200 + b"</html>"
    gz = gzip.compress(body)
    defl = zlib.compress(body)
    write("http", "gzip-chunked", two_sided(
        b"GET /a/../b/%2e%2e/c?x=%u0041&y=1 HTTP/1.1\r\nHost: Example.COM:80\r\n"
        b"Accept-Encoding: gzip\r\nCookie: a=1\r\nReferer: http://r/\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, deflate\r\nTransfer-Encoding: chunked\r\n"
        b"Set-Cookie: s=2\r\nContent-Type: text/html\r\n\r\n" +
        b"%x\r\n" % len(gz) + gz + b"\r\n0\r\nX-Trailer: t\r\n\r\n", 7))
    write("http", "deflate-cl", two_sided(
        b"GET / HTTP/1.0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(defl)
        + defl, 2))
    write("http", "pipeline-post", two_sided(
        b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
        b"Content-Length: 71\r\nExpect: 100-continue\r\n\r\n"
        b"--xx\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhi\r\n--xx--"
        b"GET /2 HTTP/1.1\r\nHost: h\r\n\r\nHEAD /3 HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 NF\r\n"
        b"Content-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0x43))
    write("http", "connect-09-folding", two_sided(
        b"CONNECT host:443 HTTP/1.1\r\nUser-Agent: a\r\n b\r\n\r\nGET /\r\n",
        b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01\x00\x05hello", 0x81))


# ---- dns ----------------------------------------------------------------------------------

def dns_name(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def rr(name_bytes, rrtype, rdata, ttl=300):
    return name_bytes + struct.pack(">HHIH", rrtype, 1, ttl, len(rdata)) + rdata


def dns_seeds():
    tcp = lambda m: struct.pack(">H", len(m)) + m
    for rel in ("dns/dns-query/dns-detect-query-02/input.pcap", "bug-2158/public-ex1_section8_Sofacy.pcap"):
        msgs = udp_payloads(conf(rel), 53)
        base = rel.split("/")[-2]
        for i, (to_server, m) in enumerate(msgs[:4]):
            write("dns", "%s-udp%d" % (base, i), bytes([0, 0, 7]) + m)
        q = [m for s, m in msgs if s]
        r = [m for s, m in msgs if not s]
        if q and r:
            write("dns", base + "-tcp-pair", two_sided(tcp(q[0]), tcp(r[0]), 2))
            frames = b"".join(struct.pack(">H", 0x8000 | len(m)) + m for m in q[:1]) + \
                b"".join(struct.pack(">H", len(m)) + m for m in r[:1])
            write("dns", base + "-udp-frames", bytes([0, 0, 0x87]) + frames)
    for j, (to_server, to_client) in enumerate(streams(conf("issues/issue-4759.1/tcpdns.pcap"), 53)):
        write("dns", "tcpdns-%d" % j, two_sided(to_server, to_client, [7, 1][j % 2]))
    # A response using every record type the parser decodes, with compression pointers.
    qname = dns_name("www.example.com")
    ptr = b"\xc0\x0c"
    answers = [
        rr(ptr, 5, dns_name("cdn.example.net")),
        rr(ptr, 1, bytes([192, 0, 2, 1])),
        rr(ptr, 28, bytes(range(16))),
        rr(ptr, 15, b"\x00\x0a" + b"\x04mail\xc0\x10"),
        rr(ptr, 16, b"\x05hello\x05world"),
        rr(ptr, 12, b"\x03ptr\xc0\x10"),
        rr(ptr, 33, b"\x00\x01\x00\x02\x00\x50" + dns_name("srv.example.com")),
        rr(ptr, 44, b"\x01\x01" + bytes(20)),
        rr(ptr, 10, b"nullrdata"),
    ]
    soa = rr(b"\xc0\x10", 6, b"\x02ns\xc0\x10\x0ahostmaster\xc0\x10" + struct.pack(">IIIII", 1, 2, 3, 4, 5))
    opt = b"\x00" + struct.pack(">HHIH", 41, 4096, 0, 0)
    resp = struct.pack(">HHHHHH", 0x1234, 0x8580, 1, len(answers), 1, 1) + qname + \
        struct.pack(">HH", 255, 1) + b"".join(answers) + soa + opt
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 255, 1)
    write("dns", "all-types-response", bytes([0, 0, 7]) + resp)
    write("dns", "all-types-tcp", two_sided(tcp(query), tcp(resp), 3))
    # Pointer loop, and a name longer than 255 bytes.
    loop = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0) + b"\x01a\xc0\x0c" + b"\x00\x01\x00\x01"
    write("dns", "pointer-loop", bytes([0, 0, 7]) + loop)
    long_name = b"".join(b"\x3f" + b"x" * 63 for _ in range(5)) + b"\x00"
    longq = struct.pack(">HHHHHH", 8, 0x0100, 1, 0, 0, 0) + long_name + b"\x00\x01\x00\x01"
    write("dns", "long-name", bytes([0, 0, 0x87]) + longq)


# ---- tls ----------------------------------------------------------------------------------

def records_prefix(data, limit):
    """The leading whole TLS records of `data` totalling at most `limit` bytes."""
    off = 0
    while off + 5 <= len(data):
        n = struct.unpack(">H", data[off + 3:off + 5])[0]
        if off + 5 + n > limit:
            break
        off += 5 + n
    return data[:off]


def tls_seeds():
    for rel, name in (("tls/tls-certs-alert/input.pcap", "certs-alert"),
                      ("bug-5758/input.pcap", "bug-5758")):
        for to_server, to_client in streams(conf(rel), 443)[:1]:
            c = records_prefix(to_server, 4000)
            s = records_prefix(to_client, 12000)
            write("tls", name, two_sided(c, s, 7))
            write("tls", name + "-clienthello", two_sided(c, b"", 2))
    # A TLS 1.3-style ClientHello with GREASE, SNI, ALPN, supported_versions, split in two records.
    def ext(t, body):
        return struct.pack(">HH", t, len(body)) + body
    sni = ext(0, struct.pack(">HBH", 12, 0, 9) + b"localhost")
    exts = ext(0x0A0A, b"") + sni + ext(10, b"\x00\x04\x00\x1d\x00\x17") + ext(11, b"\x01\x00") + \
        ext(13, b"\x00\x04\x04\x03\x08\x04") + ext(16, b"\x00\x09\x02h2\x06spdy/1") + \
        ext(43, b"\x06\x0a\x0a\x03\x04\x03\x03") + ext(51, b"\x00\x00")
    body = b"\x03\x03" + bytes(32) + b"\x20" + bytes(range(32)) + \
        b"\x00\x06\x1a\x1a\x13\x01\xc0\x2f" + b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    hs = b"\x01" + struct.pack(">I", len(body))[1:] + body
    recs = b"\x16\x03\x01" + struct.pack(">H", 40) + hs[:40] + \
        b"\x16\x03\x01" + struct.pack(">H", len(hs) - 40) + hs[40:]
    sh_body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x01" + b"\x00" + \
        struct.pack(">H", 6) + ext(43, b"\x03\x04")
    sh = b"\x16\x03\x03" + struct.pack(">H", len(sh_body) + 4) + b"\x02" + \
        struct.pack(">I", len(sh_body))[1:] + sh_body + b"\x14\x03\x03\x00\x01\x01" + \
        b"\x17\x03\x03\x00\x04abcd"
    write("tls", "tls13-grease", two_sided(recs + b"\x14\x03\x03\x00\x01\x01", sh, 0x03))
    # SSLv2-framed ClientHello.
    v2 = b"\x01\x00\x02\x00\x03\x00\x00\x00\x10" + b"\x00\x00\x04" + bytes(16)
    write("tls", "sslv2", two_sided(bytes([0x80 | (len(v2) >> 8), len(v2) & 0xFF]) + v2, b"", 7))


# ---- rules --------------------------------------------------------------------------------

def rules_seeds():
    wanted = ["http.uri", "dns.query", "tls.sni", "pcre:", "flowbits:", "threshold:", "byte_test",
              "isdataat", "fast_pattern", "ja3", "http.header", "file.data", "within:", "dsize",
              "ipopts", "icode", "uricontent", "http_client_body", "detection_filter", "<>"]
    seen = set()
    root = os.path.join(CONF, "tests")
    files = []
    for dirpath, _, names in os.walk(root):
        files += [os.path.join(dirpath, n) for n in names if n.endswith(".rules")]
    for path in sorted(files):
        for line in open(path, errors="replace"):
            line = line.strip()
            if not line or line.startswith("#") or len(line) > 600:
                continue
            for w in wanted:
                if w in line and w not in seen:
                    seen.add(w)
                    write("rules", w.strip(":<>.").replace(".", "_") or "bidir", line.encode() + b"\n")
    write("rules", "multi", b"# comment\n\n"
          b"alert http $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:\"a\"; flow:established,to_server; \\\n"
          b"  http.method; content:\"GET\"; http.uri; content:\"/x|3a 3b|\"; nocase; distance:0; sid:1; rev:2;)\n"
          b"alert tcp any any -> any any (content:!\"abc\"; offset:2; depth:10; pcre:\"/a.+b/Ri\"; sid:2;)\n"
          b"drop udp [10.0.0.0/8,!10.1.0.0/16] ![53,1024:] <> any any (content:\"x\"; endswith; sid:3;)\n"
          b"alert ip any any -> any any (msg:\"dup\"; sid:1;)\n")


# ---- decode -------------------------------------------------------------------------------

DLT_INDEX = {1: 0, 12: 1, 228: 3, 229: 4, 0: 5, 113: 7, 104: 11}


def ipv4_frags(payload, ident, proto=17, size=24):
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        mf = 0x2000 if off + size < len(payload) else 0
        hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident, mf | (off // 8), 64,
                          proto, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        out.append(hdr + chunk)
    return out


def framed(frames):
    return b"".join(struct.pack(">H", len(f)) + f for f in frames)


def decode_seeds():
    picks = [("decode-nsh-type2/input.pcap", 1), ("bug-5633-gre-01/gre-udp.pcap", 1),
             ("detect-icmp-id-01/input.pcap", 1), ("detect-ipopts/input.pcap", 8),
             ("decode-chdlc-01/hdlc-http_1tx.pcap", 2), ("tcp-fastopen-01/tfo.pcap", 3),
             ("ipv6-evasion/ipv6-malformed-fragments-30/frag-30.pcap", 6)]
    for rel, n in picks:
        pk = list(packets(conf(rel)))[:n]
        base = rel.split("/")[-2]
        for i, (dlt, f) in enumerate(pk[:3]):
            write("decode", "%s-%d" % (base, i), bytes([DLT_INDEX[dlt]]) + f)
        if len(pk) > 1:
            write("decode", base + "-framed", bytes([DLT_INDEX[pk[0][0]]]) + framed([f for _, f in pk]))
    udp = struct.pack(">HHHH", 1234, 53, 8 + 60, 0) + bytes(range(60))
    frags = ipv4_frags(udp, 0x4242)
    write("decode", "ipv4-frags-raw", bytes([1]) + framed(frags))
    write("decode", "ipv4-frags-reversed", bytes([1]) + framed(frags[::-1] + frags[:1]))
    eth = bytes(6) + bytes([2] * 6) + b"\x81\x00\x00\x05\x08\x00"
    write("decode", "ipv4-frags-vlan", bytes([0]) + framed([eth + f for f in frags]))


if __name__ == "__main__":
    http_seeds()
    dns_seeds()
    tls_seeds()
    rules_seeds()
    decode_seeds()
    for t in sorted(os.listdir(os.path.join(HERE, "corpus"))):
        d = os.path.join(HERE, "corpus", t)
        files = os.listdir(d)
        print("%-8s %3d files %6d bytes" % (t, len(files), sum(os.path.getsize(os.path.join(d, f)) for f in files)))

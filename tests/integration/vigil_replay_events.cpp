// vigil-replay-events: a test sender. Drives the sensor's EventShipper with a deterministic
// event stream (what a sensor replaying a capture would ship), or sends hand-made bad messages
// straight over ZeroMQ to check that the correlator refuses and counts them.
//
//   vigil-replay-events --endpoint EP --server-key correlator.pub --keys sensor.key --sensor-id ID
//                       --spool DIR --events N [--rate EPS] [--batch B] [--drain-timeout S]
//   vigil-replay-events --raw MODE ...   MODE: garbage, truncated, mismatch, replay, unknown-key, plain
//
// Prints one JSON line of results; exit 0 on success, 3 when the spool did not drain in time.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include <zmq.h>

#include <nlohmann/json.hpp>

#include "vigil/core/codec.h"
#include "vigil/core/curve_keys.h"
#include "vigil/sensor/ship.h"

using namespace vigil;
using Clock = std::chrono::steady_clock;

namespace {

// Event i of the deterministic stream. Times are fixed (not the wall clock) so two runs agree.
core::Event make_event(uint64_t i) {
  static const char* kMsgs[] = {"ET SCAN Nmap Scripting Engine User-Agent Detected", "ET EXPLOIT Apache Struts RCE",
                                "ET POLICY SSH session in progress", "ET TROJAN Known C2 beacon",
                                "GPL ICMP_INFO PING *NIX"};
  static const char* kCats[] = {"Attempted Information Leak", "Attempted Administrator Privilege Gain",
                                "Potential Corporate Privacy Violation", "A Network Trojan was detected",
                                "Misc activity"};
  core::Event e;
  e.id = i + 1;
  e.time.usec = 1767225600000000LL + static_cast<int64_t>(i) * 1000;  // 1 ms apart from 2026-01-01
  uint64_t src = (i * 7) % 40;
  e.flow.src_ip = core::IpAddress::v4(0x0a000100u + static_cast<uint32_t>(src));
  e.flow.dst_ip = core::IpAddress::v4(0xc0a80a00u + static_cast<uint32_t>(i % 6));
  e.flow.src_port = static_cast<uint16_t>(30000 + i % 30000);
  e.flow.dst_port = static_cast<uint16_t>(i % 3 == 0 ? 80 : 443);
  e.flow.proto = 6;
  e.community_id = "1:" + std::to_string(i % 997);
  e.flow_id = 1000 + i;
  switch (i % 5) {
    case 0:
    case 1:
    case 2: {
      e.kind = core::EventKind::kAlert;
      size_t s = (i / 5) % 5;
      e.alert.gid = 1;
      e.alert.sid = 2100000 + static_cast<uint32_t>(s);
      e.alert.rev = 1;
      e.alert.msg = kMsgs[s];
      e.alert.category = kCats[s];
      e.alert.severity = static_cast<uint8_t>(1 + s % 3);
      e.app_proto = "http";
      break;
    }
    case 3:
      e.kind = core::EventKind::kDns;
      e.app_proto = "dns";
      e.app_json = R"({"type":"query","rrname":"host)" + std::to_string(i % 50) + R"(.example.vn","rrtype":"A"})";
      break;
    default:
      e.kind = core::EventKind::kFlow;
      e.app_json = R"({"pkts_toserver":3,"bytes_toserver":180})";
      break;
  }
  return e;
}

struct Args {
  std::string endpoint, server_key, keys, sensor_id = "sensor-1", spool, raw;
  uint64_t events = 1000, start = 0, rate = 0, batch = 100;
  double drain_timeout = 60, ack_timeout_ms = 1000;
};

int raw_mode(const Args& a) {
  auto server = core::read_curve_key_file(a.server_key);
  if (!server) {
    std::cerr << server.error().to_string() << "\n";
    return 2;
  }
  core::CurveKeyFile client;
  if (a.raw == "unknown-key") {
    char pub[41], sec[41];
    zmq_curve_keypair(pub, sec);
    client = {pub, sec};
  } else if (a.raw != "plain") {
    auto k = core::read_curve_key_file(a.keys);
    if (!k) {
      std::cerr << k.error().to_string() << "\n";
      return 2;
    }
    client = *k;
  }
  core::EventBatch b;
  b.sensor_id = a.raw == "mismatch" ? a.sensor_id + "-impostor" : a.sensor_id;
  b.seq = a.raw == "replay" ? 1 : 1'000'000;
  for (uint64_t i = 0; i < 10; ++i) b.events.push_back(make_event(i));
  std::string body = *core::encode_batch(b);
  if (a.raw == "garbage") body = "\x01\x02 this is not a batch \xff";
  if (a.raw == "truncated") body.resize(body.size() / 2);

  void* ctx = zmq_ctx_new();
  void* s = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
  if (a.raw != "plain") {
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server->public_key.c_str(), 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, client.public_key.c_str(), 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, client.secret_key.c_str(), 40);
  }
  zmq_connect(s, a.endpoint.c_str());
  zmq_send(s, body.data(), body.size(), 0);
  // Wait (bounded) for an ack; refused connections never get one.
  std::string result = "none";
  zmq_pollitem_t item{s, 0, ZMQ_POLLIN, 0};
  if (zmq_poll(&item, 1, static_cast<long>(a.ack_timeout_ms)) > 0) {
    char buf[4096];
    int n = zmq_recv(s, buf, sizeof buf, 0);
    auto ack = n > 0 ? core::decode_ack(std::string_view(buf, static_cast<size_t>(std::min<int>(n, sizeof buf)))) : core::Result<core::BatchAck>(core::make_error("empty"));
    static const char* kNames[] = {"ok", "duplicate", "rejected", "retry"};
    result = ack ? kNames[static_cast<int>(ack->status)] : "undecodable";
  }
  zmq_close(s);
  zmq_ctx_term(ctx);
  std::cout << nlohmann::json{{"mode", a.raw}, {"ack", result}}.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << k << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--endpoint") a.endpoint = next();
    else if (k == "--server-key") a.server_key = next();
    else if (k == "--keys") a.keys = next();
    else if (k == "--sensor-id") a.sensor_id = next();
    else if (k == "--spool") a.spool = next();
    else if (k == "--events") a.events = std::stoull(next());
    else if (k == "--start") a.start = std::stoull(next());
    else if (k == "--rate") a.rate = std::stoull(next());
    else if (k == "--batch") a.batch = std::stoull(next());
    else if (k == "--drain-timeout") a.drain_timeout = std::stod(next());
    else if (k == "--ack-timeout-ms") a.ack_timeout_ms = std::stod(next());
    else if (k == "--raw") a.raw = next();
    else {
      std::cerr << "unknown argument " << k << "\n";
      return 2;
    }
  }
  if (!a.raw.empty()) return raw_mode(a);

  auto server = core::read_curve_key_file(a.server_key);
  auto keys = sensor::load_curve_keys(a.keys);
  if (!server || !keys) {
    std::cerr << (server ? keys.error().to_string() : server.error().to_string()) << "\n";
    return 2;
  }
  sensor::ShipperConfig c;
  c.endpoint = a.endpoint;
  c.sensor_id = a.sensor_id;
  c.server_public_key = server->public_key;
  c.client_keys = *keys;
  c.spool_dir = a.spool;
  c.batch_max_events = a.batch;
  c.batch_max_delay = std::chrono::milliseconds(50);
  c.ack_timeout = std::chrono::milliseconds(static_cast<int64_t>(a.ack_timeout_ms));
  auto shipper = sensor::EventShipper::start(c);
  if (!shipper) {
    std::cerr << shipper.error().to_string() << "\n";
    return 2;
  }
  auto t0 = Clock::now();
  for (uint64_t i = a.start; i < a.start + a.events; ++i) {
    while (!(*shipper)->submit(make_event(i))) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (a.rate) {
      auto due = t0 + std::chrono::microseconds((i - a.start + 1) * 1000000 / a.rate);
      std::this_thread::sleep_until(due);
    }
  }
  bool drained = (*shipper)->wait_drained(std::chrono::milliseconds(static_cast<int64_t>(a.drain_timeout * 1000)));
  auto st = (*shipper)->stats();
  (*shipper)->stop();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::cout << nlohmann::json{{"drained", drained},
                              {"events_submitted", st.events_submitted},
                              {"events_dropped", st.events_dropped},
                              {"batches_spooled", st.batches_spooled},
                              {"batches_sent", st.batches_sent},
                              {"batches_resent", st.batches_resent},
                              {"batches_acked", st.batches_acked},
                              {"batches_rejected", st.batches_rejected},
                              {"retries", st.retries},
                              {"auth_failures", st.auth_failures},
                              {"spool_depth", st.spool_depth},
                              {"last_acked_seq", st.last_acked_seq},
                              {"seconds", secs}}
                   .dump()
            << std::endl;
  return drained ? 0 : 3;
}

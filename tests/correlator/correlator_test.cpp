// Contract A: the Correlator object, its write() hook (runs on the pipeline thread between
// commits, wakes the loop at once) and subscribe() hook. Real ZeroMQ CURVE, real RocksDB on disk.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include <zmq.h>

#include "support/temp_dir.h"
#include "vigil/core/codec.h"
#include "vigil/correlator/correlator.h"

using namespace vigil;
using namespace vigil::correlator;
using Clock = std::chrono::steady_clock;

namespace {

using TempDir = vigil::test_support::TempDir;

struct Keys {
  char server_pub[41], server_sec[41], client_pub[41], client_sec[41];
  Keys() {
    zmq_curve_keypair(server_pub, server_sec);
    zmq_curve_keypair(client_pub, client_sec);
  }
};

constexpr int64_t kT0 = 1'700'000'000'000'000;

core::Event alert_event(uint64_t id, int64_t usec_offset) {
  core::Event e;
  e.id = id;
  e.time.usec = kT0 + usec_offset;
  e.kind = core::EventKind::kAlert;
  e.flow.src_ip = core::IpAddress::v4(0x0a000001);
  e.flow.dst_ip = core::IpAddress::v4(0xc0a80001);
  e.flow.proto = 6;
  e.alert.sid = 2000001;
  e.alert.msg = "test signature";
  e.alert.severity = 2;
  return e;
}

// A sensor: CURVE DEALER that sends batches and collects acks.
struct Sender {
  void* ctx = zmq_ctx_new();
  void* s = nullptr;
  Sender(const Keys& k, const std::string& ep) {
    s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, k.server_pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, k.client_pub, 40);
    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, k.client_sec, 40);
    zmq_connect(s, ep.c_str());
  }
  ~Sender() {
    zmq_close(s);
    zmq_ctx_term(ctx);
  }
  void send(uint64_t seq, std::vector<core::Event> events) {
    core::EventBatch b;
    b.sensor_id = "s1";
    b.seq = seq;
    b.events = std::move(events);
    auto bytes = *core::encode_batch(b);
    zmq_send(s, bytes.data(), bytes.size(), 0);
  }
  // The next ack, or nullopt after 10 s.
  std::optional<core::BatchAck> ack() {
    zmq_pollitem_t it{s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 10000) <= 0) return std::nullopt;
    char buf[1024];
    int n = zmq_recv(s, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    auto a = core::decode_ack(std::string_view(buf, static_cast<size_t>(std::min<int>(n, sizeof buf))));
    if (!a) return std::nullopt;
    return *a;
  }
};

// Subscribers run just after the acks are sent: give them a moment.
template <typename F>
bool eventually(F pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

struct Running {
  RunFlags flags;
  std::unique_ptr<Correlator> c;
  std::thread thread;
  core::Status result;
  Running(const Keys& k, const TempDir& d, const std::function<void(CorrelatorConfig&)>& adjust = {}) {
    CorrelatorConfig cfg;
    cfg.listen = "ipc://" + (d.path / "c.sock").string();
    cfg.data_dir = d.path.string();
    cfg.server_public_key = k.server_pub;
    cfg.server_secret_key = k.server_sec;
    cfg.sensors.push_back({"s1", k.client_pub, "moh"});
    cfg.aggregation_window_usec = 3600'000'000;
    if (adjust) adjust(cfg);
    auto made = Correlator::create(cfg);
    REQUIRE(made.ok());
    c = std::move(*made);
    thread = std::thread([this] { result = c->run(flags); });
    for (int i = 0; i < 1000 && c->endpoint().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE_FALSE(c->endpoint().empty());
  }
  ~Running() {
    flags.stop = true;
    if (thread.joinable()) thread.join();
  }
};

}  // namespace

TEST_CASE("Correlator::write: an analyst's status survives events that keep updating the alert",
          "[correlator][hooks]") {
  TempDir d;
  Keys k;
  Running r(k, d);
  std::atomic<size_t> announced{0};
  r.c->subscribe([&](const std::vector<core::Alert>& changed) { announced += changed.size(); });
  Sender sensor(k, r.c->endpoint());

  sensor.send(1, {alert_event(1, 0)});
  auto a1 = sensor.ack();
  REQUIRE(a1);
  REQUIRE(a1->status == core::AckStatus::kOk);
  auto all = r.c->store().query_alerts({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  const core::RecordId id = all->front().id;
  CHECK(eventually([&] { return announced.load() == 1; }));

  // Batches 2..200 stream in (one event each, same aggregation key) without waiting for acks,
  // while the analyst acknowledges, assigns and notes the alert, then moves it to in-progress.
  constexpr uint64_t kBatches = 200;
  std::thread feeder([&] {
    for (uint64_t seq = 2; seq <= kBatches; ++seq) {
      sensor.send(seq, {alert_event(seq, static_cast<int64_t>(seq) * 1000)});
      if (seq % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  auto change = [&](core::AlertStatus s, const std::string& note) {
    return r.c->write([&](store::Store& st) {
      return st.update_alert(id, [&](core::Alert& a) {
        a.status = s;
        a.assignee = "analyst-7";
        a.notes.push_back({core::Timestamp::now(), "analyst-7", note});
      });
    });
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(change(core::AlertStatus::kAcknowledged, "looking").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(change(core::AlertStatus::kInProgress, "escalating to the agency").ok());
  feeder.join();
  size_t ok = 1;
  for (uint64_t i = 2; i <= kBatches; ++i) {
    auto a = sensor.ack();
    REQUIRE(a);
    if (a->status == core::AckStatus::kOk) ++ok;
  }
  CHECK(ok == kBatches);

  auto got = r.c->store().get_alert(id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  const core::Alert& a = **got;
  CHECK(a.count == kBatches);  // every event joined the alert
  CHECK(a.status == core::AlertStatus::kInProgress);
  CHECK(a.assignee == "analyst-7");
  REQUIRE(a.notes.size() == 2);
  CHECK(a.notes[1].text == "escalating to the agency");
  // The indexes agree: no stale "new"/"acknowledged" entry, the current one present.
  store::AlertQuery q;
  q.status = core::AlertStatus::kNew;
  CHECK(r.c->store().query_alerts(q)->empty());
  q.status = core::AlertStatus::kAcknowledged;
  CHECK(r.c->store().query_alerts(q)->empty());
  q.status = core::AlertStatus::kInProgress;
  CHECK(r.c->store().query_alerts(q)->size() == 1);
  store::AlertQuery qa;
  qa.assignee = "analyst-7";
  CHECK(r.c->store().query_alerts(qa)->size() == 1);
  CHECK(announced.load() >= 2);

  r.flags.stop = true;
  r.thread.join();
  REQUIRE(r.result.ok());
}

TEST_CASE("Correlator::write wakes the pipeline promptly, runs on its thread, and runs directly when stopped",
          "[correlator][hooks]") {
  TempDir d;
  Keys k;
  std::atomic<std::thread::id> pipeline_id{};
  {
    Running r(k, d);
    r.c->subscribe([&](const std::vector<core::Alert>&) { pipeline_id = std::this_thread::get_id(); });
    Sender sensor(k, r.c->endpoint());
    sensor.send(1, {alert_event(1, 0)});
    REQUIRE(sensor.ack());
    REQUIRE(eventually([&] { return pipeline_id.load() != std::thread::id{}; }));
    std::vector<double> ms;
    for (int i = 0; i < 20; ++i) {
      std::thread::id ran_on;
      auto t = Clock::now();
      auto st = r.c->write([&](store::Store&) {
        ran_on = std::this_thread::get_id();
        return core::Status{};
      });
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
      REQUIRE(st.ok());
      CHECK(ran_on == pipeline_id.load());
    }
    std::sort(ms.begin(), ms.end());
    INFO("median write() round trip " << ms[ms.size() / 2] << " ms");
    CHECK(ms[ms.size() / 2] < 50.0);  // the idle poll timeout is 100 ms: a missed wake-up shows here
    // An error from fn comes back to the caller.
    auto bad = r.c->write([](store::Store&) -> core::Status { return core::make_error("refused by test"); });
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().to_string().find("refused by test") != std::string::npos);
  }
  // Not running: fn runs on the caller's thread.
  CorrelatorConfig cfg;
  cfg.data_dir = (d.path / "idle").string();
  auto c = Correlator::create(cfg);
  REQUIRE(c.ok());
  std::thread::id ran_on;
  REQUIRE((*c)->write([&](store::Store&) {
                 ran_on = std::this_thread::get_id();
                 return core::Status{};
               })
              .ok());
  CHECK(ran_on == std::this_thread::get_id());
}

// The PUB publisher asks the policy like every other enforcement point: with a policy it
// publishes only what `publish.as_user` may read, redacted for that user.
namespace {

constexpr const char* kPublishPolicy = R"(
tenants:
  - name: moh
    networks: [10.0.0.0/8]
assets:
  - name: records-db
    tenant: moh
    networks: [10.9.0.0/16]
    sys_level: 4
users:
  - name: bus
    tenant: moh
    scope: ["*"]
    role: analyst
    clearance: internal
)";

}  // namespace

TEST_CASE("the alert PUB publishes only what its policy user may read", "[correlator][policy]") {
  Keys k;
  TempDir d;
  std::ofstream(d.path / "policy.yaml") << kPublishPolicy;
  std::string pub_ep = "ipc://" + (d.path / "pub.sock").string();
  auto adjust = [&](CorrelatorConfig& c) {
    c.policy_file = (d.path / "policy.yaml").string();
    c.publish_endpoint = pub_ep;
  };

  SECTION("publish.as_user is required with a policy, and must be a policy user") {
    CorrelatorConfig cfg;
    cfg.listen = "ipc://" + (d.path / "c.sock").string();
    cfg.data_dir = d.path.string();
    cfg.source = "correlator.yaml";
    adjust(cfg);
    auto none = Correlator::create(cfg);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().to_string().find("key 'publish.as_user'") != std::string::npos);
    cfg.publish_as_user = "nobody";
    auto unknown = Correlator::create(cfg);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().to_string().find("no such user") != std::string::npos);
  }

  SECTION("a secret alert is withheld, an internal one is published") {
    Running r(k, d, [&](CorrelatorConfig& c) {
      adjust(c);
      c.publish_as_user = "bus";
    });
    void* ctx = zmq_ctx_new();
    void* sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    REQUIRE(zmq_connect(sub, pub_ep.c_str()) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // PUB/SUB join

    Sender s(k, r.c->endpoint());
    auto secret = alert_event(1, 0);
    secret.flow.dst_ip = core::IpAddress::v4(0x0a090001);  // 10.9.0.1: the level-4 asset
    secret.alert.sid = 2000002;
    auto internal = alert_event(2, 1000);  // 10.0.0.1 -> 192.168.0.1: no asset, internal
    s.send(1, {secret, internal});
    auto ack = s.ack();
    REQUIRE(ack);
    CHECK(ack->status == core::AckStatus::kOk);

    std::vector<nlohmann::json> got;
    for (int i = 0; i < 20; ++i) {
      zmq_pollitem_t it{sub, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&it, 1, 100) <= 0) continue;
      zmq_msg_t topic, body;
      zmq_msg_init(&topic);
      zmq_msg_init(&body);
      zmq_msg_recv(&topic, sub, 0);
      zmq_msg_recv(&body, sub, 0);
      got.push_back(nlohmann::json::parse(
          std::string(static_cast<const char*>(zmq_msg_data(&body)), zmq_msg_size(&body))));
      zmq_msg_close(&topic);
      zmq_msg_close(&body);
    }
    zmq_close(sub);
    zmq_ctx_term(ctx);

    REQUIRE(got.size() == 1);
    CHECK(got[0]["signature_id"] == 2000001);
    CHECK(got[0]["level"] == "internal");
    REQUIRE(eventually([&] { return r.c->stats().value("alerts_withheld", 0) == 1; }));
    CHECK(r.c->stats().value("alerts_published", 0) == 1);
  }
}

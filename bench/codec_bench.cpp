// Codec micro-benchmark: flatbuffers (the core codec, vigil/core/codec.h) against protobuf on the
// same event batches, encode + decode into vigil::core::EventBatch. Decoding includes validation
// (flatbuffers' Verifier; protobuf's parser), because the correlator decodes untrusted bytes.
//
//   codec_bench [--events N] [--batch B]
//
// Prints events/s for each and the ratio. docs/transport.md records the run that chose
// flatbuffers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <google/protobuf/arena.h>

#include "vigil/core/codec.h"
#include "vigil_event.pb.h"

using vigil::core::Event;
using vigil::core::EventBatch;
using vigil::core::EventKind;
using vigil::core::IpAddress;

namespace {

EventBatch make_batch(size_t n, uint64_t seq) {
  EventBatch b;
  b.sensor_id = "sensor-hanoi-01";
  b.seq = seq;
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.id = seq * 100000 + i;
    e.time.usec = 1767225600000000LL + static_cast<int64_t>(i) * 137;
    static constexpr EventKind kinds[] = {EventKind::kAlert, EventKind::kFlow, EventKind::kHttp, EventKind::kDns};
    e.kind = kinds[i % 4];
    e.flow.src_ip = IpAddress::v4(0x0a000000u + static_cast<uint32_t>(i % 251));
    e.flow.dst_ip = IpAddress::v4(0xc0a80000u + static_cast<uint32_t>(i % 17));
    e.flow.src_port = static_cast<uint16_t>(40000 + i % 20000);
    e.flow.dst_port = 443;
    e.flow.proto = 6;
    e.community_id = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
    e.flow_id = 1234567890123ull + i;
    e.vlan = 100;
    e.app_proto = "http";
    if (e.kind == EventKind::kAlert) {
      e.alert.gid = 1;
      e.alert.sid = 2010000 + static_cast<uint32_t>(i % 50);
      e.alert.rev = 3;
      e.alert.msg = "ET SCAN Suspicious inbound to mySQL port 3306";
      e.alert.category = "Potentially Bad Traffic";
      e.alert.severity = 2;
      e.alert.action = "allowed";
    } else if (e.kind == EventKind::kHttp) {
      e.app_json = R"({"hostname":"portal.example.gov.vn","url":"/login.php?id=1","http_user_agent":"Mozilla/5.0","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5120})";
    } else if (e.kind == EventKind::kDns) {
      e.app_json = R"({"type":"query","id":4242,"rrname":"update.example.com","rrtype":"A","tx_id":0})";
    }
    e.labels.tlp = "amber";
    b.events.push_back(std::move(e));
  }
  return b;
}

// ---- protobuf codec over the same domain types (what core would do had protobuf won) ----
void pb_ip(const IpAddress& ip, std::string* out) {
  const auto& b = ip.bytes();
  if (ip.is_v4()) out->assign(reinterpret_cast<const char*>(b.data()) + 12, 4);
  else out->assign(reinterpret_cast<const char*>(b.data()), 16);
}

IpAddress pb_get_ip(const std::string& s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  if (s.size() == 4) return IpAddress::v4_bytes(p);
  if (s.size() == 16) return IpAddress::v6_bytes(p);
  return {};
}

bool pb_encode(const EventBatch& batch, std::string& out) {
  google::protobuf::Arena arena;
  auto* w = google::protobuf::Arena::CreateMessage<vigil::pb::Batch>(&arena);
  w->set_sensor_id(batch.sensor_id);
  w->set_seq(batch.seq);
  w->set_schema_version(batch.schema_version);
  w->mutable_events()->Reserve(static_cast<int>(batch.events.size()));
  for (const auto& e : batch.events) {
    auto* we = w->add_events();
    we->set_id(e.id);
    we->set_time_usec(e.time.usec);
    we->set_kind(static_cast<vigil::pb::Kind>(e.kind));
    auto* f = we->mutable_flow();
    pb_ip(e.flow.src_ip, f->mutable_src_ip());
    pb_ip(e.flow.dst_ip, f->mutable_dst_ip());
    f->set_src_port(e.flow.src_port);
    f->set_dst_port(e.flow.dst_port);
    f->set_proto(e.flow.proto);
    we->set_community_id(e.community_id);
    we->set_flow_id(e.flow_id);
    we->set_vlan(e.vlan);
    we->set_vni(e.vni);
    we->set_app_proto(e.app_proto);
    if (e.kind == EventKind::kAlert) {
      auto* a = we->mutable_alert();
      a->set_gid(e.alert.gid);
      a->set_sid(e.alert.sid);
      a->set_rev(e.alert.rev);
      a->set_msg(e.alert.msg);
      a->set_category(e.alert.category);
      a->set_severity(e.alert.severity);
      a->set_action(e.alert.action);
    }
    if (!e.app_json.empty()) we->set_app_json(e.app_json);
    auto* l = we->mutable_labels();
    l->set_sys_level(e.labels.sys_level);
    l->set_importance(e.labels.importance);
    l->set_pii(e.labels.pii);
    l->set_secrecy(e.labels.secrecy);
    l->set_tlp(e.labels.tlp);
    for (const auto& t : e.labels.tags) l->add_tags(t);
  }
  return w->AppendToString(&out);
}

bool pb_decode(const std::string& bytes, EventBatch& out) {
  google::protobuf::Arena arena;
  auto* w = google::protobuf::Arena::CreateMessage<vigil::pb::Batch>(&arena);
  if (!w->ParseFromString(bytes)) return false;
  out.sensor_id = w->sensor_id();
  out.seq = w->seq();
  out.schema_version = w->schema_version();
  out.events.clear();
  out.events.resize(static_cast<size_t>(w->events_size()));
  for (int i = 0; i < w->events_size(); ++i) {
    const auto& we = w->events(i);
    Event& e = out.events[static_cast<size_t>(i)];
    e.id = we.id();
    e.time.usec = we.time_usec();
    e.kind = static_cast<EventKind>(we.kind());
    e.flow.src_ip = pb_get_ip(we.flow().src_ip());
    e.flow.dst_ip = pb_get_ip(we.flow().dst_ip());
    e.flow.src_port = static_cast<uint16_t>(we.flow().src_port());
    e.flow.dst_port = static_cast<uint16_t>(we.flow().dst_port());
    e.flow.proto = static_cast<uint8_t>(we.flow().proto());
    e.community_id = we.community_id();
    e.flow_id = we.flow_id();
    e.vlan = static_cast<uint16_t>(we.vlan());
    e.vni = we.vni();
    e.app_proto = we.app_proto();
    if (we.has_alert()) {
      const auto& a = we.alert();
      e.alert.gid = a.gid();
      e.alert.sid = a.sid();
      e.alert.rev = a.rev();
      e.alert.msg = a.msg();
      e.alert.category = a.category();
      e.alert.severity = static_cast<uint8_t>(a.severity());
      e.alert.action = a.action();
    }
    e.app_json = we.app_json();
    const auto& l = we.labels();
    e.labels.sys_level = static_cast<uint8_t>(l.sys_level());
    e.labels.importance = l.importance();
    e.labels.pii = l.pii();
    e.labels.secrecy = l.secrecy();
    e.labels.tlp = l.tlp();
    e.labels.tags.assign(l.tags().begin(), l.tags().end());
  }
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t total = 400000;
  size_t batch_size = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--events")) total = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--batch")) batch_size = std::strtoull(argv[i + 1], nullptr, 10);
  }
  batch_size = std::max<size_t>(1, batch_size);
  const size_t rounds = std::max<size_t>(1, total / batch_size);
  const EventBatch batch = make_batch(batch_size, 7);
  const double n = static_cast<double>(rounds * batch_size);

  // Both codecs must round-trip the records exactly before they are timed.
  std::string fb_bytes = *vigil::core::encode_batch(batch);
  std::string pb_bytes;
  EventBatch pb_check;
  auto fb_check = vigil::core::decode_batch(fb_bytes);
  if (!pb_encode(batch, pb_bytes) || !pb_decode(pb_bytes, pb_check) || !(pb_check == batch) || !fb_check ||
      !(*fb_check == batch)) {
    std::fprintf(stderr, "codec round trip mismatch\n");
    return 1;
  }
  std::printf("encoded bytes per event: flatbuffers %.1f, protobuf %.1f\n",
              static_cast<double>(fb_bytes.size()) / batch_size, static_cast<double>(pb_bytes.size()) / batch_size);

  size_t sink = 0;
  std::string buf;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds; ++r) {
    buf.clear();
    if (!vigil::core::encode_batch_into(batch, buf)) return 1;
    auto dec = vigil::core::decode_batch(buf);
    if (!dec) return 1;
    sink += dec->events.size();
  }
  const double fb_s = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  EventBatch out;
  for (size_t r = 0; r < rounds; ++r) {
    buf.clear();
    if (!pb_encode(batch, buf) || !pb_decode(buf, out)) return 1;
    sink += out.events.size();
  }
  const double pb_s = seconds_since(t0);

  // Decode alone: the correlator's share of the cost.
  t0 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds; ++r) {
    auto dec = vigil::core::decode_batch(fb_bytes);
    if (!dec) return 1;
    sink += dec->events.size();
  }
  const double fb_dec_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  for (size_t r = 0; r < rounds; ++r) {
    if (!pb_decode(pb_bytes, out)) return 1;
    sink += out.events.size();
  }
  const double pb_dec_s = seconds_since(t0);

  std::printf("codec encode+decode, %zu events in batches of %zu (checksum %zu)\n", rounds * batch_size,
              batch_size, sink);
  std::printf("flatbuffers: %12.0f events/s  (decode only %12.0f events/s)\n", n / fb_s, n / fb_dec_s);
  std::printf("protobuf:    %12.0f events/s  (decode only %12.0f events/s)\n", n / pb_s, n / pb_dec_s);
  std::printf("ratio flatbuffers/protobuf: %.2f (decode only %.2f)\n", pb_s / fb_s, pb_dec_s / fb_dec_s);
  return 0;
}

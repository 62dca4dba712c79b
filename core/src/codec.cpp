#include "vigil/core/codec.h"

#include <cstring>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "vigil_event_generated.h"

namespace vigil::core {

namespace fb = vigil::wire;

namespace {

constexpr std::string_view kKindNames[kEventKindCount] = {"unknown", "alert", "flow", "http",
                                                          "dns",     "tls",   "classification"};

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> put_ip(flatbuffers::FlatBufferBuilder& fbb,
                                                         const IpAddress& ip) {
  if (ip == IpAddress()) return 0;
  const auto& b = ip.bytes();
  if (ip.is_v4()) return fbb.CreateVector(b.data() + 12, 4);
  return fbb.CreateVector(b.data(), 16);
}

bool get_ip(const flatbuffers::Vector<uint8_t>* v, IpAddress& out) {
  if (!v || v->size() == 0) {
    out = IpAddress();
  } else if (v->size() == 4) {
    out = IpAddress::v4_bytes(v->data());
  } else if (v->size() == 16) {
    out = IpAddress::v6_bytes(v->data());
  } else {
    return false;
  }
  return true;
}

flatbuffers::Offset<flatbuffers::String> put_str(flatbuffers::FlatBufferBuilder& fbb, const std::string& s) {
  return s.empty() ? flatbuffers::Offset<flatbuffers::String>() : fbb.CreateString(s);
}

std::string get_str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

flatbuffers::Offset<fb::Event> to_wire(flatbuffers::FlatBufferBuilder& fbb, const Event& e) {
  auto src = put_ip(fbb, e.flow.src_ip);
  auto dst = put_ip(fbb, e.flow.dst_ip);
  auto flow = fb::CreateFlowTuple(fbb, src, dst, e.flow.src_port, e.flow.dst_port, e.flow.proto);
  auto cid = put_str(fbb, e.community_id);
  auto app_proto = put_str(fbb, e.app_proto);
  flatbuffers::Offset<fb::AlertFields> alert;
  if (e.kind == EventKind::kAlert) {
    auto msg = put_str(fbb, e.alert.msg);
    auto cat = put_str(fbb, e.alert.category);
    auto act = put_str(fbb, e.alert.action);
    alert = fb::CreateAlertFields(fbb, e.alert.gid, e.alert.sid, e.alert.rev, msg, cat, e.alert.severity, act);
  }
  auto app_json = put_str(fbb, e.app_json);
  flatbuffers::Offset<fb::Labels> labels;
  const auto& l = e.labels;
  if (l.sys_level || !l.importance.empty() || !l.pii.empty() || !l.secrecy.empty() || !l.tlp.empty() ||
      !l.tags.empty()) {
    auto imp = put_str(fbb, l.importance);
    auto pii = put_str(fbb, l.pii);
    auto sec = put_str(fbb, l.secrecy);
    auto tlp = put_str(fbb, l.tlp);
    auto tags = l.tags.empty() ? 0 : fbb.CreateVectorOfStrings(l.tags);
    labels = fb::CreateLabels(fbb, l.sys_level, imp, pii, sec, tlp, tags);
  }
  return fb::CreateEvent(fbb, e.id, e.time.usec, static_cast<uint8_t>(e.kind), flow, cid, e.flow_id, e.vlan,
                         e.vni, app_proto, alert, app_json, labels);
}

Status from_wire(const fb::Event& w, Event& e, size_t index) {
  auto bad = [index](const std::string& what) { return make_error(what, "event " + std::to_string(index)); };
  e.id = w.id();
  e.time.usec = w.time_usec();
  if (w.kind() == 0 || w.kind() >= kEventKindCount) return bad("unknown event kind " + std::to_string(w.kind()));
  e.kind = static_cast<EventKind>(w.kind());
  if (const auto* f = w.flow()) {
    if (!get_ip(f->src_ip(), e.flow.src_ip) || !get_ip(f->dst_ip(), e.flow.dst_ip)) {
      return bad("IP address must be 4 or 16 bytes");
    }
    e.flow.src_port = f->src_port();
    e.flow.dst_port = f->dst_port();
    e.flow.proto = f->proto();
  }
  e.community_id = get_str(w.community_id());
  e.flow_id = w.flow_id();
  if (w.vlan() > 4095) return bad("vlan out of range");
  e.vlan = w.vlan();
  e.vni = w.vni();
  e.app_proto = get_str(w.app_proto());
  if (const auto* a = w.alert()) {
    e.alert.gid = a->gid();
    e.alert.sid = a->sid();
    e.alert.rev = a->rev();
    e.alert.msg = get_str(a->msg());
    e.alert.category = get_str(a->category());
    e.alert.severity = a->severity();
    e.alert.action = get_str(a->action());
  } else if (e.kind == EventKind::kAlert) {
    return bad("alert event without alert fields");
  }
  e.app_json = get_str(w.app_json());
  if (const auto* l = w.labels()) {
    if (l->sys_level() > 5) return bad("sys_level out of range");
    e.labels.sys_level = l->sys_level();
    e.labels.importance = get_str(l->importance());
    e.labels.pii = get_str(l->pii());
    e.labels.secrecy = get_str(l->secrecy());
    e.labels.tlp = get_str(l->tlp());
    if (const auto* tags = l->tags()) {
      e.labels.tags.reserve(tags->size());
      for (const auto* t : *tags) e.labels.tags.push_back(get_str(t));
    }
  }
  return {};
}

flatbuffers::Verifier::Options verifier_options() {
  flatbuffers::Verifier::Options o;
  o.max_depth = 16;
  o.max_tables = 16 * kMaxEventsPerBatch;
  return o;
}

}  // namespace

std::string_view to_string(EventKind kind) {
  auto i = static_cast<size_t>(kind);
  return i < std::size(kKindNames) ? kKindNames[i] : "unknown";
}

std::optional<EventKind> parse_event_kind(std::string_view text) {
  for (int i = 1; i < kEventKindCount; ++i) {
    if (kKindNames[i] == text) return static_cast<EventKind>(i);
  }
  return std::nullopt;
}

Status encode_batch_into(const EventBatch& batch, std::string& out) {
  // One builder per thread, reused: encoding allocates nothing once it has grown.
  thread_local flatbuffers::FlatBufferBuilder fbb(1 << 16);
  thread_local std::vector<flatbuffers::Offset<fb::Event>> offsets;
  fbb.Clear();
  offsets.clear();
  offsets.reserve(batch.events.size());
  for (const auto& e : batch.events) offsets.push_back(to_wire(fbb, e));
  auto events = fbb.CreateVector(offsets);
  auto sensor = fbb.CreateString(batch.sensor_id);
  fb::FinishBatchBuffer(fbb, fb::CreateBatch(fbb, sensor, batch.seq, batch.schema_version, events));
  if (fbb.GetSize() > kMaxBatchBytes) {
    return make_error("batch of " + std::to_string(fbb.GetSize()) + " bytes exceeds the limit");
  }
  out.append(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
  if (fbb.GetSize() > (4u << 20)) fbb.Reset();  // do not keep a huge buffer per thread
  return {};
}

Result<std::string> encode_batch(const EventBatch& batch) {
  std::string out;
  if (auto st = encode_batch_into(batch, out); !st) return st.error();
  return out;
}

Result<EventBatch> decode_batch(std::string_view bytes) {
  if (bytes.size() > kMaxBatchBytes) return make_error("batch exceeds the size limit");
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  // The verifier checks alignment; bytes straight off a socket need not be aligned.
  std::vector<uint64_t> aligned;
  if (reinterpret_cast<uintptr_t>(data) % alignof(uint64_t) != 0) {
    aligned.resize((bytes.size() + 7) / 8);
    std::memcpy(aligned.data(), bytes.data(), bytes.size());
    data = reinterpret_cast<const uint8_t*>(aligned.data());
  }
  if (bytes.size() < 8 || !fb::BatchBufferHasIdentifier(data)) return make_error("not a batch (bad identifier)");
  flatbuffers::Verifier verifier(data, bytes.size(), verifier_options());
  if (!fb::VerifyBatchBuffer(verifier)) return make_error("malformed batch (verification failed)");
  const auto* w = fb::GetBatch(data);
  EventBatch b;
  b.sensor_id = get_str(w->sensor_id());
  b.seq = w->seq();
  b.schema_version = w->schema_version();
  if (b.sensor_id.empty()) return make_error("batch without sensor_id");
  if (b.seq == 0) return make_error("batch without seq");
  if (b.schema_version == 0 || b.schema_version > kSchemaVersion) {
    return make_error("unsupported schema version " + std::to_string(b.schema_version));
  }
  if (const auto* evs = w->events()) {
    if (evs->size() > kMaxEventsPerBatch) return make_error("too many events in one batch");
    b.events.resize(evs->size());
    for (flatbuffers::uoffset_t i = 0; i < evs->size(); ++i) {
      if (auto st = from_wire(*evs->Get(i), b.events[i], i); !st) return st.error();
    }
  }
  return b;
}

std::string encode_ack(const BatchAck& ack) {
  flatbuffers::FlatBufferBuilder fbb(128);
  auto sensor = fbb.CreateString(ack.sensor_id);
  auto reason = put_str(fbb, ack.reason);
  fbb.Finish(fb::CreateAck(fbb, sensor, ack.seq, static_cast<uint8_t>(ack.status), reason), "VGEA");
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Result<BatchAck> decode_ack(std::string_view bytes) {
  std::vector<uint64_t> aligned((bytes.size() + 7) / 8);
  if (!bytes.empty()) std::memcpy(aligned.data(), bytes.data(), bytes.size());
  const auto* data = reinterpret_cast<const uint8_t*>(aligned.data());
  if (bytes.size() < 8 || !flatbuffers::BufferHasIdentifier(data, "VGEA")) return make_error("not an ack");
  flatbuffers::Verifier verifier(data, bytes.size());
  if (!verifier.VerifyBuffer<fb::Ack>("VGEA")) return make_error("malformed ack");
  const auto* w = flatbuffers::GetRoot<fb::Ack>(data);
  if (w->status() > static_cast<uint8_t>(AckStatus::kRetry)) return make_error("unknown ack status");
  BatchAck a;
  a.sensor_id = get_str(w->sensor_id());
  a.seq = w->seq();
  a.status = static_cast<AckStatus>(w->status());
  a.reason = get_str(w->reason());
  return a;
}

}  // namespace vigil::core

#include "vigil/correlator/pipeline.h"

#include <chrono>

#include "vigil/core/codec.h"
#include "vigil/core/log.h"

namespace vigil::correlator {

using core::AckStatus;
using core::BatchAck;

Pipeline::Pipeline(store::Store& store, std::shared_ptr<const CorrelatorConfig> config,
                   std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel)
    : store_(store), config_(config), engine_(config, std::move(rules), std::move(intel)), log_(core::logger("correlator")) {}

core::Status Pipeline::start() { return engine_.restore(store_); }

void Pipeline::reload(std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel) {
  engine_.reload(std::move(rules), std::move(intel));
}

core::Result<uint64_t> Pipeline::hwm(const std::string& sensor) {
  if (auto it = hwm_.find(sensor); it != hwm_.end()) return it->second;
  auto v = store_.high_water_mark(sensor);
  if (!v) return v.error();
  hwm_[sensor] = *v;
  return *v;
}

namespace {
using Clock = std::chrono::steady_clock;
uint64_t usec_since(Clock::time_point& t) {
  auto now = Clock::now();
  auto d = std::chrono::duration_cast<std::chrono::microseconds>(now - t).count();
  t = now;
  return static_cast<uint64_t>(d);
}
}  // namespace

std::vector<BatchAck> Pipeline::ingest(std::vector<IncomingBatch>& in) {
  auto clock = Clock::now();
  uint64_t decode_usec = 0;
  std::vector<BatchAck> acks(in.size());
  std::vector<size_t> stored;  // indexes of batches in this commit
  std::unordered_map<std::string, uint64_t> pending;  // high-water marks inside this commit
  batch_.clear();
  changed_.clear();
  uint64_t events = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    ++counters_.batches_received;
    BatchAck& ack = acks[i];
    ack.sensor_id = in[i].peer_sensor;
    usec_since(clock);
    auto b = core::decode_batch(in[i].bytes);
    decode_usec += usec_since(clock);
    if (!b) {
      ++counters_.batches_malformed;
      ack.status = AckStatus::kRejected;
      ack.reason = b.error().to_string();
      log_->warn("malformed batch from sensor {}: {}", in[i].peer_sensor, ack.reason);
      continue;
    }
    ack.seq = b->seq;
    if (b->sensor_id != in[i].peer_sensor) {
      ++counters_.batches_sensor_mismatch;
      ack.status = AckStatus::kRejected;
      ack.reason = "batch claims sensor '" + b->sensor_id + "' but the key belongs to '" + in[i].peer_sensor + "'";
      log_->warn("{}", ack.reason);
      continue;
    }
    uint64_t mark = 0;
    if (auto it = pending.find(b->sensor_id); it != pending.end()) {
      mark = it->second;
    } else {
      auto h = hwm(b->sensor_id);
      if (!h) {
        ack.status = AckStatus::kRetry;
        ack.reason = h.error().to_string();
        continue;
      }
      mark = *h;
    }
    if (b->seq <= mark) {
      ++counters_.batches_duplicate;
      ack.status = AckStatus::kDuplicate;
      continue;
    }
    if (b->seq != mark + 1) {
      // An earlier batch is missing (lost with a connection): take nothing until it comes, so
      // that the high-water mark never skips a batch the sensor still holds.
      ++counters_.batches_out_of_order;
      ack.status = AckStatus::kRetry;
      ack.reason = "expected seq " + std::to_string(mark + 1);
      continue;
    }
    for (auto& e : b->events) {
      core::StoredEvent se;
      se.sensor = b->sensor_id;
      se.event = std::move(e);
      engine_.process(se);
      batch_.put_event(se);
    }
    counters_.usec_correlate += usec_since(clock);
    events += b->events.size();
    pending[b->sensor_id] = b->seq;
    batch_.set_high_water_mark(b->sensor_id, b->seq);
    ack.status = AckStatus::kOk;
    stored.push_back(i);
  }
  counters_.usec_decode += decode_usec;
  if (stored.empty()) return acks;

  usec_since(clock);
  engine_.flush_into(batch_, &changed_);
  counters_.usec_flush += usec_since(clock);
  const size_t bytes = batch_.byte_size();
  auto st = store_.commit(batch_);
  counters_.usec_commit += usec_since(clock);
  batch_.clear();
  if (!st) {
    ++counters_.commit_failures;
    log_->error("commit failed, asking sensors to resend: {}", st.error().to_string());
    for (size_t i : stored) {
      acks[i].status = AckStatus::kRetry;
      acks[i].reason = "store unavailable";
    }
    changed_.clear();
    if (auto rs = engine_.restore(store_); !rs) log_->error("cannot reload correlation state: {}", rs.error().to_string());
    return acks;
  }
  ++counters_.commits;
  counters_.commit_bytes += bytes;
  for (auto& [sensor, seq] : pending) hwm_[sensor] = seq;
  counters_.batches_stored += stored.size();
  counters_.events_stored += events;
  return acks;
}

}  // namespace vigil::correlator

#include "vigil/correlator/pipeline.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "vigil/core/codec.h"
#include "vigil/core/log.h"

namespace vigil::correlator {

using core::AckStatus;
using core::BatchAck;

namespace {
using Clock = std::chrono::steady_clock;
uint64_t usec_since(Clock::time_point& t) {
  auto now = Clock::now();
  auto d = std::chrono::duration_cast<std::chrono::microseconds>(now - t).count();
  t = now;
  return static_cast<uint64_t>(d);
}
}  // namespace

void Pipeline::Commit::reset() {
  batch.clear();
  tags.clear();
  seqs.clear();
  sensors.clear();
  marks.clear();
  changed.clear();
  events = 0;
  bytes = 0;
  flushes = 0;
  result = {};
  usec = 0;
}

Pipeline::Pipeline(store::Store& store, std::shared_ptr<const CorrelatorConfig> config,
                   std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel)
    : store_(store), config_(config), engine_(config, std::move(rules), std::move(intel)), log_(core::logger("correlator")) {
  done_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (done_fd_ < 0) log_->error("eventfd failed: commits are waited for by polling");
  committer_ = std::thread([this] { commit_loop(); });
}

Pipeline::~Pipeline() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  committer_.join();  // finishes the commit in flight first
  if (done_fd_ >= 0) ::close(done_fd_);
}

void Pipeline::commit_loop() {
  pthread_setname_np(pthread_self(), "vigil-commit");  // for top/perf
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return quit_ || (job_ != nullptr && !job_done_); });
    if (job_ == nullptr || job_done_) return;  // quit with nothing to do
    Commit* c = job_;
    lock.unlock();
    auto t = Clock::now();
    c->result = store_.commit(c->batch);
    c->usec = usec_since(t);
    lock.lock();
    job_done_ = true;
    if (done_fd_ >= 0) {
      uint64_t one = 1;
      (void)!::write(done_fd_, &one, sizeof one);
    }
    cv_.notify_all();
  }
}

core::Status Pipeline::start() {
  hwm_.clear();
  expected_.clear();
  return engine_.restore(store_);
}

void Pipeline::reload(std::shared_ptr<const RuleSet> rules, std::shared_ptr<const ThreatIntel> intel) {
  engine_.reload(std::move(rules), std::move(intel));
}

core::Result<uint64_t> Pipeline::durable_hwm(const std::string& sensor) {
  if (auto it = hwm_.find(sensor); it != hwm_.end()) return it->second;
  auto v = store_.high_water_mark(sensor);
  if (!v) return v.error();
  hwm_[sensor] = *v;
  return *v;
}

std::optional<BatchAck> Pipeline::add(IncomingBatch& in, Tag tag) {
  auto clock = Clock::now();
  ++counters_.batches_received;
  BatchAck ack;
  ack.sensor_id = in.peer_sensor;
  auto b = core::decode_batch(in.bytes);
  counters_.usec_decode += usec_since(clock);
  if (!b) {
    ++counters_.batches_malformed;
    ack.status = AckStatus::kRejected;
    ack.reason = b.error().to_string();
    log_->warn("malformed batch from sensor {}: {}", in.peer_sensor, ack.reason);
    return ack;
  }
  ack.seq = b->seq;
  if (b->sensor_id != in.peer_sensor) {
    ++counters_.batches_sensor_mismatch;
    ack.status = AckStatus::kRejected;
    ack.reason = "batch claims sensor '" + b->sensor_id + "' but the key belongs to '" + in.peer_sensor + "'";
    log_->warn("{}", ack.reason);
    return ack;
  }
  auto h = durable_hwm(b->sensor_id);
  if (!h) {
    ack.status = AckStatus::kRetry;
    ack.reason = h.error().to_string();
    return ack;
  }
  const uint64_t durable = *h;
  uint64_t mark = durable;
  if (auto it = expected_.find(b->sensor_id); it != expected_.end()) mark = std::max(mark, it->second);
  if (b->seq <= durable) {
    ++counters_.batches_duplicate;
    ack.status = AckStatus::kDuplicate;
    return ack;
  }
  if (b->seq <= mark) {
    // A resend of a batch in a commit that is not durable yet: if that commit fails the sensor
    // must still hold it, so this is not a duplicate (yet). Its own ack follows the commit.
    ++counters_.batches_in_flight_resent;
    ack.status = AckStatus::kRetry;
    ack.reason = "seq " + std::to_string(b->seq) + " is being committed";
    return ack;
  }
  if (b->seq != mark + 1) {
    // An earlier batch is missing (lost with a connection): take nothing until it comes, so
    // that the high-water mark never skips a batch the sensor still holds.
    ++counters_.batches_out_of_order;
    ack.status = AckStatus::kRetry;
    ack.reason = "expected seq " + std::to_string(mark + 1);
    return ack;
  }
  for (auto& e : b->events) {
    core::StoredEvent se;
    se.sensor = b->sensor_id;
    se.event = std::move(e);
    engine_.process(se);
    open_.batch.put_event(se);
  }
  counters_.usec_correlate += usec_since(clock);
  open_.events += b->events.size();
  open_.marks[b->sensor_id] = b->seq;
  open_.batch.set_high_water_mark(b->sensor_id, b->seq);
  open_.tags.push_back(tag);
  open_.seqs.push_back(b->seq);
  open_.sensors.push_back(b->sensor_id);
  expected_[b->sensor_id] = b->seq;
  prepared_ = false;
  return std::nullopt;
}

void Pipeline::prepare() {
  if (open_.tags.empty() || prepared_) return;
  auto clock = Clock::now();
  engine_.flush_into(open_.batch, &open_.changed);
  ++open_.flushes;
  prepared_ = true;
  counters_.usec_flush += usec_since(clock);
}

void Pipeline::start_commit() {
  if (in_flight_ || open_.tags.empty()) return;
  auto clock = Clock::now();
  if (!prepared_) {
    engine_.flush_into(open_.batch, &open_.changed);
    ++open_.flushes;
  }
  if (open_.flushes > 1) {
    // An alert flushed by prepare() and again later is announced once, as last written.
    std::map<core::RecordId, size_t> last;
    for (size_t i = 0; i < open_.changed.size(); ++i) last[open_.changed[i].id] = i;
    if (last.size() != open_.changed.size()) {
      std::vector<core::Alert> once;
      once.reserve(last.size());
      for (size_t i = 0; i < open_.changed.size(); ++i) {
        if (last[open_.changed[i].id] == i) once.push_back(std::move(open_.changed[i]));
      }
      open_.changed = std::move(once);
    }
  }
  prepared_ = false;
  const uint64_t us = usec_since(clock);
  counters_.usec_flush += us;
  counters_.usec_flush_critical += us;
  open_.bytes = open_.batch.byte_size();
  std::unique_ptr<Commit> c = spare_ ? std::move(spare_) : std::make_unique<Commit>();
  c->reset();
  std::swap(*c, open_);  // open_ becomes the empty (reused) one
  in_flight_ = std::move(c);
  {
    std::lock_guard lock(mu_);
    job_ = in_flight_.get();
    job_done_ = false;
  }
  cv_.notify_all();
}

std::vector<std::pair<Pipeline::Tag, BatchAck>> Pipeline::retry_all(Commit& c, const char* reason) {
  std::vector<std::pair<Tag, BatchAck>> out;
  for (size_t i = 0; i < c.tags.size(); ++i) {
    out.push_back({c.tags[i], BatchAck{c.sensors[i], c.seqs[i], AckStatus::kRetry, reason}});
  }
  return out;
}

std::optional<Pipeline::Completed> Pipeline::take_completed(bool wait) {
  if (!in_flight_) return std::nullopt;
  {
    std::unique_lock lock(mu_);
    if (!job_done_) {
      if (!wait) return std::nullopt;
      cv_.wait(lock, [&] { return job_done_; });
    }
    job_ = nullptr;
    job_done_ = false;
  }
  if (done_fd_ >= 0) {
    uint64_t n = 0;
    (void)!::read(done_fd_, &n, sizeof n);
  }
  std::unique_ptr<Commit> c = std::move(in_flight_);
  Completed out;
  counters_.usec_commit += c->usec;
  counters_.usec_commit_max = std::max(counters_.usec_commit_max, c->usec);
  if (!c->result) {
    ++counters_.commit_failures;
    log_->error("commit failed, asking sensors to resend: {}", c->result.error().to_string());
    out.acks = retry_all(*c, "store unavailable");
    // The open commit was built on the failed one's engine state: drop it too.
    auto more = retry_all(open_, "store unavailable");
    out.acks.insert(out.acks.end(), more.begin(), more.end());
    open_.reset();
    prepared_ = false;
    changed_.clear();
    hwm_.clear();
    expected_.clear();
    if (auto rs = engine_.restore(store_); !rs) log_->error("cannot reload correlation state: {}", rs.error().to_string());
  } else {
    out.ok = true;
    ++counters_.commits;
    counters_.commit_bytes += c->bytes;
    counters_.batches_stored += c->tags.size();
    counters_.events_stored += c->events;
    counters_.max_batches_in_commit = std::max<uint64_t>(counters_.max_batches_in_commit, c->tags.size());
    for (auto& [sensor, seq] : c->marks) hwm_[sensor] = std::max(hwm_[sensor], seq);
    for (size_t i = 0; i < c->tags.size(); ++i) {
      out.acks.push_back({c->tags[i], BatchAck{c->sensors[i], c->seqs[i], AckStatus::kOk, {}}});
    }
    changed_ = std::move(c->changed);
  }
  spare_ = std::move(c);
  return out;
}

std::vector<BatchAck> Pipeline::ingest(std::vector<IncomingBatch>& in) {
  std::vector<BatchAck> acks(in.size());
  changed_.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (auto a = add(in[i], i)) acks[i] = std::move(*a);
  }
  if (open_.tags.empty()) return acks;
  start_commit();
  if (auto done = take_completed(true)) {
    for (auto& [tag, ack] : done->acks) acks[tag] = std::move(ack);
  }
  return acks;
}

}  // namespace vigil::correlator

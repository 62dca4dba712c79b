// EventShipper: the sensor's ZeroMQ transport file (DEALER + CURVE). See vigil/sensor/ship.h.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include <zmq.h>

#include "spool.h"
#include "vigil/core/codec.h"
#include "vigil/core/curve_keys.h"
#include "vigil/core/log.h"
#include "vigil/sensor/ship.h"

namespace vigil::sensor {

using core::make_error;
using Clock = std::chrono::steady_clock;

core::Result<CurveKeyPair> generate_curve_keypair() {
  char pub[41] = {}, sec[41] = {};
  if (zmq_curve_keypair(pub, sec) != 0) {
    return make_error(std::string("cannot generate CURVE keys: ") + zmq_strerror(zmq_errno()));
  }
  return CurveKeyPair{pub, sec};
}

core::Result<CurveKeyPair> load_curve_keys(const std::string& path) {
  auto k = core::read_curve_key_file(path);
  if (!k) return k.error();
  return CurveKeyPair{k->public_key, k->secret_key};
}

struct EventShipper::Impl {
  ShipperConfig cfg;
  std::unique_ptr<Spool> spool;
  std::shared_ptr<spdlog::logger> log = core::logger("shipper");

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<core::Event> queue;
  bool flush_requested = false;
  bool stopping = false;
  ShipperStats stats;
  uint64_t events_sealed = 0;  // spooled or dropped by seal(); guarded by mu
  std::thread thread;

  // Shipper-thread state.
  std::vector<core::Event> building;
  Clock::time_point building_since;
  std::deque<uint64_t> unsent;
  std::map<uint64_t, Clock::time_point> in_flight;
  Clock::time_point resend_at = Clock::time_point::max();

  void run();
  void seal();
  void go_back_n(const char* why);
  void publish_stats(bool connected) {
    std::lock_guard lock(mu);
    stats.spool_depth = spool->depth();
    stats.spool_bytes = spool->bytes();
    stats.last_acked_seq = spool->acked_through();
    stats.next_seq = spool->next_seq();
    stats.connected = connected;
  }
};

EventShipper::EventShipper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EventShipper::~EventShipper() { stop(); }

core::Result<std::unique_ptr<EventShipper>> EventShipper::start(const ShipperConfig& config) {
  if (config.endpoint.empty()) return make_error("no correlator endpoint", "shipper");
  if (config.sensor_id.empty()) return make_error("no sensor id", "shipper");
  if (config.server_public_key.size() != 40) return make_error("correlator public key must be 40 Z85 characters", "shipper");
  if (config.client_keys.public_key.size() != 40 || config.client_keys.secret_key.size() != 40) {
    return make_error("sensor key pair must be 40 Z85 characters each", "shipper");
  }
  if (config.spool_dir.empty()) return make_error("no spool directory", "shipper");
  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  impl->cfg.batch_max_events = std::max<size_t>(1, config.batch_max_events);
  impl->cfg.max_in_flight = std::max<size_t>(1, config.max_in_flight);
  auto spool = Spool::open(config.spool_dir, config.spool_max_bytes, config.segment_bytes);
  if (!spool) return spool.error();
  impl->spool = std::move(*spool);
  for (uint64_t seq : impl->spool->pending()) impl->unsent.push_back(seq);
  impl->publish_stats(false);
  if (!impl->unsent.empty()) {
    impl->log->info("spool holds {} unacknowledged batches (seq {}..{}); resending", impl->unsent.size(),
                    impl->unsent.front(), impl->unsent.back());
  }
  auto* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<EventShipper>(new EventShipper(std::move(impl)));
}

bool EventShipper::submit(core::Event event) {
  std::lock_guard lock(impl_->mu);
  if (impl_->stopping || impl_->queue.size() >= impl_->cfg.queue_max_events) {
    ++impl_->stats.events_dropped;
    return false;
  }
  impl_->queue.push_back(std::move(event));
  ++impl_->stats.events_submitted;
  return true;
}

void EventShipper::flush() {
  std::lock_guard lock(impl_->mu);
  impl_->flush_requested = true;
}

bool EventShipper::wait_drained(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  flush();
  while (Clock::now() < deadline) {
    {
      std::lock_guard lock(impl_->mu);
      if (impl_->events_sealed == impl_->stats.events_submitted && impl_->stats.spool_depth == 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

ShipperStats EventShipper::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void EventShipper::stop() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  if (impl_->thread.joinable()) impl_->thread.join();
}

void EventShipper::Impl::seal() {
  if (building.empty()) return;
  core::EventBatch b;
  b.sensor_id = cfg.sensor_id;
  b.seq = spool->next_seq();
  b.events = std::move(building);
  building.clear();
  auto bytes = core::encode_batch(b);
  core::Status st = bytes ? spool->append(b.seq, *bytes) : core::Status(bytes.error());
  std::lock_guard lock(mu);
  events_sealed += b.events.size();
  stats.spool_depth = spool->depth();
  stats.spool_bytes = spool->bytes();
  if (!st) {
    stats.events_dropped += b.events.size();
    log->warn("dropping a batch of {} events: {}", b.events.size(), st.error().to_string());
    return;
  }
  ++stats.batches_spooled;
  unsent.push_back(b.seq);
}

void EventShipper::Impl::go_back_n(const char* why) {
  if (in_flight.empty() && resend_at == Clock::time_point::max()) return;
  uint64_t n = in_flight.size();
  in_flight.clear();
  unsent.clear();
  for (uint64_t seq : spool->pending()) unsent.push_back(seq);
  resend_at = Clock::time_point::max();
  std::lock_guard lock(mu);
  stats.batches_resent += n;
  log->debug("resending {} unacknowledged batches ({})", unsent.size(), why);
}

void EventShipper::Impl::run() {
  void* ctx = zmq_ctx_new();
  void* sock = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0, one = 1, reconnect = 100, reconnect_max = 2000, hb_ivl = 1000, hb_timeout = 3000;
  int hwm = static_cast<int>(cfg.max_in_flight * 2 + 16);
  zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one);
  zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
  zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
  zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
  zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
  zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, cfg.server_public_key.c_str(), 40);
  zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, cfg.client_keys.public_key.c_str(), 40);
  zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, cfg.client_keys.secret_key.c_str(), 40);
  std::string mon_ep = "inproc://vigil-shipper-monitor";
  zmq_socket_monitor(sock, mon_ep.c_str(),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
  void* mon = zmq_socket(ctx, ZMQ_PAIR);
  zmq_connect(mon, mon_ep.c_str());
  if (zmq_connect(sock, cfg.endpoint.c_str()) != 0) {
    log->error("cannot connect to {}: {}", cfg.endpoint, zmq_strerror(zmq_errno()));
  }

  bool connected = false;
  bool stop_now = false;
  while (!stop_now) {
    // 1. Take submitted events; seal full or old batches into the spool.
    {
      std::vector<core::Event> taken;
      bool flush_now = false;
      {
        std::lock_guard lock(mu);
        taken.swap(queue);
        flush_now = flush_requested;
        flush_requested = false;
        stop_now = stopping;
      }
      for (auto& e : taken) {
        if (building.empty()) building_since = Clock::now();
        building.push_back(std::move(e));
        if (building.size() >= cfg.batch_max_events) seal();
      }
      if (!building.empty() && (flush_now || stop_now || Clock::now() - building_since >= cfg.batch_max_delay)) seal();
    }
    if (stop_now) break;

    // 2. Send what the window allows, oldest first.
    auto now = Clock::now();
    if (resend_at != Clock::time_point::max() && now >= resend_at) go_back_n("retry requested");
    while (in_flight.size() < cfg.max_in_flight && !unsent.empty()) {
      uint64_t seq = unsent.front();
      auto bytes = spool->read(seq);
      if (!bytes) {  // acknowledged meanwhile
        unsent.pop_front();
        continue;
      }
      if (zmq_send(sock, bytes->data(), bytes->size(), ZMQ_DONTWAIT) < 0) break;  // no peer yet
      unsent.pop_front();
      in_flight[seq] = now;
      std::lock_guard lock(mu);
      ++stats.batches_sent;
    }

    // 3. Wait for acks or monitor events, briefly.
    zmq_pollitem_t items[] = {{sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
    long timeout_ms = 20;
    if (zmq_poll(items, 2, timeout_ms) < 0 && zmq_errno() != EINTR) break;
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 1024; ++i) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
          zmq_msg_close(&msg);
          break;
        }
        auto ack = core::decode_ack(std::string_view(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg)));
        zmq_msg_close(&msg);
        if (!ack || ack->sensor_id != cfg.sensor_id) continue;
        switch (ack->status) {
          case core::AckStatus::kOk:
          case core::AckStatus::kDuplicate:
          case core::AckStatus::kRejected: {
            if (ack->seq == 0) break;
            in_flight.erase(ack->seq);
            if (auto st = spool->ack(ack->seq); !st) log->error("spool ack: {}", st.error().to_string());
            std::lock_guard lock(mu);
            if (ack->status == core::AckStatus::kRejected) {
              ++stats.batches_rejected;
              log->warn("correlator rejected batch {}: {}", ack->seq, ack->reason);
            } else {
              ++stats.batches_acked;
            }
            break;
          }
          case core::AckStatus::kRetry: {
            std::lock_guard lock(mu);
            ++stats.retries;
            if (resend_at == Clock::time_point::max()) resend_at = Clock::now() + std::chrono::milliseconds(100);
            break;
          }
        }
      }
    }
    if (items[1].revents & ZMQ_POLLIN) {
      for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
          zmq_msg_close(&ev);
          break;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2) std::memcpy(&event, zmq_msg_data(&ev), 2);
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        if (more) {  // the endpoint frame
          zmq_msg_t addr;
          zmq_msg_init(&addr);
          zmq_msg_recv(&addr, mon, 0);
          zmq_msg_close(&addr);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
          connected = true;
          log->info("connected to correlator {}", cfg.endpoint);
          go_back_n("reconnected");
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
          if (connected) log->warn("disconnected from correlator {}", cfg.endpoint);
          connected = false;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
          std::lock_guard lock(mu);
          ++stats.auth_failures;
          log->warn("correlator {} refused this sensor's key", cfg.endpoint);
        }
      }
    }
    // 4. Overdue acks: assume the messages were lost with a connection and resend.
    if (!in_flight.empty()) {
      auto oldest = std::min_element(in_flight.begin(), in_flight.end(),
                                     [](const auto& a, const auto& b) { return a.second < b.second; });
      if (Clock::now() - oldest->second > cfg.ack_timeout) go_back_n("ack timeout");
    }
    publish_stats(connected);
  }
  seal();
  publish_stats(false);
  zmq_socket_monitor(sock, nullptr, 0);
  zmq_close(mon);
  zmq_close(sock);
  zmq_ctx_term(ctx);
}

}  // namespace vigil::sensor

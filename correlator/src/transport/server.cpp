// The correlator's ZeroMQ transport file: ROUTER + CURVE + ZAP. See vigil/correlator/server.h.
#include "vigil/correlator/server.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>

#include <unistd.h>
#include <zmq.h>

#include "vigil/core/codec.h"
#include "vigil/core/log.h"
#include "vigil/core/zap.h"
#include "vigil/core/zmq_frames.h"

namespace vigil::correlator {

using core::close_socket;
using core::make_error;
using core::recv_frames;
using core::send_frames;

struct IngestServer::Impl {
  std::shared_ptr<const CorrelatorConfig> config;
  void* ctx = nullptr;
  std::unique_ptr<core::ZapHandler> zap;  // admits the listed sensor keys (ZAP User-Id = sensor id)
  void* router = nullptr;
  void* monitor = nullptr;
  void* pub = nullptr;
  std::string endpoint;
  TransportCounters counters;
  std::shared_ptr<spdlog::logger> log = core::logger("correlator");

  ~Impl() {
    zap.reset();  // closes its socket before the context is terminated
    for (void** s : {&router, &monitor, &pub}) close_socket(*s);
    if (ctx) zmq_ctx_term(ctx);
  }

  void handle_zap() {
    zap->handle();
    counters.auth_accepted = zap->accepted();
    counters.auth_refused = zap->refused();
  }

  void handle_monitor() {
    for (;;) {
      auto f = recv_frames(monitor);
      if (f.empty()) return;
      if (f[0].size() < 2) continue;
      uint16_t event = 0;
      std::memcpy(&event, f[0].data(), 2);
      if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        ++counters.handshake_failed;
        log->warn("handshake failed from a peer on {} (not CURVE, or a wrong server key)", endpoint);
      }
    }
  }
};

IngestServer::IngestServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IngestServer::~IngestServer() = default;

core::Result<std::unique_ptr<IngestServer>> IngestServer::bind(std::shared_ptr<const CorrelatorConfig> config) {
  auto im = std::make_unique<Impl>();
  im->config = config;
  im->ctx = zmq_ctx_new();
  if (!im->ctx) return make_error("cannot create ZeroMQ context");

  // The ZAP handler must be bound before any CURVE socket accepts a connection.
  std::map<std::string, std::string> key_to_sensor;  // Z85 public key -> sensor id
  for (const auto& s : config->sensors) key_to_sensor[s.public_key] = s.id;
  auto zap = core::ZapHandler::bind(im->ctx, std::move(key_to_sensor), "sensor");
  if (!zap) return zap.error();
  im->zap = std::move(*zap);
  im->router = zmq_socket(im->ctx, ZMQ_ROUTER);
  int one = 1, zero = 0, hwm = 10000, hb_ivl = 1000, hb_timeout = 3000;
  zmq_setsockopt(im->router, ZMQ_CURVE_SERVER, &one, sizeof one);
  zmq_setsockopt(im->router, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(im->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
  zmq_setsockopt(im->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
  zmq_setsockopt(im->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
  zmq_setsockopt(im->router, ZMQ_ZAP_DOMAIN, "vigil", 5);
  int64_t max_msg = static_cast<int64_t>(core::kMaxBatchBytes);
  zmq_setsockopt(im->router, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
  if (zmq_setsockopt(im->router, ZMQ_CURVE_SECRETKEY, config->server_secret_key.c_str(), 40) != 0) {
    return make_error(std::string("bad server secret key: ") + zmq_strerror(zmq_errno()), config->source);
  }
  zmq_socket_monitor(im->router, "inproc://vigil-router-monitor",
                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
  im->monitor = zmq_socket(im->ctx, ZMQ_PAIR);
  zmq_connect(im->monitor, "inproc://vigil-router-monitor");
  if (zmq_bind(im->router, config->listen.c_str()) != 0) {
    return make_error("cannot listen on " + config->listen + ": " + zmq_strerror(zmq_errno()), config->source + ": key 'listen'");
  }
  char last[512] = {};
  size_t len = sizeof last;
  zmq_getsockopt(im->router, ZMQ_LAST_ENDPOINT, last, &len);
  im->endpoint = last;
  if (!config->publish_endpoint.empty()) {
    im->pub = zmq_socket(im->ctx, ZMQ_PUB);
    zmq_setsockopt(im->pub, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(im->pub, config->publish_endpoint.c_str()) != 0) {
      return make_error("cannot bind " + config->publish_endpoint + ": " + zmq_strerror(zmq_errno()),
                        config->source + ": key 'publish.endpoint'");
    }
  }
  return std::unique_ptr<IngestServer>(new IngestServer(std::move(im)));
}

const std::string& IngestServer::endpoint() const { return impl_->endpoint; }
const TransportCounters& IngestServer::counters() const { return impl_->counters; }

core::Status IngestServer::run(Pipeline& pipeline, const std::atomic<bool>& stop, const std::function<void()>& tick) {
  Hooks h;
  h.tick = tick;
  return run(pipeline, stop, h);
}

core::Status IngestServer::run(Pipeline& pipeline, const std::atomic<bool>& stop, const Hooks& hooks) {
  auto& im = *impl_;
  using Clock = std::chrono::steady_clock;
  auto next_tick = Clock::now();
  bool woken = false;
  // Identities of the batches in the open commit and the one in flight, by tag.
  std::map<Pipeline::Tag, std::string> identities;
  Pipeline::Tag next_tag = 0;
  const size_t max_batches = std::max<size_t>(1, im.config->max_batches_per_commit);

  auto send_ack = [&](const std::string& identity, const core::BatchAck& ack) {
    (void)send_frames(im.router, {identity, core::encode_ack(ack)});
    ++im.counters.acks_sent;
  };
  // Acks of a finished commit (sent only now that it is durable), then publishing.
  auto complete = [&](Pipeline::Completed& done) {
    for (auto& [tag, ack] : done.acks) {
      auto it = identities.find(tag);
      if (it == identities.end()) continue;
      send_ack(it->second, ack);
      identities.erase(it);
    }
    if (!done.ok) return;
    if (im.pub) {
      for (const auto& a : pipeline.changed_alerts()) {
        nlohmann::json record = core::to_json(a);
        if (hooks.publish_filter && !hooks.publish_filter(a, record)) {
          ++im.counters.alerts_withheld;
          continue;
        }
        (void)send_frames(im.pub, {"alert." + a.tenant, record.dump()});
        ++im.counters.alerts_published;
      }
    }
    if (hooks.on_commit && !pipeline.changed_alerts().empty()) hooks.on_commit(pipeline.changed_alerts());
  };

  for (;;) {
    const bool stopping = stop.load();
    // Between two commits (none in flight): the place for tick() (write() jobs, reloads,
    // retention), subscribers and the next commit. A stop drains the open commit first.
    if (!pipeline.committing()) {
      if (woken || Clock::now() >= next_tick) {
        woken = false;
        if (hooks.tick) hooks.tick();
        next_tick = Clock::now() + std::chrono::milliseconds(100);
      }
      if (pipeline.open_batches() > 0) pipeline.start_commit();
    }
    if (stopping) {
      if (auto done = pipeline.take_completed(true)) {
        complete(*done);
        continue;  // the open commit may still hold batches
      }
      break;
    }
    // Read more only while the open commit has room: a backlog grows it to max_batches while
    // the disk is busy, which is the group commit.
    const bool room = pipeline.open_batches() < max_batches;
    zmq_pollitem_t items[] = {{im.zap->socket(), 0, ZMQ_POLLIN, 0},
                              {im.monitor, 0, ZMQ_POLLIN, 0},
                              {nullptr, pipeline.completion_fd(), ZMQ_POLLIN, 0},
                              {nullptr, hooks.wake_fd, ZMQ_POLLIN, 0},
                              {im.router, 0, ZMQ_POLLIN, 0}};
    int n = 3;
    if (hooks.wake_fd >= 0) {
      ++n;
    } else {
      items[3] = items[4];
    }
    const int router_item = room ? n++ : -1;
    long timeout = 100;
    // While the disk is busy and nothing else waits, encode the open commit's alerts now rather
    // than after the commit in flight is durable (when the commit thread would wait for it).
    const bool idle_work = pipeline.committing() && !pipeline.prepared();
    if (idle_work) {
      timeout = 0;
    } else if (!pipeline.committing()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now()).count();
      timeout = std::clamp<long>(left, 0, 100);
    }
    const int ready = zmq_poll(items, n, timeout);
    if (ready < 0) {
      if (zmq_errno() == EINTR) continue;
      return make_error(std::string("poll: ") + zmq_strerror(zmq_errno()));
    }
    if (ready == 0 && idle_work) {
      pipeline.prepare();
      continue;
    }
    if (hooks.wake_fd >= 0 && (items[3].revents & ZMQ_POLLIN)) {
      uint64_t v = 0;
      (void)!::read(hooks.wake_fd, &v, sizeof v);
      woken = true;
    }
    if (items[0].revents & ZMQ_POLLIN) im.handle_zap();
    if (items[1].revents & ZMQ_POLLIN) im.handle_monitor();
    if (router_item >= 0 && (items[router_item].revents & ZMQ_POLLIN)) {
      // Take what is waiting, up to one commit's worth; refusals are answered at once.
      while (pipeline.open_batches() < max_batches) {
        std::string user;
        auto f = recv_frames(im.router, &user);
        if (f.empty()) break;
        if (f.size() != 2) {  // identity + one body frame
          ++im.counters.frames_malformed;
          if (!f.empty() && !user.empty()) {
            core::BatchAck nack{user, 0, core::AckStatus::kRejected, "expected exactly one frame"};
            (void)send_frames(im.router, {f[0], core::encode_ack(nack)});
          }
          continue;
        }
        IncomingBatch b{user, std::move(f[1])};
        const Pipeline::Tag tag = next_tag++;
        if (auto ack = pipeline.add(b, tag)) {
          send_ack(f[0], *ack);
        } else {
          identities.emplace(tag, std::move(f[0]));
        }
      }
    }
    if (items[2].revents & ZMQ_POLLIN) {
      if (auto done = pipeline.take_completed()) complete(*done);
    }
  }
  return {};
}

}  // namespace vigil::correlator

#include "vigil/feeds/push.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <zmq.h>

#include "vigil/core/log.h"
#include "vigil/core/zap.h"
#include "vigil/feeds/stix.h"

namespace vigil::feeds {

using core::make_error;

namespace {
constexpr size_t kMaxQueue = 10000;
}

struct PushFeed::Impl {
  void* ctx = nullptr;
  void* pub = nullptr;
  std::unique_ptr<core::ZapHandler> zap;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::deque<std::pair<std::string, std::string>> queue;
  std::atomic<uint64_t> published{0}, dropped{0}, skipped{0}, accepted{0}, refused{0};

  ~Impl() {
    stop = true;
    if (thread.joinable()) thread.join();
    zap.reset();
    if (pub) {
      int zero = 0;
      zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
      zmq_close(pub);
    }
    if (ctx) zmq_ctx_term(ctx);
  }

  void run() {
    while (!stop.load()) {
      zmq_pollitem_t items[] = {{zap->socket(), 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 1, 20) < 0 && zmq_errno() != EINTR) break;
      if (items[0].revents & ZMQ_POLLIN) {
        zap->handle();
        accepted = zap->accepted();
        refused = zap->refused();
      }
      std::deque<std::pair<std::string, std::string>> batch;
      {
        std::lock_guard lock(mu);
        batch.swap(queue);
      }
      for (auto& [topic, body] : batch) {
        zmq_send(pub, topic.data(), topic.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(pub, body.data(), body.size(), ZMQ_DONTWAIT);
        ++published;
      }
    }
  }
};

PushFeed::PushFeed(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PushFeed::~PushFeed() = default;

core::Result<std::unique_ptr<PushFeed>> PushFeed::bind(const PushConfig& config) {
  auto im = std::make_unique<Impl>();
  im->ctx = zmq_ctx_new();
  if (!im->ctx) return make_error("cannot create ZeroMQ context");
  auto zap = core::ZapHandler::bind(im->ctx, config.subscribers, "agency");
  if (!zap) return zap.error();
  im->zap = std::move(*zap);
  im->pub = zmq_socket(im->ctx, ZMQ_PUB);
  int one = 1, zero = 0, hwm = 10000;
  zmq_setsockopt(im->pub, ZMQ_CURVE_SERVER, &one, sizeof one);
  zmq_setsockopt(im->pub, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(im->pub, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(im->pub, ZMQ_ZAP_DOMAIN, "vigil-feeds", 11);
  if (config.secret_key.size() != 40 || zmq_setsockopt(im->pub, ZMQ_CURVE_SECRETKEY, config.secret_key.c_str(), 40) != 0) {
    return make_error("bad push secret key (40 Z85 characters expected)", "push.key_file");
  }
  if (zmq_bind(im->pub, config.endpoint.c_str()) != 0) {
    return make_error("cannot bind " + config.endpoint + ": " + zmq_strerror(zmq_errno()), "push.endpoint");
  }
  char last[512] = {};
  size_t len = sizeof last;
  zmq_getsockopt(im->pub, ZMQ_LAST_ENDPOINT, last, &len);
  std::unique_ptr<PushFeed> feed(new PushFeed(std::move(im)));
  feed->endpoint_ = last;
  auto* raw = feed->impl_.get();
  raw->thread = std::thread([raw] { raw->run(); });
  return feed;
}

void PushFeed::publish(const std::vector<Published>& items) {
  std::lock_guard lock(impl_->mu);
  for (const auto& p : items) {
    if (p.audience.kind != "agencies" || p.audience.tlp > Tlp::kGreen) {
      ++impl_->skipped;
      continue;
    }
    if (impl_->queue.size() >= kMaxQueue) {
      ++impl_->dropped;
      continue;
    }
    std::string id = p.stix.value("id", "");
    nlohmann::json bundle = {{"type", "bundle"},
                             {"id", "bundle--" + stix::uuid5("push|" + id + "|" + p.stix.value("modified", ""))},
                             {"objects", {p.stix}}};
    impl_->queue.emplace_back(p.collection, bundle.dump());
  }
}

PushCounters PushFeed::counters() const {
  return {impl_->published.load(), impl_->dropped.load(), impl_->skipped.load(), impl_->accepted.load(),
          impl_->refused.load()};
}

}  // namespace vigil::feeds

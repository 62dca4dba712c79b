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
        if (zap->refused() > refused.load()) {
          refused = zap->refused();
          core::logger("feeds")->warn("push feed: {} connections refused, {} accepted so far", refused.load(),
                                      accepted.load());
        }
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
    nlohmann::json objects = nlohmann::json::array();
    for (const auto& r : p.refs) objects.push_back(r);
    objects.push_back(p.stix);
    nlohmann::json bundle = {{"type", "bundle"},
                             {"id", "bundle--" + stix::uuid5("push|" + id + "|" + p.stix.value("modified", ""))},
                             {"objects", std::move(objects)}};
    impl_->queue.emplace_back(p.collection, bundle.dump());
  }
}

PushSubscriber::~PushSubscriber() {
  if (sock_) zmq_close(sock_);
  if (ctx_) zmq_ctx_term(ctx_);
}

core::Result<std::unique_ptr<PushSubscriber>> PushSubscriber::connect(const Config& config) {
  for (const auto* k : {&config.server_public_key, &config.public_key, &config.secret_key}) {
    if (k->size() != 40) return make_error("CURVE keys are 40 Z85 characters");
  }
  std::unique_ptr<PushSubscriber> sub(new PushSubscriber());
  sub->ctx_ = zmq_ctx_new();
  if (!sub->ctx_) return make_error("cannot create ZeroMQ context");
  sub->sock_ = zmq_socket(sub->ctx_, ZMQ_SUB);
  if (!sub->sock_) return make_error(std::string("cannot create SUB socket: ") + zmq_strerror(zmq_errno()));
  int zero = 0;
  zmq_setsockopt(sub->sock_, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_setsockopt(sub->sock_, ZMQ_CURVE_SERVERKEY, config.server_public_key.c_str(), 40) != 0 ||
      zmq_setsockopt(sub->sock_, ZMQ_CURVE_PUBLICKEY, config.public_key.c_str(), 40) != 0 ||
      zmq_setsockopt(sub->sock_, ZMQ_CURVE_SECRETKEY, config.secret_key.c_str(), 40) != 0) {
    return make_error(std::string("bad CURVE key: ") + zmq_strerror(zmq_errno()));
  }
  if (config.topics.empty()) {
    zmq_setsockopt(sub->sock_, ZMQ_SUBSCRIBE, "", 0);
  } else {
    for (const auto& t : config.topics) zmq_setsockopt(sub->sock_, ZMQ_SUBSCRIBE, t.data(), t.size());
  }
  if (zmq_connect(sub->sock_, config.endpoint.c_str()) != 0) {
    return make_error("cannot connect " + config.endpoint + ": " + zmq_strerror(zmq_errno()));
  }
  return sub;
}

core::Result<std::optional<PushMessage>> PushSubscriber::receive(std::chrono::milliseconds timeout) {
  zmq_pollitem_t item{sock_, 0, ZMQ_POLLIN, 0};
  int rc = zmq_poll(&item, 1, static_cast<long>(timeout.count()));
  if (rc < 0) {
    if (zmq_errno() == EINTR) return std::optional<PushMessage>();
    return make_error(std::string("poll: ") + zmq_strerror(zmq_errno()));
  }
  if (rc == 0) return std::optional<PushMessage>();
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock_, 0) < 0) {
      zmq_msg_close(&m);
      return make_error(std::string("receive: ") + zmq_strerror(zmq_errno()));
    }
    frames.emplace_back(static_cast<char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
    bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    if (!more) break;
  }
  if (frames.size() != 2) return make_error("push message with " + std::to_string(frames.size()) + " frames (2 expected)");
  return std::optional<PushMessage>(PushMessage{std::move(frames[0]), std::move(frames[1])});
}

PushCounters PushFeed::counters() const {
  return {impl_->published.load(), impl_->dropped.load(), impl_->skipped.load(), impl_->accepted.load(),
          impl_->refused.load()};
}

}  // namespace vigil::feeds

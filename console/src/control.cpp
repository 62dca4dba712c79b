// The console's ZeroMQ transport file: the correlator's control ROUTER and the console's DEALER.
// See vigil/console/control.h for the protocol.
#include "vigil/console/control.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <thread>
#include <unordered_map>

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "vigil/core/log.h"
#include "vigil/core/zap.h"
#include "vigil/core/zmq_frames.h"

namespace vigil::console {

using core::close_socket;
using core::recv_frames;
using core::send_frames;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kMaxMessageBytes = 8 << 20;
constexpr size_t kMaxPendingIds = 100000;
constexpr size_t kIdsPerPush = 2000;
constexpr auto kPeerIdle = std::chrono::seconds(10);  // a console that stopped pinging is forgotten
constexpr auto kPingEvery = std::chrono::seconds(1);

void wake(int fd) {
  uint64_t one = 1;
  (void)!::write(fd, &one, sizeof one);
}

void drain(int fd) {
  uint64_t n = 0;
  (void)!::read(fd, &n, sizeof n);
}

}  // namespace

// ---- server --------------------------------------------------------------------------------

struct ControlServer::Impl {
  ControlServerOptions options;
  Executor executor;
  void* ctx = nullptr;
  std::unique_ptr<core::ZapHandler> zap;
  void* router = nullptr;
  int wake_fd = -1;
  std::string endpoint;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::shared_ptr<spdlog::logger> log = core::logger("control");

  mutable std::mutex mu;  // guards pending_ids and counters
  std::deque<core::RecordId> pending_ids;
  ControlServerCounters counters;

  struct Peer {
    std::string client;
    Clock::time_point last_seen;
  };
  std::map<std::string, Peer> peers;  // routing id -> peer (server thread only)

  ~Impl() {
    if (thread.joinable()) {
      stop = true;
      wake(wake_fd);
      thread.join();
    }
    zap.reset();
    close_socket(router);
    if (ctx) zmq_ctx_term(ctx);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void count(uint64_t ControlServerCounters::*field, uint64_t n = 1) {
    std::lock_guard lock(mu);
    counters.*field += n;
  }

  void answer(const std::string& identity, const json& id, const Reply& r) {
    json out = to_json(r);
    out["id"] = id;
    if (!send_frames(router, {identity, out.dump()})) log->warn("control: reply to a console that is gone dropped");
  }

  void push(const std::vector<core::RecordId>& ids) {
    if (ids.empty() || peers.empty()) return;
    for (size_t at = 0; at < ids.size(); at += kIdsPerPush) {
      json list = json::array();
      for (size_t i = at; i < std::min(ids.size(), at + kIdsPerPush); ++i) list.push_back(ids[i].to_string());
      std::string body = json{{"push", "alerts"}, {"ids", std::move(list)}}.dump();
      for (auto it = peers.begin(); it != peers.end();) {
        if (send_frames(router, {it->first, body})) {
          count(&ControlServerCounters::pushes);
          ++it;
        } else {  // EHOSTUNREACH (ROUTER_MANDATORY): the console went away
          it = peers.erase(it);
        }
      }
    }
  }

  void handle_message() {
    for (int n = 0; n < 256; ++n) {  // then let the other sockets have a turn
      std::string client;
      auto f = recv_frames(router, &client);
      if (f.empty()) return;
      if (f.size() != 2) {  // identity + one body frame
        count(&ControlServerCounters::malformed);
        if (!f.empty()) answer(f[0], nullptr, Reply::error(400, "expected exactly one frame"));
        continue;
      }
      peers[f[0]] = Peer{client, Clock::now()};
      auto j = json::parse(f[1], nullptr, false);
      if (j.is_object() && j.value("op", "") == "ping") continue;
      json id = j.is_object() && j.contains("id") && j["id"].is_number_unsigned() ? j["id"] : json(nullptr);
      auto req = id.is_null() ? core::Result<Request>(core::make_error("request: id: expected a number"))
                              : request_from_json(j);
      if (!req) {
        count(&ControlServerCounters::malformed);
        log->warn("control: malformed request from {}: {}", client, req.error().to_string());
        answer(f[0], id, Reply::error(400, req.error().to_string()));
        continue;
      }
      // The audit entry names the console process the request came through.
      req->source = client + (req->source.empty() ? "" : " " + req->source);
      Reply r = executor(*req, client);
      count(&ControlServerCounters::requests);
      if (r.status >= 500) {
        count(&ControlServerCounters::failed);
        log->warn("control: {} by {} from {} failed: {}", req->op, req->actor, client, r.error_text());
      }
      answer(f[0], id, r);
      std::vector<core::RecordId> ids;
      for (const auto& a : r.changed) ids.push_back(a.id);
      push(ids);
    }
  }

  void run() {
    auto next_expiry = Clock::now() + kPeerIdle;
    while (!stop.load()) {
      zmq_pollitem_t items[] = {{router, 0, ZMQ_POLLIN, 0}, {zap->socket(), 0, ZMQ_POLLIN, 0}, {nullptr, wake_fd, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 3, 1000) < 0) {
        if (zmq_errno() == EINTR) continue;
        log->error("control: poll: {}", zmq_strerror(zmq_errno()));
        return;
      }
      if (items[1].revents & ZMQ_POLLIN) {
        zap->handle();
        std::lock_guard lock(mu);
        counters.auth_accepted = zap->accepted();
        counters.auth_refused = zap->refused();
      }
      if (items[2].revents & ZMQ_POLLIN) drain(wake_fd);
      if (items[0].revents & ZMQ_POLLIN) handle_message();
      std::vector<core::RecordId> ids;
      {
        std::lock_guard lock(mu);
        ids.assign(pending_ids.begin(), pending_ids.end());
        pending_ids.clear();
      }
      push(ids);
      auto now = Clock::now();
      if (now >= next_expiry) {
        for (auto it = peers.begin(); it != peers.end();) it = now - it->second.last_seen > kPeerIdle ? peers.erase(it) : std::next(it);
        next_expiry = now + std::chrono::seconds(1);
      }
      std::lock_guard lock(mu);
      counters.consoles = peers.size();
    }
  }
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlServer::~ControlServer() = default;

core::Result<std::unique_ptr<ControlServer>> ControlServer::start(const ControlServerOptions& options, Executor executor) {
  auto im = std::make_unique<Impl>();
  im->options = options;
  im->executor = std::move(executor);
  std::string where = options.source + ": key 'control.listen'";
  if (options.clients.empty()) return core::make_error("no clients listed", options.source + ": key 'control.clients'");
  im->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im->wake_fd < 0) return core::make_error("control: cannot create an eventfd");
  im->ctx = zmq_ctx_new();
  if (!im->ctx) return core::make_error("control: cannot create a ZeroMQ context");
  // Its own context, so its own ZAP handler: only the listed console keys get in.
  auto zap = core::ZapHandler::bind(im->ctx, options.clients, "console");
  if (!zap) return zap.error();
  im->zap = std::move(*zap);
  im->router = zmq_socket(im->ctx, ZMQ_ROUTER);
  int one = 1, zero = 0, hb_ivl = 1000, hb_timeout = 3000;
  int64_t max_msg = kMaxMessageBytes;
  zmq_setsockopt(im->router, ZMQ_CURVE_SERVER, &one, sizeof one);
  zmq_setsockopt(im->router, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(im->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
  zmq_setsockopt(im->router, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
  zmq_setsockopt(im->router, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
  zmq_setsockopt(im->router, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
  zmq_setsockopt(im->router, ZMQ_ZAP_DOMAIN, "vigil-control", 13);
  if (options.server_secret_key.size() != 40 ||
      zmq_setsockopt(im->router, ZMQ_CURVE_SECRETKEY, options.server_secret_key.c_str(), 40) != 0) {
    return core::make_error("control: bad server secret key", options.source + ": key 'server_key_file'");
  }
  if (zmq_bind(im->router, options.listen.c_str()) != 0) {
    return core::make_error("cannot listen on " + options.listen + ": " + zmq_strerror(zmq_errno()), where);
  }
  char last[512] = {};
  size_t len = sizeof last;
  zmq_getsockopt(im->router, ZMQ_LAST_ENDPOINT, last, &len);
  im->endpoint = last;
  auto* raw = im.get();
  im->thread = std::thread([raw] { raw->run(); });
  im->log->info("control: listening on {} for {} console key(s)", im->endpoint, options.clients.size());
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(im)));
}

void ControlServer::announce(const std::vector<core::RecordId>& ids) {
  if (ids.empty()) return;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& id : ids) impl_->pending_ids.push_back(id);
    while (impl_->pending_ids.size() > kMaxPendingIds) impl_->pending_ids.pop_front();
  }
  wake(impl_->wake_fd);
}

std::string ControlServer::endpoint() const { return impl_->endpoint; }

ControlServerCounters ControlServer::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

// ---- client --------------------------------------------------------------------------------

struct ControlClient::Impl {
  ControlClientOptions options;
  void* ctx = nullptr;
  void* dealer = nullptr;
  int wake_fd = -1;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::shared_ptr<spdlog::logger> log = core::logger("control");
  std::function<void(const std::vector<core::RecordId>&)> push_fn;

  mutable std::mutex mu;  // guards everything below
  uint64_t next_id = 0;
  std::deque<std::pair<uint64_t, std::string>> outbox;                      // id -> message
  std::unordered_map<uint64_t, std::shared_ptr<std::promise<Reply>>> waiting;  // id -> its caller
  ControlClientCounters counters;

  ~Impl() {
    if (thread.joinable()) {
      stop = true;
      wake(wake_fd);
      thread.join();
    }
    close_socket(dealer);
    if (ctx) zmq_ctx_term(ctx);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  std::string unavailable(const std::string& why) const {
    return "correlator unavailable at " + options.endpoint + " (" + why + ")";
  }

  void settle(uint64_t id, Reply r) {
    std::shared_ptr<std::promise<Reply>> p;
    {
      std::lock_guard lock(mu);
      auto it = waiting.find(id);
      if (it == waiting.end()) return;  // its caller gave up
      p = std::move(it->second);
      waiting.erase(it);
      if (r.status == 503) ++counters.unavailable;
    }
    p->set_value(std::move(r));
  }

  void flush_outbox() {
    std::deque<std::pair<uint64_t, std::string>> out;
    {
      std::lock_guard lock(mu);
      out.swap(outbox);
    }
    for (auto& [id, body] : out) {
      // ZMQ_IMMEDIATE: with no connected correlator the send fails at once instead of queueing
      // a change to be applied whenever it comes back.
      if (!send_frames(dealer, {body})) settle(id, Reply::error(503, unavailable("not connected")));
    }
  }

  void handle_incoming() {
    for (int n = 0; n < 256; ++n) {
      auto f = recv_frames(dealer);
      if (f.empty()) return;
      auto j = f.size() == 1 ? json::parse(f[0], nullptr, false) : json();
      if (!j.is_object()) {
        std::lock_guard lock(mu);
        ++counters.malformed;
        continue;
      }
      if (j.value("push", "") == "alerts" && j.contains("ids") && j["ids"].is_array()) {
        std::vector<core::RecordId> ids;
        for (const auto& v : j["ids"]) {
          if (auto id = v.is_string() ? core::RecordId::parse(v.get<std::string>()) : std::nullopt) ids.push_back(*id);
        }
        std::function<void(const std::vector<core::RecordId>&)> fn;
        {
          std::lock_guard lock(mu);
          ++counters.pushes;
          fn = push_fn;
        }
        if (fn && !ids.empty()) fn(ids);
        continue;
      }
      auto r = reply_from_json(j);
      if (!r || !j.contains("id") || !j["id"].is_number_unsigned()) {
        std::lock_guard lock(mu);
        ++counters.malformed;
        continue;
      }
      settle(j["id"].get<uint64_t>(), std::move(*r));
    }
  }

  void run() {
    static const std::string ping = json{{"op", "ping"}}.dump();
    auto next_ping = Clock::now();
    while (!stop.load()) {
      auto now = Clock::now();
      if (now >= next_ping) {
        (void)send_frames(dealer, {ping});  // fails quietly while not connected
        next_ping = now + kPingEvery;
      }
      zmq_pollitem_t items[] = {{dealer, 0, ZMQ_POLLIN, 0}, {nullptr, wake_fd, ZMQ_POLLIN, 0}};
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_ping - Clock::now()).count();
      if (zmq_poll(items, 2, std::max<long>(1, static_cast<long>(wait))) < 0) {
        if (zmq_errno() == EINTR) continue;
        log->error("control: poll: {}", zmq_strerror(zmq_errno()));
        return;
      }
      if (items[1].revents & ZMQ_POLLIN) drain(wake_fd);
      flush_outbox();
      if (items[0].revents & ZMQ_POLLIN) handle_incoming();
    }
  }
};

ControlClient::ControlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlClient::~ControlClient() = default;

core::Result<std::unique_ptr<ControlClient>> ControlClient::connect(const ControlClientOptions& options) {
  auto im = std::make_unique<Impl>();
  im->options = options;
  for (auto [what, key] : {std::pair{"server_public_key", &options.server_public_key}, std::pair{"public key", &options.public_key},
                           std::pair{"secret key", &options.secret_key}}) {
    if (key->size() != 40) return core::make_error(std::string("control: ") + what + ": expected 40 Z85 characters");
  }
  im->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (im->wake_fd < 0) return core::make_error("control: cannot create an eventfd");
  im->ctx = zmq_ctx_new();
  if (!im->ctx) return core::make_error("control: cannot create a ZeroMQ context");
  im->dealer = zmq_socket(im->ctx, ZMQ_DEALER);
  int one = 1, zero = 0, hb_ivl = 1000, hb_timeout = 3000, reconnect = 200, reconnect_max = 2000;
  int64_t max_msg = kMaxMessageBytes;
  zmq_setsockopt(im->dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(im->dealer, ZMQ_IMMEDIATE, &one, sizeof one);
  zmq_setsockopt(im->dealer, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
  zmq_setsockopt(im->dealer, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
  zmq_setsockopt(im->dealer, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
  zmq_setsockopt(im->dealer, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
  zmq_setsockopt(im->dealer, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
  if (zmq_setsockopt(im->dealer, ZMQ_CURVE_SERVERKEY, options.server_public_key.c_str(), 40) != 0 ||
      zmq_setsockopt(im->dealer, ZMQ_CURVE_PUBLICKEY, options.public_key.c_str(), 40) != 0 ||
      zmq_setsockopt(im->dealer, ZMQ_CURVE_SECRETKEY, options.secret_key.c_str(), 40) != 0) {
    return core::make_error(std::string("control: bad CURVE key: ") + zmq_strerror(zmq_errno()));
  }
  if (zmq_connect(im->dealer, options.endpoint.c_str()) != 0) {
    return core::make_error("control: cannot connect to " + options.endpoint + ": " + zmq_strerror(zmq_errno()));
  }
  auto* raw = im.get();
  im->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<ControlClient>(new ControlClient(std::move(im)));
}

Reply ControlClient::call(const Request& request) {
  auto& im = *impl_;
  auto p = std::make_shared<std::promise<Reply>>();
  auto fut = p->get_future();
  uint64_t id = 0;
  {
    std::lock_guard lock(im.mu);
    id = ++im.next_id;
    ++im.counters.requests;
    json j = to_json(request);
    j["id"] = id;
    im.waiting[id] = p;
    im.outbox.emplace_back(id, j.dump());
  }
  wake(im.wake_fd);
  if (fut.wait_for(std::chrono::milliseconds(im.options.timeout_ms)) == std::future_status::ready) {
    Reply r = fut.get();
    if (r.status == 503) im.log->warn("control: {}", r.error_text());
    return r;
  }
  {
    std::lock_guard lock(im.mu);
    if (im.waiting.erase(id) == 0) {
      // Settled just now: take it.
    } else {
      ++im.counters.unavailable;
      ++im.counters.timeouts;
      auto r = Reply::error(503, im.unavailable("no answer within " + std::to_string(im.options.timeout_ms) +
                                                " ms; the change may still be applied"));
      im.log->warn("control: {}", r.error_text());
      return r;
    }
  }
  return fut.get();
}

void ControlClient::on_push(std::function<void(const std::vector<core::RecordId>&)> fn) {
  std::lock_guard lock(impl_->mu);
  impl_->push_fn = std::move(fn);
}

const std::string& ControlClient::endpoint() const { return impl_->options.endpoint; }

ControlClientCounters ControlClient::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

// ---- store follower ---------------------------------------------------------------------

StoreFollower::StoreFollower(store::Store& store, std::chrono::milliseconds interval) : store_(store), interval_(interval) {}

StoreFollower::~StoreFollower() { stop(); }

void StoreFollower::start(std::function<void(const std::vector<core::Alert>&)> on_alerts) {
  on_alerts_ = std::move(on_alerts);
  thread_ = std::thread([this] { run(); });
}

void StoreFollower::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StoreFollower::queue(const std::vector<core::RecordId>& ids) {
  {
    std::lock_guard lock(mu_);
    pending_.insert(pending_.end(), ids.begin(), ids.end());
    if (pending_.size() > kMaxPendingIds) {
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(pending_.size() - kMaxPendingIds));
    }
  }
  cv_.notify_all();
}

void StoreFollower::refresh() {
  std::lock_guard one(catch_up_mu_);
  auto t0 = Clock::now();
  auto st = store_.catch_up();
  auto usec = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
  std::lock_guard lock(mu_);
  if (!st) {
    ++stats_.failures;
    core::logger("control")->warn("store catch-up: {}", st.error().to_string());
    return;
  }
  ++stats_.catch_ups;
  stats_.total_usec += usec;
  stats_.max_usec = std::max(stats_.max_usec, usec);
}

void StoreFollower::note_read() {
  std::lock_guard lock(mu_);
  wanted_ = true;
}

StoreFollower::Stats StoreFollower::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void StoreFollower::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [&] { return stopping_ || !pending_.empty(); });
    if (stopping_) break;
    if (pending_.empty() && !wanted_) continue;  // nobody read and nothing was pushed
    wanted_ = false;
    std::vector<core::RecordId> ids;
    ids.swap(pending_);
    lock.unlock();
    refresh();
    std::vector<core::Alert> alerts;
    for (const auto& id : ids) {
      auto a = store_.get_alert(id);
      if (a && a->has_value()) alerts.push_back(std::move(**a));
    }
    if (!alerts.empty() && on_alerts_) on_alerts_(alerts);
    lock.lock();
  }
}

}  // namespace vigil::console

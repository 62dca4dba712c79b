#include "vigil/feeds/http_routes.h"

#include <algorithm>
#include <cctype>

namespace vigil::feeds {

HttpRequest to_feed_request(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [k, v] : req.params) r.query.emplace(k, v);
  for (const auto& [k, v] : req.headers) {
    std::string name = k;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.headers[name] = v;
  }
  r.body = req.body;
  r.remote = req.remote_addr;
  return r;
}

void apply(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [k, v] : from.headers) to.set_header(k, v);
  to.set_content(from.body, from.content_type.c_str());
}

void register_routes(httplib::Server& server, FeedService& service) {
  std::string root = "/" + service.config().api_root;
  auto handler = [&service](const httplib::Request& req, httplib::Response& res) { apply(service.handle(to_feed_request(req)), res); };
  for (const std::string& pattern : {std::string("/taxii2/?"), root + "/?", root + "/.*", std::string("/misp/.*")}) {
    server.Get(pattern, handler);
  }
  server.Post(root + "/.*", handler);
  server.Delete(root + "/.*", handler);
}

}  // namespace vigil::feeds

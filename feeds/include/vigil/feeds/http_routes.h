// Mounting the feeds on the console's HTTP server (console/ owns the server; feeds owns the
// routes). Usage in vigil-console (or any httplib::Server):
//
//   feeds::FeedService& svc = ...;          // see vigil/feeds/service.h
//   feeds::register_routes(server, svc);    // GET /taxii2/, /<api_root>/..., /misp/...; POST objects
//
// Each route converts the httplib request into a feeds::HttpRequest, calls svc.handle() and
// copies status, Content-Type, headers and body back. Nothing else is registered.
#pragma once

#include <httplib.h>

#include "vigil/feeds/service.h"

namespace vigil::feeds {

HttpRequest to_feed_request(const httplib::Request& req);
void apply(const HttpResponse& from, httplib::Response& to);
void register_routes(httplib::Server& server, FeedService& service);

}  // namespace vigil::feeds

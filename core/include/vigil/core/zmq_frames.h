// Multi-part ZeroMQ messages as vectors of strings, for every socket loop in Vigil (the ZAP
// handler, the correlator's ingest ROUTER, the control interface). No ZeroMQ types here: sockets
// are void* as libzmq hands them out. Each function is used by the thread owning the socket.
#pragma once

#include <string>
#include <vector>

namespace vigil::core {

// Every frame of one message; does not wait for the first frame (empty when nothing was
// waiting). With user_id: the ZAP-assigned "User-Id" of the connection it came from (a property
// of the authenticated connection, never a claim made in the message).
std::vector<std::string> recv_frames(void* socket, std::string* user_id = nullptr);

// Queues one multi-part message without blocking. False when a frame could not be queued
// (ROUTER: the peer is gone; DEALER: not connected; high-water mark reached).
bool send_frames(void* socket, const std::vector<std::string>& frames);

// Closes the socket at once (linger 0: unsent messages are dropped) and nulls the pointer.
void close_socket(void*& socket);

}  // namespace vigil::core

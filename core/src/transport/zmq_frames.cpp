#include "vigil/core/zmq_frames.h"

#include <zmq.h>

namespace vigil::core {

std::vector<std::string> recv_frames(void* socket, std::string* user_id) {
  std::vector<std::string> frames;
  for (;;) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, socket, frames.empty() ? ZMQ_DONTWAIT : 0) < 0) {
      zmq_msg_close(&m);
      break;
    }
    if (user_id) {
      if (const char* uid = zmq_msg_gets(&m, "User-Id")) *user_id = uid;
    }
    frames.emplace_back(static_cast<const char*>(zmq_msg_data(&m)), zmq_msg_size(&m));
    bool more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    if (!more) break;
  }
  return frames;
}

bool send_frames(void* socket, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    int flags = (i + 1 < frames.size() ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT;
    if (zmq_send(socket, frames[i].data(), frames[i].size(), flags) < 0) return false;
  }
  return true;
}

void close_socket(void*& socket) {
  if (!socket) return;
  int zero = 0;
  zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
  zmq_close(socket);
  socket = nullptr;
}

}  // namespace vigil::core

// The wire codec for event batches and acknowledgements (DESIGN §4).
//
// The format is protobuf (core/src/wire/vigil_event.proto), chosen over flatbuffers by
// bench/codec_bench.cpp; docs/transport.md records the numbers. Nothing outside core/src sees a
// protobuf type: callers deal in vigil::core::EventBatch and BatchAck.
//
// Decoding is for untrusted input: any byte string yields either a batch or an Error, never a
// crash or an exception. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "vigil/core/event.h"
#include "vigil/core/result.h"

namespace vigil::core {

// Upper bounds enforced by decode_batch, so a hostile peer cannot make the correlator allocate
// without limit. A batch above them is malformed.
inline constexpr size_t kMaxBatchBytes = 64u << 20;
inline constexpr size_t kMaxEventsPerBatch = 100000;

// Serialises `batch`. Fails only when the batch exceeds kMaxBatchBytes.
Result<std::string> encode_batch(const EventBatch& batch);
// Appends the encoding to `out` (reuses its capacity); same failure as encode_batch.
Status encode_batch_into(const EventBatch& batch, std::string& out);

// Parses and validates a batch: well-formed protobuf, sensor_id present, seq > 0, a schema
// version this build understands, IP addresses of 0, 4 or 16 bytes, ports < 65536.
Result<EventBatch> decode_batch(std::string_view bytes);

std::string encode_ack(const BatchAck& ack);
Result<BatchAck> decode_ack(std::string_view bytes);

}  // namespace vigil::core

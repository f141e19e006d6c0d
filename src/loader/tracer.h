// A live tracing session on one Go process: plans probes for its binary, loads
// and attaches the BPF side, reads the attach-time snapshot, and hands decoded
// model::Events to the caller. Everything it holds is RAII: destroying the
// Tracer detaches every probe (and so does goscope dying: links are fds).
#pragma once

#include <sys/types.h>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "common/expected.h"
#include "loader/bpf_session.h"
#include "loader/event_decoder.h"
#include "loader/probe_plan.h"
#include "model/event.h"
#include "model/snapshot.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

struct TraceOptions {
  PlanOptions plan;
  uint32_t stack_depth = GS_DEFAULT_FRAMES;
  uint32_t ringbuf_bytes = GS_RINGBUF_DEFAULT_BYTES;
  bool snapshot = true;  // read the goroutines that exist at attach (running processes only)
};

// Everything counted about a session; nothing is lost silently.
struct TraceCounters {
  uint64_t records = 0;       // ring-buffer records received
  uint64_t events = 0;        // typed events produced
  uint64_t lost_ringbuf = 0;  // dropped in BPF: ring buffer full
  uint64_t goid_faults = 0;   // records without a readable goroutine id
  uint64_t data_faults = 0;   // records with a field BPF could not read
  uint64_t stack_faults = 0;  // frame walks cut by an unreadable frame
  uint64_t bad_slots = 0;     // probe fired with an unknown site (a goscope bug)
  uint64_t malformed = 0;     // records the decoder rejected
  uint64_t unpaired = 0;      // entry/RET pairs seen only in part (attach/detach mid-call)
};

class Tracer {
 public:
  // Attaches to `pid`, whose executable is `exe_path` (for a launched target: before it
  // runs, so nothing is missed; no snapshot is taken then).
  static Expected<std::unique_ptr<Tracer>> start(pid_t pid, const std::string& exe_path, bool launched,
                                                 const TraceOptions& options);

  const sym::GoBinary& binary() const { return *binary_; }
  std::shared_ptr<const sym::GoBinary> binary_ptr() const { return binary_; }
  const Plan& plan() const { return plan_; }
  model::StackTable& stacks() { return stacks_; }
  model::StreamInfo stream_info() const;
  // The goroutines that existed at attach, read after the probes went live (so
  // anything that happens meanwhile is in both); nullopt for a launched target
  // or when it could not be read (snapshot_error() says why).
  const std::optional<model::ProcessSnapshot>& snapshot() const { return snapshot_; }
  const std::string& snapshot_error() const { return snapshot_error_; }
  // Load bias of the executable (0 for non-PIE); from /proc at attach, else from the events.
  uint64_t load_bias() const;
  // Wall-clock time spent from start() entry to probes live, in ns.
  int64_t attach_ns() const { return attach_ns_; }

  // Waits up to timeout_ms and hands every decoded event to `sink`.
  Expected<int> poll(int timeout_ms, const model::EventSink& sink);
  // Hands over whatever is still in the ring.
  Expected<int> drain(const model::EventSink& sink);

  TraceCounters counters() const;

 private:
  Tracer() = default;

  std::shared_ptr<const sym::GoBinary> binary_;
  Plan plan_;
  model::StackTable stacks_;
  std::unique_ptr<EventDecoder> decoder_;
  std::unique_ptr<BpfSession> session_;
  const model::EventSink* sink_ = nullptr;  // valid during poll()/drain()
  std::optional<model::ProcessSnapshot> snapshot_;
  std::string snapshot_error_;
  std::optional<uint64_t> proc_bias_;
  int64_t attach_ns_ = 0;
};

}  // namespace goscope::loader

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
#include <unordered_map>
#include <vector>

#include "common/expected.h"
#include "loader/bpf_session.h"
#include "loader/event_decoder.h"
#include "loader/perf_events.h"
#include "loader/probe_plan.h"
#include "model/counters.h"
#include "model/event.h"
#include "model/snapshot.h"
#include "symbolizer/symbolizer.h"

namespace goscope::loader {

struct TraceOptions {
  PlanOptions plan;
  uint32_t stack_depth = GS_DEFAULT_FRAMES;
  uint32_t ringbuf_bytes = GS_RINGBUF_DEFAULT_BYTES;
  bool snapshot = true;  // read the goroutines that exist at attach (running processes only)
  bool hooks = true;     // the plan's runtime hooks (trace, record, capture); off for goscope stat

  // CPU sampling (kCpuSample events): ticks per second on each CPU, 0 = off.
  uint32_t cpu_sample_hz = 0;
  bool sample_hardware = true;  // cycles where there is a PMU, else cpu-clock
  bool sampling_optional = false;  // carry on without samples (with a note) when they cannot be had

  // goscope stat: counting perf events on every thread of the process (empty = off),
  // and their attribution to goroutines (uprobes on runtime.execute / runtime.schedule).
  std::vector<model::CounterInfo> counters;
  bool goroutine_counters = false;
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
  uint64_t samples = 0;       // CPU samples of the process taken in BPF
  uint64_t lost_samples = 0;  // ... that could not be delivered (ring buffer full)
  uint64_t counter_faults = 0;  // per-goroutine counter reads BPF could not do
  uint64_t lost_slices = 0;     // goroutine slices lost (map and ring buffer both full)
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

  // Why CPU sampling was asked for but is off ("" when it is on or was not asked for).
  const std::string& sampling_note() const { return sampling_note_; }
  // CPU sampling: the event ("cpu-clock", "cycles") and the CPU time one sample stands for.
  std::string_view sample_event() const { return sampler_ ? sampler_->event() : std::string_view(); }
  int64_t sample_period_ns() const { return sampler_ ? sampler_->period_ns() : 0; }

  // goscope stat: the counters of the process, its threads and its goroutines now
  // (pcs as ELF virtual addresses; names, sites and states are the caller's to add).
  model::StatResult counter_totals() const;
  // A launched PIE program's load bias, once it runs (after its exec): CPU samples and
  // stat's goroutine pcs need it; hook records carry it themselves. True when known.
  bool learn_load_bias();

 private:
  Tracer() = default;
  void on_record(std::span<const uint8_t> record);
  void add_thread(pid_t tid);
  Expected<void> attach_scheduler(const std::string& exe_path, pid_t pid);

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

  pid_t pid_ = 0;
  bool bias_known_ = false;
  std::optional<CpuSampler> sampler_;
  std::vector<model::CounterInfo> counter_infos_;
  std::vector<ThreadCounters> threads_;  // slot = index
  std::vector<std::string> thread_names_;
  std::vector<std::string> counter_notes_;
  bool goroutine_counters_ = false;
  bool thread_cap_noted_ = false;
  std::string sampling_note_;
  std::unordered_map<uint64_t, gs_pmu_goroutine> spilled_;  // slices that did not fit BPF's map
};

}  // namespace goscope::loader

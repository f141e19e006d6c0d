// The state model: what goscope knows, at any moment of a trace, about each
// goroutine (state, what it waits on and since when, where it blocked, who made
// it), each channel and each mutex, and how long goroutines stayed blocked
// where. Fed the typed event stream (live or replayed alike) and seeded with
// the goroutines that existed at attach. The deadlock, leak and stall detectors
// read it; the trace summary prints it.
//
// Goroutines are keyed by goid (g structs are reused, goids never are).
// Events of goroutines never seen before (attached late, creation lost) create
// them as found. Timestamps from different CPUs can be slightly out of order:
// durations are clamped at zero and nothing goes back in time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "model/snapshot.h"

namespace goscope::state {

enum class GoroutineState : uint8_t {
  kUnknown,   // seen only as someone else's partner (e.g. a parent) so far
  kRunning,   // doing something (in Go code or a system call)
  kRunnable,  // woken or created, waiting for a CPU
  kBlocked,   // parked: wait_reason, waiting_on
  kExited,
};
const char* goroutine_state_name(GoroutineState s);

struct GoroutineInfo {
  uint64_t goid = 0;
  GoroutineState state = GoroutineState::kUnknown;
  // When it entered `state`. For a goroutine already blocked at attach whose runtime
  // did not record since when, this is the attach and since_exact is false: it has
  // been blocked at least that long.
  int64_t since_ns = 0;
  bool since_exact = true;
  uint32_t wait_reason = 0;                  // while blocked: the runtime's waitReason number
  std::vector<model::ObjectRef> waiting_on;  // while blocked: every object (one per select case)
  model::StackId park_stack = 0;             // where it last blocked (a park, or its stack at attach)
  uint64_t created_pc = 0;                   // the `go` statement (a return address); 0 unknown
  uint64_t start_pc = 0;                     // its function; 0 unknown
  uint64_t parent_goid = 0;                  // 0: unknown, or made by the runtime itself
  int64_t first_seen_ns = 0;
  int64_t last_seen_ns = 0;
  bool runtime = false;        // one of the runtime's own goroutines (is_system_goroutine)
  bool creation_seen = false;  // its go-create event was seen (else it predates the trace)
  bool from_snapshot = false;  // it was in the attach-time snapshot
};

struct ChannelInfo {
  uint64_t address = 0;
  int64_t capacity = -1;  // -1: made before the trace began
  int64_t elem_size = -1;
  model::StackId made_at = 0;
  // Completed operations. Only blocking ones are traced by default; all of them with --all-ops.
  uint64_t sends = 0;
  uint64_t recvs = 0;         // receives that got a value
  uint64_t recvs_closed = 0;  // receives that returned because it is closed
  uint64_t closes = 0;
  bool closed = false;
  // Goroutines seen using it (ascending, the first kMaxUsers), alive or not.
  std::vector<uint64_t> users;
  bool users_truncated = false;
  static constexpr size_t kMaxUsers = 256;
};

struct MutexInfo {
  uint64_t address = 0;
  model::ObjectKind kind = model::ObjectKind::kMutex;  // kMutex or kRWMutex
  uint64_t acquisitions = 0;  // lock events seen (all of them only with --locks / --all-ops)
  uint64_t contended = 0;     // acquisitions that had to wait
  int64_t wait_total_ns = 0;
  int64_t wait_max_ns = 0;
  uint64_t holder = 0;  // the goroutine holding it (the write lock of an RWMutex); 0: free or unknown
  std::map<uint64_t, uint32_t> readers;  // RWMutex read locks held: goid -> how many
};

// Time spent blocked: every park until the goroutine's next ready (or any later event
// of it) is one interval; those still open count up to the time asked.
struct BlockingTotals {
  uint64_t count = 0;    // intervals, ongoing ones included
  uint64_t ongoing = 0;  // still blocked
  int64_t total_ns = 0;
  int64_t max_ns = 0;
};

struct SiteBlocking {
  CodeFrame site;  // site of the park stack (not known(): only runtime frames)
  uint32_t wait_reason = 0;
  model::StackId example_stack = 0;  // one park stack of this site
  BlockingTotals totals;
};

struct ReasonBlocking {
  uint32_t wait_reason = 0;
  BlockingTotals totals;
};

struct GoroutineCounts {
  uint64_t seen = 0;     // distinct goroutines the trace knows of
  uint64_t created = 0;  // go-create events
  uint64_t exited = 0;
  uint64_t alive = 0;    // seen and not exited
  uint64_t runtime = 0;  // of the alive ones, the runtime's own
};

class StateModel {
 public:
  explicit StateModel(std::shared_ptr<const StackSymbolizer> symbols);

  // Adds the goroutines that existed at attach. Its stack PCs are process addresses:
  // `load_bias` turns them into vaddrs; they are interned into `stacks`, which must be
  // the table of the events (the one the StackSymbolizer reads). A goroutine the events
  // already told about after the snapshot was taken keeps what the events said.
  void seed(const model::ProcessSnapshot& snapshot, uint64_t load_bias, model::StackTable& stacks);
  void apply(const model::Event& e);

  // Pointers and references into the model stay valid until the next seed() or apply().
  const GoroutineInfo* goroutine(uint64_t goid) const;
  // Every goroutine known: alive ones and the most recent kKeepExited exited ones, by goid.
  std::vector<const GoroutineInfo*> goroutines() const;
  const std::unordered_map<uint64_t, ChannelInfo>& channels() const { return channels_; }
  const std::unordered_map<uint64_t, MutexInfo>& mutexes() const { return mutexes_; }
  // Goroutines blocked on `object` now, ascending.
  std::vector<uint64_t> waiters(uint64_t object) const;

  GoroutineCounts counts() const;
  // Sorted by total time, longest first; intervals still open count until now_ns.
  std::vector<SiteBlocking> blocking_by_site(int64_t now_ns) const;
  std::vector<ReasonBlocking> blocking_by_reason(int64_t now_ns) const;

  uint64_t events() const { return events_; }
  int64_t first_event_ns() const { return first_event_ns_; }  // 0 before any event
  int64_t last_event_ns() const { return last_event_ns_; }
  const StackSymbolizer& symbols() const { return *symbols_; }

  // Exited goroutines kept for late events and for the detectors; older ones are forgotten.
  static constexpr size_t kKeepExited = 10'000;

 private:
  struct SiteKey {
    std::string_view function;
    std::string_view file;
    int line = 0;
    uint32_t wait_reason = 0;
    bool operator==(const SiteKey&) const = default;
  };
  struct SiteKeyHash {
    size_t operator()(const SiteKey& k) const noexcept;
  };
  struct OpenInterval {
    bool open = false;
    int64_t start_ns = 0;
    SiteKey site;
    model::StackId stack = 0;
  };
  struct Record {
    GoroutineInfo info;
    OpenInterval blocking;
    bool classified = false;  // `runtime` was decided from its start function
  };
  struct SiteTotals {
    BlockingTotals totals;  // closed intervals only
    model::StackId example_stack = 0;
    CodeFrame site;
  };

  Record& record(uint64_t goid, int64_t t);
  // `goid` is doing something at t: it is running, and no longer blocked.
  Record& act(uint64_t goid, int64_t t);
  void set_state(Record& r, GoroutineState s, int64_t t);
  void block(Record& r, int64_t t, uint32_t reason, std::vector<model::ObjectRef> objects,
             model::StackId stack);
  void unblock(Record& r, int64_t t);
  void exit(Record& r, int64_t t);
  void classify(Record& r, model::StackId stack);
  void use_channel(uint64_t channel, uint64_t goid);
  MutexInfo& mutex(uint64_t address, model::ObjectKind kind);
  void apply_status(const model::Event& e);
  void apply_objects(const model::Event& e);

  std::shared_ptr<const StackSymbolizer> symbols_;
  std::unordered_map<uint64_t, Record> goroutines_;
  std::deque<uint64_t> exited_order_;
  std::unordered_map<uint64_t, ChannelInfo> channels_;
  std::unordered_map<uint64_t, MutexInfo> mutexes_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> waiters_;  // object -> goroutines blocked on it
  std::unordered_map<SiteKey, SiteTotals, SiteKeyHash> by_site_;
  std::map<uint32_t, BlockingTotals> by_reason_;
  uint64_t seen_ = 0;
  uint64_t created_ = 0;
  uint64_t exited_ = 0;
  uint64_t events_ = 0;
  int64_t first_event_ns_ = 0;
  int64_t last_event_ns_ = 0;
};

}  // namespace goscope::state

// Block, mutex, goroutine and off-CPU profiles from the event stream, in the
// shapes the Go runtime writes them (runtime/pprof), so `go tool pprof` and
// the tools around it read them as if the program had profiled itself; and the
// same samples as folded stacks for flame graphs.
//
// Every sample carries the string labels "goid" and "wait_reason" (mutex
// samples also "charged_to"), every location its function, file and line
// (inlined frames kept), and the profile one mapping for the main binary
// marked as symbolized: pprof never needs the executable.
//
// Block profile (contentions/count, delay/nanoseconds; period contentions/count):
// one blocking interval = a goroutine's park until it runs again (its next ready,
// or any later event of it); goroutines blocked when the trace ends count until
// the end, goroutines already blocked at attach count from the trace start. It
// counts what runtime.blockevent counts, told by the wait reason's name:
//   chan receive, chan send, select, sync.Cond.Wait, sync.Mutex.Lock,
//   sync.RWMutex.RLock, sync.RWMutex.Lock, sync.WaitGroup.Wait, semacquire
//   (sync and internal/poll semaphores; the runtime's own, reached through
//   runtime.semacquire, do not count, as in Go), and the "(durable)" forms of
//   these inside a synctest bubble.
// Not counted, as in Go: sleep, IO wait, timers, nil channels, select with no
// cases, GC and scheduler waits, and every other runtime-internal park.
//
// Off-CPU: every blocking interval of the program's goroutines (the runtime's
// own, such as idle GC workers, left out), sleeps and IO waits included.
//
// Mutex profile (same types as block): one sample per contended wait on a
// sync.Mutex or RWMutex. Go charges the delay to the goroutine that unlocked:
// the one that made the others wait. Here a wait is charged to the releaser's
// stack (charged_to=unlocker) when a release of the same object by another
// goroutine woke it (the release fell inside the wait and came from the
// goroutine that readied the waiter), else to the waiter's own stack
// (charged_to=waiter): a lock won by spinning, a wake-up not seen, or a wait
// still going on when the trace ends. A wait is seen as a park on the lock's
// semaphore until its ready (default probes, with the semaphore's release from
// semrelease1), widened to the whole lockSlow call when its contended acquire
// (kMutexLock with kContended) is seen.
//
// Stacks of block, mutex and off-CPU samples start at the function the program
// called (runtime.chanrecv1, sync.(*Mutex).Lock, sync.(*Mutex).Unlock,
// sync.(*WaitGroup).Wait), as Go's profiles do: the runtime's parking
// machinery above it is left out. Goroutine profile stacks are complete.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "common/expected.h"
#include "state/state_model.h"
#include "state/stack_symbolizer.h"
#include "model/event.h"
#include "model/recording.h"
#include "output/pprof.h"

namespace goscope::output {



// What every profile of one trace shares.
struct ProfileContext {
  const state::StackSymbolizer* symbols = nullptr;  // required
  const model::StreamInfo* stream = nullptr;         // wait reason names; nullptr: numbers only
  std::string exe_name;                              // the mapping's file name
  std::string build_id;                              // GNU build id (hex), "" when none
  int64_t start_ns = 0;                              // CLOCK_MONOTONIC of the trace start
  int64_t end_ns = 0;                                // and of its end; 0: the time finish() is given
  int64_t start_unix_ns = 0;                         // wall clock at start_ns; 0: unknown (now is used)
};

// The context of a recording described by `meta` (exe, build id, start).
ProfileContext profile_context(const model::TraceMeta& meta, const state::StackSymbolizer& symbols,
                               const model::StreamInfo& stream);

// The wall clock at `monotonic_ns` of the trace (now when ctx.start_unix_ns is unknown).
int64_t wall_clock_at(const ProfileContext& ctx, int64_t monotonic_ns);

// Writes `samples` with `b`'s types, period and time, under one mapping for the main
// binary that spans every address the samples use, marked as symbolized.
Expected<void> write_profile(ProfileBuilder& b, const ProfileContext& ctx, std::span<const Sample> samples,
                             const std::string& path);

// The stack of a sample from frames, innermost first: one location per physical
// frame, its inlined callees first (pprof's order). Frames from `first` on.
std::vector<Location> locations_of(std::span<const state::CodeFrame> frames, size_t first = 0);

// Index of the frame a block or mutex profile starts at: the function the program
// called (the last of the leading runtime / sync frames); 0 when the stack is all
// runtime or has no runtime frames on top.
size_t called_frame(std::span<const state::CodeFrame> frames);

class BlockingProfiles {
 public:
  struct Totals {
    uint64_t count = 0;
    int64_t delay_ns = 0;
    bool operator==(const Totals&) const = default;
  };

  // `ctx.symbols` (and `ctx.stream`) must outlive this object.
  explicit BlockingProfiles(const ProfileContext& ctx);

  // The goroutines already blocked when the trace began: call once, after
  // StateModel::seed() and before the first event.
  void seed(const state::StateModel& state);
  // Every event of the stream, in order.
  void on_event(const model::Event& e);
  // Closes every interval still open at `end_ns` and builds the samples.
  void finish(int64_t end_ns);

  // After finish(). Values {contentions, delay ns}; equal (stack, labels) merged.
  const std::vector<Sample>& block_samples() const { return block_.samples; }
  const std::vector<Sample>& mutex_samples() const { return mutex_.samples; }
  const std::vector<Sample>& offcpu_samples() const { return offcpu_.samples; }
  Totals block_totals() const { return block_.totals; }
  Totals mutex_totals() const { return mutex_.totals; }
  Totals offcpu_totals() const { return offcpu_.totals; }

  // The index of the delay in a sample's values (for folded stacks).
  static constexpr size_t kDelayIndex = 1;

  Expected<void> write_block(const std::string& path) const;
  Expected<void> write_mutex(const std::string& path) const;
  Expected<void> write_offcpu(const std::string& path) const;
  // Folded stacks of blocking time (ns): the block profile's, and every blocking interval's.
  Expected<void> write_block_folded(const std::string& path) const;
  Expected<void> write_offcpu_folded(const std::string& path) const;

  // The goroutine profile at `at_ns` (see write_goroutine_profile below), with the
  // last stack the events showed of each running goroutine.
  Expected<void> write_goroutines(const std::string& path, const state::StateModel& state, int64_t at_ns,
                                  bool include_runtime = false) const;

  // The stack each goroutine was last seen doing something at (goid -> stack).
  const std::unordered_map<uint64_t, model::StackId>& last_stacks() const { return last_stack_; }

 private:
  struct OpenInterval {
    int64_t start_ns = 0;
    model::StackId stack = 0;
    uint32_t wait_reason = 0;
    std::vector<model::ObjectRef> objects;
  };
  struct Release {
    uint64_t goid = 0;
    model::StackId stack = 0;
    int64_t time_ns = 0;
  };
  // A contended wait on a lock by one goroutine, from its parks and its contended acquire.
  struct MutexWait {
    uint64_t object = 0;
    int64_t start_ns = 0;
    int64_t end_ns = 0;
    int64_t park_start_ns = 0;  // the current (or last) park of it
    bool parked = false;        // parked on it now
    model::StackId stack = 0;   // the waiter's
    std::string reason;
    std::optional<Release> releaser;
  };
  using SampleKey =
      std::tuple<model::StackId, uint64_t, std::string, std::string>;  // stack, goid, reason, charged_to
  struct Profile {
    std::map<SampleKey, Totals> accumulated;
    std::vector<Sample> samples;
    Totals totals;
  };

  // goid runs again at t (woken by `wake` when that is a ready), or the trace ended while it waited.
  void close(uint64_t goid, int64_t t, const model::Event* wake, bool trace_ended = false);
  void park(const model::Event& e);
  void acquired(const model::Event& e);
  void flush_mutex_wait(uint64_t goid);
  void add(Profile& p, model::StackId stack, uint64_t goid, std::string reason, std::string charged_to,
           int64_t delay_ns);
  std::string reason_text(uint32_t reason) const;
  bool counts_as_block(const OpenInterval& interval) const;
  void build(Profile& p) const;
  Expected<void> write(const Profile& p, const std::string& path) const;

  ProfileContext ctx_;
  int64_t end_ns_ = 0;
  std::unordered_map<uint64_t, OpenInterval> open_;          // goid -> its park, while blocked
  std::unordered_map<uint64_t, MutexWait> mutex_waits_;      // goid -> its lock wait not yet charged
  std::unordered_map<uint64_t, Release> last_release_;       // object -> its latest release
  std::unordered_map<uint64_t, model::StackId> last_stack_;  // goid -> its latest stack
  std::unordered_map<uint64_t, bool> runtime_goroutine_;     // goid -> one of the runtime's own
  // Trimmed stacks are the same for every interval of a stack id: cached per id.
  mutable std::unordered_map<model::StackId, std::vector<Location>> trimmed_;
  Profile block_, mutex_, offcpu_;
};

// One goroutine of a goroutine profile.
struct GoroutineEntry {
  uint64_t goid = 0;
  std::string state;         // a blocked goroutine's wait reason, else "running", "runnable", ...
  model::StackId stack = 0;  // its current stack, complete; 0: unknown
  uint64_t created_pc = 0;   // the `go` statement (a return address): the stack when none is known
};

// The live goroutines of `state` (the runtime's own only with include_runtime), each
// with its current stack: where it parked when blocked; otherwise its latest stack in
// `last_stacks`, else the stack the model last recorded for it, else its creation site.
std::vector<GoroutineEntry> live_goroutines(const state::StateModel& state, const ProfileContext& ctx,
                                            const std::unordered_map<uint64_t, model::StackId>* last_stacks,
                                            bool include_runtime);

// A goroutine profile as /debug/pprof/goroutine writes it (goroutine/count): one
// sample per goroutine, labelled goid and wait_reason (its state), at `at_ns`.
Expected<void> write_goroutine_profile(const std::string& path, std::span<const GoroutineEntry> goroutines,
                                       const ProfileContext& ctx, int64_t at_ns);
Expected<void> write_goroutine_profile(const std::string& path, const state::StateModel& state,
                                       const ProfileContext& ctx, int64_t at_ns,
                                       bool include_runtime = false);

}  // namespace goscope::output

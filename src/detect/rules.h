// Findings rules in the spirit of gotracer, computed from the live event stream:
// GS301 long blocking, GS302 mutex contention, GS303 scheduling latency, GS202
// goroutine count growth, GS304 stop-the-world pauses (detect/findings.h). The
// window of every rule is the whole trace so far.
//
// The RulesEngine sees every event right after the state::StateModel did, keeps the few
// things the model does not (where each mutex was waited for, wake-up to run
// latencies, stop-the-world pauses, goroutine counts over time) and turns both
// into findings on demand. evaluate() is cheap enough to run every second; the
// same finding found again has the same key.
//
// What each rule counts:
// - GS301: per blocking site and wait reason (state::StateModel::blocking_by_site), when
//   the longest single interval reaches long-block. Only waits on the program's
//   own synchronisation count (channel operations, select with cases, sync.Mutex,
//   RWMutex, Cond, WaitGroup, semaphores: counts_as_long_blocking); waits that are
//   idle by nature (IO wait, sleep, timers, select {}, GC and other runtime
//   reasons) and the runtime's own goroutines are left out. An idle worker pool
//   waiting for jobs on a channel is reported: it is for the reader to judge.
// - GS302: per mutex (state::StateModel::mutexes), when the total wait reaches
//   contention-total or the longest wait contention-max. The location is the site
//   of the contended lock calls that waited longest in total.
// - GS303: the time from "made runnable" to "running". With the scheduler view
//   (kStatus events) it is exact: a runnable -> running transition after the
//   transition to runnable. Without it, the time from a wake-up (kReady) to the
//   goroutine's next event is an upper bound, and only wake-ups whose next event
//   is the return of the very operation that parked (an event that began before
//   the wake-up: a blocking channel op, select, contended lock) are counted: any
//   other next event may come long after the goroutine started running.
// - GS202: from sample() points (alive goroutines that are not the runtime's), over
//   at least growth-window and 5 samples: a least-squares slope of at least
//   growth-rate, a net growth of at least growth-min, and a count at the end still
//   within 10% of the highest.
// - GS304: pauses between kStopTheWorld and kStartTheWorld; a finding when the
//   longest reaches stw-max or their total stw-total.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/expected.h"
#include "detect/findings.h"
#include "state/state_model.h"
#include "model/event.h"

namespace goscope::detect {

struct RuleThresholds {
  int64_t long_block_ns = 1'000'000'000;      // long-block: GS301, longest single blocking interval
  int64_t contention_total_ns = 100'000'000;  // contention-total: GS302, total wait for one mutex
  int64_t contention_max_ns = 50'000'000;     // contention-max: GS302, longest wait for one mutex
  int64_t sched_latency_ns = 10'000'000;      // sched-latency: GS303, p99 runnable -> running
  uint64_t sched_samples = 20;                // sched-samples: GS303, fewest wake-ups to judge
  int64_t growth_window_ns = 10'000'000'000;  // growth-window: GS202, shortest span of samples
  double growth_rate_per_s = 1.0;             // growth-rate: GS202, goroutines per second
  uint64_t growth_min = 100;                  // growth-min: GS202, net growth in goroutines
  int64_t stw_max_ns = 10'000'000;            // stw-max: GS304, longest pause
  int64_t stw_total_ns = 100'000'000;         // stw-total: GS304, total of the pauses
};

// Settings of the form KEY=VALUE ("long-block=2s", "growth-rate=2"), several per
// string when separated by commas, applied in order over `base`. Durations as
// parse_duration (common/duration.h) reads them; counts are positive integers;
// growth-rate a positive number, optionally followed by "/s". An unknown key or a
// bad value is an error naming the keys / the expected form.
Expected<RuleThresholds> parse_thresholds(std::span<const std::string> specs, RuleThresholds base = {});
// One line per key: "long-block=1s  GS301: ...", with the values of `t` (for --help).
std::string thresholds_help(const RuleThresholds& t = {});

// Whether GS301 counts a wait with this reason (the runtime's word, "chan receive").
bool counts_as_long_blocking(std::string_view wait_reason);

// Durations in a fixed number of log2 buckets, each split in 8 linear sub-buckets:
// quantiles within 1/16 of the value, in 4 KiB, whatever the number of samples.
class LatencyHistogram {
 public:
  void add(int64_t ns);
  uint64_t count() const { return count_; }
  int64_t max() const { return max_; }
  int64_t total() const { return total_; }
  // The q-quantile (0 < q <= 1), as the middle of its bucket kept within [min, max]; 0 when empty.
  int64_t quantile(double q) const;

 private:
  static constexpr int kSubBits = 3;
  static constexpr int kBuckets = (64 - kSubBits) << kSubBits;
  static int bucket_of(uint64_t ns);
  static uint64_t bucket_low(int bucket);
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t total_ = 0;
};

class RulesEngine {
 public:
  explicit RulesEngine(RuleThresholds thresholds = {});

  // Every event, right after state::StateModel::apply got it.
  void apply(const model::Event& e);
  // About once a second in a live session (and at the end): the goroutine count now.
  void sample(int64_t now_ns, const state::StateModel& model);
  // The findings of every rule at now_ns, from `model` (the one fed the same events)
  // and what this engine saw. Ordered by rule, then most severe / largest first.
  std::vector<Finding> evaluate(const state::StateModel& model, int64_t now_ns) const;

  const RuleThresholds& thresholds() const { return thresholds_; }
  // Runnable -> running latencies: exact ones (scheduler view) and upper bounds.
  const LatencyHistogram& exact_latency() const { return exact_latency_; }
  const LatencyHistogram& bounded_latency() const { return bounded_latency_; }

 private:
  struct WaitTotals {
    uint64_t count = 0;
    int64_t total_ns = 0;
    int64_t max_ns = 0;
    void add(int64_t ns);
  };
  struct Runnable {
    int64_t since_ns = 0;
    bool from_status = false;  // the transition to runnable itself was seen (exact)
  };
  struct Pause {
    uint64_t count = 0;
    int64_t total_ns = 0;
    int64_t max_ns = 0;
  };
  struct CountSample {
    int64_t time_ns = 0;
    uint64_t alive = 0;
  };

  void acted(uint64_t goid, const model::Event& e);
  void status(const model::Event& e);
  void add_latency(LatencyHistogram& h, uint64_t goid, int64_t ns);

  void long_blocking(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const;
  void mutex_contention(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const;
  void scheduling_latency(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const;
  void goroutine_growth(const state::StateModel& model, int64_t now_ns, std::vector<Finding>& out) const;
  void stop_the_world(int64_t now_ns, std::vector<Finding>& out) const;

  RuleThresholds thresholds_;
  // GS302: contended lock waits per mutex and lock stack.
  std::unordered_map<uint64_t, std::unordered_map<model::StackId, WaitTotals>> mutex_waits_;
  // GS303
  std::unordered_map<uint64_t, Runnable> runnable_;
  bool status_seen_ = false;
  LatencyHistogram exact_latency_;
  LatencyHistogram bounded_latency_;
  uint64_t exact_worst_goid_ = 0;
  uint64_t bounded_worst_goid_ = 0;
  uint64_t bounds_skipped_ = 0;  // wake-ups whose next event came too late to bound anything
  // GS304: by reason code (-1: unknown).
  std::map<int64_t, Pause> pauses_;
  bool world_stopped_ = false;
  int64_t stopped_at_ns_ = 0;
  int64_t stop_reason_ = -1;
  // GS202
  std::vector<CountSample> counts_;

  static constexpr size_t kMaxRunnable = 1 << 20;
  static constexpr size_t kMaxCountSamples = 4096;
};

}  // namespace goscope::detect

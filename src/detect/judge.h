// When and how a session judges deadlocks and leaks: the policy every command
// shares (trace, record, capture live; dump on one snapshot; report and export on a
// replay). The detectors (deadlock.h, rules.h) answer "what is stuck now"; the
// Judge decides when to ask, with which look at the process, and what to report:
//
// - live, about once a second (tick): the goroutines blocked for at least
//   `deadlock_after` are the suspects; they are judged when that set changes, and
//   while it stays the same only now and then (1 s, doubling up to 60 s: a
//   reachability scan of a large heap is not free). Each judgment takes a fresh
//   snapshot of the process (a suspect must still be blocked the same way in memory)
//   and a reachability oracle over its memory. A verdict is reported once; a leak
//   judged again with more goroutines grows (record_finding).
// - at the end (finish): once more; if the program has exited its memory is gone and
//   only what needs none is judged (every goroutine asleep at the exit).
// - on one snapshot (judge_snapshot, dump): goroutines read one after the other while
//   the program ran may have moved on; a second look a moment later confirms.
// - on a replay (no process): nothing is judged before the end; the verdicts the
//   recording reached with the process's memory are adopted (adopt).
//
// The process is reached through ProcessView (loader/live_process.h on a live
// process, fakes in tests), time passes through Pause: the policy is unit-tested
// without root, without a process and without waiting.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.h"
#include "detect/deadlock.h"
#include "detect/findings.h"
#include "state/state_model.h"
#include "detect/lock_sites.h"
#include "detect/process_view.h"
#include "detect/reachability_oracle.h"
#include "detect/rules.h"
#include "model/event.h"
#include "model/snapshot.h"

namespace goscope::detect {

// Waiting (the second look of a snapshot judgment); tests pass one that returns at once.
class Pause {
 public:
  virtual ~Pause() = default;
  virtual void sleep_ns(int64_t ns) = 0;
};
// The real one: std::this_thread::sleep_for.
Pause& real_pause();

struct JudgeConfig {
  int64_t deadlock_after_ns = 3'000'000'000;  // live: how long a suspect must have been blocked
  RuleThresholds thresholds;
  // Lock events cover every acquisition (lock probes on since the program's start):
  // lock holders are known, not inferred.
  bool holders_traced = false;
  int64_t second_look_ns = 200'000'000;      // judge_snapshot: the pause before the second look
  int64_t rejudge_first_ns = 1'000'000'000;  // the same suspects: judged again after this...
  int64_t rejudge_max_ns = 60'000'000'000;   // ...doubling up to this
};

class Judge {
 public:
  // `model` is fed the events by the caller (before apply()); `process` is null when
  // there is none to look at (a replay). Both must outlive the judge.
  Judge(const state::StateModel& model, const model::StreamInfo& stream, ProcessView* process,
        const JudgeConfig& config, Pause& pause = real_pause());
  ~Judge();

  // Every event, after the state model saw it (the rules keep what the model does not).
  void apply(const model::Event& e) { rules_.apply(e); }
  // About once a second while live: samples goroutine counts, and returns the
  // deadlocks and leaks found for the first time.
  std::vector<Finding> tick(int64_t now_ns);
  // At the end: every deadlock found during the session and now, and the rules.
  std::vector<Finding> finish(int64_t now_ns, bool target_exited);
  // A deadlock or leak judged earlier, with memory this process no longer has (a
  // replay adopts the verdicts the recording made): reported like one found now.
  void adopt(const Finding& finding);
  // Judges one process snapshot (dump): the state model was seeded with it.
  // Confirmed by a second look at the process: only goroutines still blocked the same
  // way a moment later are reported.
  std::vector<Finding> judge_snapshot(const model::ProcessSnapshot& snapshot, uint64_t load_bias,
                                      int64_t now_ns);
  // Why some waits could not be judged (once each), for the report.
  const std::vector<std::string>& notes() const { return notes_; }
  // How many times the wait-for graph was judged (tick, finish, snapshot looks).
  uint64_t judgments() const { return judgments_; }

 private:
  std::vector<Finding> judge_live(int64_t now_ns, bool target_exited);
  std::vector<Finding> run_detector(int64_t now_ns, const DeadlockOptions& opt, ReachabilityOracle* oracle);
  void remember(std::vector<Finding>& found, std::vector<Finding>* fresh);
  void note(const std::string& text);

  const state::StateModel& model_;
  const model::StreamInfo& stream_;
  ProcessView* process_;
  JudgeConfig config_;
  Pause& pause_;
  RulesEngine rules_;
  LockSites lock_sites_;
  std::vector<Finding> verdicts_;  // found so far, each once (record_finding)
  std::string last_suspects_;      // the suspect set last judged live
  int64_t next_rejudge_ns_ = 0;
  int64_t rejudge_interval_ns_ = 0;
  uint64_t judgments_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace goscope::detect

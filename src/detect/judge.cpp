#include "detect/judge.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace goscope::detect {

namespace {

class ThreadPause : public Pause {
 public:
  void sleep_ns(int64_t ns) override { std::this_thread::sleep_for(std::chrono::nanoseconds(ns)); }
};

// The goroutines blocked long enough to be judged, as a string that changes when they do.
std::string suspect_signature(const state::StateModel& model, int64_t now_ns, int64_t after_ns) {
  std::string sig;
  for (const state::GoroutineInfo* g : model.goroutines()) {
    if (g->runtime || g->state != state::GoroutineState::kBlocked) continue;
    if (now_ns - g->since_ns < after_ns) continue;
    sig += std::to_string(g->goid) + "@" + std::to_string(g->since_ns) + ",";
  }
  return sig;
}

}  // namespace

Pause& real_pause() {
  static ThreadPause pause;
  return pause;
}

Judge::Judge(const state::StateModel& model, const model::StreamInfo& stream, ProcessView* process,
             const JudgeConfig& config, Pause& pause)
    : model_(model),
      stream_(stream),
      process_(process),
      config_(config),
      pause_(pause),
      rules_(config.thresholds),
      lock_sites_(model.symbols().code()),
      rejudge_interval_ns_(config.rejudge_first_ns) {}

Judge::~Judge() = default;

void Judge::note(const std::string& text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
}

void Judge::remember(std::vector<Finding>& found, std::vector<Finding>* fresh) {
  for (auto& f : found) {
    Finding copy = fresh ? f : Finding{};
    if (record_finding(verdicts_, std::move(f)) && fresh) fresh->push_back(std::move(copy));
  }
}

void Judge::adopt(const Finding& finding) {
  std::vector<Finding> one{finding};
  remember(one, nullptr);
}

std::vector<Finding> Judge::run_detector(int64_t now_ns, const DeadlockOptions& opt,
                                         ReachabilityOracle* oracle) {
  judgments_++;
  DeadlockDetector detector(model_, stream_, &lock_sites_, oracle);
  auto found = detector.detect(now_ns, opt);
  // At the program's exit, what could not be judged for want of memory is no news.
  if (!opt.target_exited)
    for (const auto& n : detector.notes()) note(n);
  return found;
}

std::vector<Finding> Judge::judge_live(int64_t now_ns, bool target_exited) {
  DeadlockOptions opt;
  opt.min_blocked_ns = config_.deadlock_after_ns;
  opt.holders_traced = config_.holders_traced;
  opt.target_exited = target_exited;
  // At the end of the program every goroutine still blocked stays blocked for good.
  if (target_exited) opt.min_blocked_ns = 0;
  if (target_exited || !process_) return run_detector(now_ns, opt, nullptr);
  // A process that is exiting cannot be read any more: nothing to say about that.
  auto look = process_->look();
  if (!look) {
    if (!process_->gone())
      note("the process could not be read to judge blocked goroutines: " + look.error().message);
    return {};
  }
  opt.confirm = &look->snapshot;
  opt.confirm_load_bias = look->load_bias;
  auto oracle = process_->reachability(look->snapshot, look->load_bias);
  return run_detector(now_ns, opt, oracle.get());
}

std::vector<Finding> Judge::tick(int64_t now_ns) {
  rules_.sample(now_ns, model_);
  std::vector<Finding> fresh;
  // A replay judges once, at the end, when every verdict of the recording is adopted.
  if (!process_) return fresh;
  const std::string sig = suspect_signature(model_, now_ns, config_.deadlock_after_ns);
  if (sig.empty()) {
    last_suspects_.clear();
    return fresh;
  }
  // The same goroutines still blocked: judged again only now and then (a scan of a
  // large heap is not free), sooner when the set changes.
  if (sig == last_suspects_ && now_ns < next_rejudge_ns_) return fresh;
  if (sig != last_suspects_) rejudge_interval_ns_ = config_.rejudge_first_ns;
  last_suspects_ = sig;
  next_rejudge_ns_ = now_ns + rejudge_interval_ns_;
  rejudge_interval_ns_ = std::min(rejudge_interval_ns_ * 2, config_.rejudge_max_ns);
  auto found = judge_live(now_ns, false);
  remember(found, &fresh);
  return fresh;
}

std::vector<Finding> Judge::finish(int64_t now_ns, bool target_exited) {
  rules_.sample(now_ns, model_);
  auto found = judge_live(now_ns, target_exited);
  remember(found, nullptr);
  std::vector<Finding> all = verdicts_;
  for (auto& f : rules_.evaluate(model_, now_ns)) all.push_back(std::move(f));
  return all;
}

std::vector<Finding> Judge::judge_snapshot(const model::ProcessSnapshot& snapshot, uint64_t load_bias,
                                           int64_t now_ns) {
  if (!process_) return {};
  DeadlockOptions opt;
  opt.min_blocked_ns = 0;
  opt.holders_traced = false;
  auto oracle = process_->reachability(snapshot, load_bias);
  std::vector<Finding> found = run_detector(now_ns, opt, oracle.get());
  if (found.empty()) return found;
  // One moment is not enough: the goroutines were read one after the other while the
  // program ran. Look again a little later; only what is still blocked the same way counts.
  pause_.sleep_ns(config_.second_look_ns);
  auto again = process_->look();
  if (!again) {
    if (!process_->gone())
      note("the second look at the process failed (" + again.error().message + "): nothing is reported");
    return {};
  }
  opt.confirm = &again->snapshot;
  opt.confirm_load_bias = again->load_bias;
  auto confirmed = run_detector(now_ns, opt, oracle.get());
  std::vector<Finding> out;
  for (auto& f : confirmed)
    if (std::any_of(found.begin(), found.end(), [&](const auto& g) { return g.key == f.key; }))
      out.push_back(std::move(f));
  return out;
}

}  // namespace goscope::detect

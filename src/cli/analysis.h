// The findings side of the live commands and of dump: flags (--fail-on,
// --threshold, --deadlock-after, --findings FILE), and one Analysis object that
// feeds the rules engine, runs the deadlock detector at the right moments (with
// a fresh snapshot of the process and a reachability scan of its memory), and
// reports each deadlock once.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/expected.h"
#include "detect/deadlock.h"
#include "detect/findings.h"
#include "detect/goroutine_state.h"
#include "detect/lock_sites.h"
#include "detect/rules.h"
#include "model/event.h"
#include "symbolizer/symbolizer.h"

namespace CLI {
class App;
}

namespace goscope::cli {

struct FindingsFlags {
  std::string fail_on = "error";        // error | warning | info | never
  std::vector<std::string> thresholds;  // KEY=VALUE (detect::parse_thresholds)
  std::string deadlock_after = "3s";    // live only
  std::string findings_path;            // also write findings here: .sarif, .json, else text

  void add_to(CLI::App& sub, bool live);
};

struct FindingsConfig {
  std::optional<detect::Severity> fail_on;  // nullopt: never fail on findings
  detect::RuleThresholds thresholds;
  int64_t deadlock_after_ns = 3'000'000'000;
  std::string findings_path;
};
Expected<FindingsConfig> resolve(const FindingsFlags& flags);

// kExitFindings when a finding is at or above --fail-on, else kExitOk.
int findings_exit_code(const std::vector<detect::Finding>& findings, const FindingsConfig& config);
// Writes --findings FILE (format from the extension: .sarif, .json, else text), owned
// by the invoking user.
enum class FindingsFileFormat { kText, kJson, kSarif };
FindingsFileFormat findings_format_for_path(const std::string& path);
Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings);
Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings,
                                   FindingsFileFormat format);
// Prints findings as text to stderr-like `out` (a FILE*), colored when asked.
void print_findings(FILE* out, const std::vector<detect::Finding>& findings, bool color);

class Analysis {
 public:
  // `model` is fed the events by the caller; `pid` is read for snapshots through
  // `binary` (pid 0 and no binary: never, e.g. a replay). `holders_traced`: lock
  // events cover every acquisition.
  Analysis(const detect::StateModel& model, const model::StreamInfo& stream, const sym::GoBinary* binary,
           pid_t pid, uint64_t load_bias, const FindingsConfig& config, bool holders_traced);
  ~Analysis();

  void apply(const model::Event& e) { rules_.apply(e); }
  // About once a second while live: samples goroutine counts, and returns the
  // deadlocks and leaks found for the first time.
  std::vector<detect::Finding> tick(int64_t now_ns);
  // At the end: every deadlock found during the session and now, and the rules.
  std::vector<detect::Finding> finish(int64_t now_ns, bool target_exited);
  // A deadlock or leak judged earlier, with memory this process no longer has (a
  // replay adopts the verdicts the recording made): reported like one found now.
  void adopt(const detect::Finding& finding);
  // Findings of the wait-for graph (deadlocks, leaks): the ones a recording stores,
  // because judging them again needs the process's memory.
  static bool from_wait_for_graph(const detect::Finding& finding);
  // Why some waits could not be judged (once each), for the report.
  const std::vector<std::string>& notes() const { return notes_; }

  // Judges one process snapshot (dump): the state model was seeded with it.
  // Confirmed by a second look at the process: only goroutines still blocked the same
  // way a moment later are reported.
  std::vector<detect::Finding> judge_snapshot(const model::ProcessSnapshot& snapshot, int64_t now_ns);

 private:
  std::vector<detect::Finding> detect_live(int64_t now_ns, bool target_exited);
  void remember(std::vector<detect::Finding>& found, std::vector<detect::Finding>* fresh);
  void note(const std::string& text);

  const detect::StateModel& model_;
  const model::StreamInfo& stream_;
  const sym::GoBinary* binary_;
  pid_t pid_;
  uint64_t load_bias_;
  FindingsConfig config_;
  bool holders_traced_;
  detect::RulesEngine rules_;
  detect::LockSites lock_sites_;
  std::vector<detect::Finding> deadlocks_;  // found so far, each once (detect::record_finding)
  std::string last_suspects_;  // the suspect set last judged live
  int64_t next_rejudge_ns_ = 0;
  int64_t rejudge_interval_ns_ = 1'000'000'000;
  std::vector<std::string> notes_;
};

}  // namespace goscope::cli

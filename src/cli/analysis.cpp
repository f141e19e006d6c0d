#include "cli/analysis.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/options.h"
#include "common/duration.h"
#include "loader/reachability.h"
#include "loader/snapshot_reader.h"
#include "output/findings_report.h"

#ifndef GOSCOPE_VERSION
#define GOSCOPE_VERSION "0.0.0"
#endif

namespace goscope::cli {

void FindingsFlags::add_to(CLI::App& sub, bool live) {
  sub.add_option("--fail-on", fail_on,
                 "exit 1 when a finding is at least this severe: error (default), warning, info or never");
  sub.add_option("--threshold", thresholds, "rule thresholds, KEY=VALUE[,...]: " + detect::thresholds_help())
      ->allow_extra_args(false);
  if (live)
    sub.add_option("--deadlock-after", deadlock_after,
                   "how long goroutines must stay blocked before they are judged (default 3s)");
  sub.add_option("--findings", findings_path,
                 "also write the findings to this file: .sarif (SARIF 2.1.0), .json, anything else text");
}

Expected<FindingsConfig> resolve(const FindingsFlags& flags) {
  FindingsConfig c;
  if (flags.fail_on != "never") {
    c.fail_on = detect::parse_severity(flags.fail_on);
    if (!c.fail_on)
      return make_error("--fail-on must be error, warning, info or never, not '" + flags.fail_on + "'");
  }
  GS_TRY(auto thresholds, detect::parse_thresholds(flags.thresholds));
  c.thresholds = thresholds;
  auto after = parse_duration(flags.deadlock_after);
  if (!after) return make_error("--deadlock-after: " + after.error().message);
  c.deadlock_after_ns = after->count();
  c.findings_path = flags.findings_path;
  return c;
}

int findings_exit_code(const std::vector<detect::Finding>& findings, const FindingsConfig& config) {
  if (!config.fail_on) return kExitOk;
  return detect::exit_code_for(findings, *config.fail_on) ? kExitFindings : kExitOk;
}

FindingsFileFormat findings_format_for_path(const std::string& path) {
  if (path.ends_with(".sarif") || path.ends_with(".sarif.json")) return FindingsFileFormat::kSarif;
  if (path.ends_with(".json")) return FindingsFileFormat::kJson;
  return FindingsFileFormat::kText;
}

Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings) {
  return write_findings_file(path, findings, findings_format_for_path(path));
}

Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings,
                                   FindingsFileFormat format) {
  std::string text;
  if (format == FindingsFileFormat::kSarif) {
    output::SarifOptions so;
    so.tool_version = GOSCOPE_VERSION;
    text = output::findings_sarif(findings, so).dump(2) + "\n";
  } else if (format == FindingsFileFormat::kJson) {
    text = output::findings_json(findings).dump(2) + "\n";
  } else {
    std::ostringstream os;
    output::write_findings_text(os, findings, {});
    text = os.str();
  }
  return write_text_file(path, text);
}

void print_findings(FILE* out, const std::vector<detect::Finding>& findings, bool color) {
  std::ostringstream os;
  output::TextOptions to;
  to.color = color;
  output::write_findings_text(os, findings, to);
  const std::string text = os.str();
  std::fwrite(text.data(), 1, text.size(), out);
  std::fflush(out);
}

Analysis::Analysis(const detect::StateModel& model, const model::StreamInfo& stream,
                   const sym::GoBinary* binary, pid_t pid, uint64_t load_bias, const FindingsConfig& config,
                   bool holders_traced)
    : model_(model),
      stream_(stream),
      binary_(binary),
      pid_(pid),
      load_bias_(load_bias),
      config_(config),
      holders_traced_(holders_traced),
      rules_(config.thresholds),
      lock_sites_(model.symbols().code()) {
  if (!binary_) pid_ = 0;
}

Analysis::~Analysis() = default;

void Analysis::note(const std::string& text) {
  if (std::find(notes_.begin(), notes_.end(), text) == notes_.end()) notes_.push_back(text);
}

void Analysis::remember(std::vector<detect::Finding>& found, std::vector<detect::Finding>* fresh) {
  for (auto& f : found) {
    detect::Finding copy = fresh ? f : detect::Finding{};
    if (detect::record_finding(deadlocks_, std::move(f)) && fresh) fresh->push_back(std::move(copy));
  }
}

void Analysis::adopt(const detect::Finding& finding) {
  std::vector<detect::Finding> one{finding};
  remember(one, nullptr);
}

bool Analysis::from_wait_for_graph(const detect::Finding& finding) {
  return finding.rule <= detect::Rule::kGoroutineLeak;
}

namespace {

// The goroutines blocked long enough to be judged, as a string that changes when they do.
std::string suspect_signature(const detect::StateModel& model, int64_t now_ns, int64_t after_ns) {
  std::string sig;
  for (const detect::GoroutineInfo* g : model.goroutines()) {
    if (g->runtime || g->state != detect::GoroutineState::kBlocked) continue;
    if (now_ns - g->since_ns < after_ns) continue;
    sig += std::to_string(g->goid) + "@" + std::to_string(g->since_ns) + ",";
  }
  return sig;
}

}  // namespace

std::vector<detect::Finding> Analysis::detect_live(int64_t now_ns, bool target_exited) {
  detect::DeadlockOptions opt;
  opt.min_blocked_ns = config_.deadlock_after_ns;
  opt.holders_traced = holders_traced_;
  opt.target_exited = target_exited;
  // At the end of the program every goroutine still blocked stays blocked for good.
  if (target_exited) opt.min_blocked_ns = 0;
  if (target_exited || pid_ <= 0) {
    detect::DeadlockDetector detector(model_, stream_, &lock_sites_, nullptr);
    auto found = detector.detect(now_ns, opt);
    if (!target_exited)
      for (const auto& n : detector.notes()) note(n);
    return found;
  }
  // A process that is exiting cannot be read any more: nothing to say about that.
  auto gone = [this] {
    if (kill(pid_, 0) != 0 && errno == ESRCH) return true;
    // A zombie (exited, not yet reaped) still answers kill(0) but has no memory left.
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
  };
  auto process = sym::ProcessImage::open(pid_);
  if (!process) {
    if (!gone())
      note("the process could not be read to judge blocked goroutines: " + process.error().message);
    return {};
  }
  loader::ProcessMemory memory(pid_);
  auto snapshot = loader::read_snapshot(*binary_, *process, memory);
  if (!snapshot) {
    if (!gone())
      note("the process could not be read to judge blocked goroutines: " + snapshot.error().message);
    return {};
  }
  opt.confirm = &*snapshot;
  opt.confirm_load_bias = process->load_bias();
  loader::ProcessReachability oracle(*binary_, process->load_bias(), *snapshot, pid_);
  detect::DeadlockDetector detector(model_, stream_, &lock_sites_, &oracle);
  auto found = detector.detect(now_ns, opt);
  for (const auto& n : detector.notes()) note(n);
  return found;
}

std::vector<detect::Finding> Analysis::tick(int64_t now_ns) {
  rules_.sample(now_ns, model_);
  std::vector<detect::Finding> fresh;
  // A replay judges once, at the end, when every verdict of the recording is adopted.
  if (!binary_) return fresh;
  const std::string sig = suspect_signature(model_, now_ns, config_.deadlock_after_ns);
  if (sig.empty()) {
    last_suspects_.clear();
    return fresh;
  }
  // The same goroutines still blocked: judged again only now and then (a scan of a
  // large heap is not free), sooner when the set changes.
  if (sig == last_suspects_ && now_ns < next_rejudge_ns_) return fresh;
  if (sig != last_suspects_) rejudge_interval_ns_ = 1'000'000'000;
  last_suspects_ = sig;
  next_rejudge_ns_ = now_ns + rejudge_interval_ns_;
  rejudge_interval_ns_ = std::min<int64_t>(rejudge_interval_ns_ * 2, 60'000'000'000);
  auto found = detect_live(now_ns, false);
  remember(found, &fresh);
  return fresh;
}

std::vector<detect::Finding> Analysis::finish(int64_t now_ns, bool target_exited) {
  rules_.sample(now_ns, model_);
  auto found = detect_live(now_ns, target_exited);
  remember(found, nullptr);
  std::vector<detect::Finding> all = deadlocks_;
  for (auto& f : rules_.evaluate(model_, now_ns)) all.push_back(std::move(f));
  return all;
}

std::vector<detect::Finding> Analysis::judge_snapshot(const model::ProcessSnapshot& snapshot,
                                                      int64_t now_ns) {
  detect::DeadlockOptions opt;
  opt.min_blocked_ns = 0;
  opt.holders_traced = false;
  if (!binary_ || pid_ <= 0) return {};
  loader::ProcessReachability oracle(*binary_, load_bias_, snapshot, pid_);
  std::vector<detect::Finding> found;
  {
    detect::DeadlockDetector detector(model_, stream_, &lock_sites_, &oracle);
    found = detector.detect(now_ns, opt);
    for (const auto& n : detector.notes()) note(n);
  }
  if (found.empty()) return found;
  // One moment is not enough: the goroutines were read one after the other while the
  // program ran. Look again a little later; only what is still blocked the same way counts.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto process = sym::ProcessImage::open(pid_);
  if (!process) return {};
  loader::ProcessMemory memory(pid_);
  auto again = loader::read_snapshot(*binary_, *process, memory);
  if (!again) {
    note("the second look at the process failed (" + again.error().message + "): nothing is reported");
    return {};
  }
  opt.confirm = &*again;
  opt.confirm_load_bias = load_bias_;
  detect::DeadlockDetector detector(model_, stream_, &lock_sites_, &oracle);
  auto confirmed = detector.detect(now_ns, opt);
  std::vector<detect::Finding> out;
  for (auto& f : confirmed)
    if (std::any_of(found.begin(), found.end(), [&](const auto& g) { return g.key == f.key; }))
      out.push_back(std::move(f));
  return out;
}

}  // namespace goscope::cli

// The findings flags of the commands that judge (--fail-on, --threshold,
// --deadlock-after, --findings FILE), what they resolve to, and the exit code they
// give. The judging itself is detect::Judge (detect/judge.h); findings files and
// their formats are output's (output/findings_report.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/expected.h"
#include "detect/findings.h"
#include "detect/judge.h"
#include "detect/rules.h"

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

  // What the judge needs of it; `holders_traced`: lock events cover every acquisition.
  detect::JudgeConfig judge(bool holders_traced) const;
};
Expected<FindingsConfig> resolve(const FindingsFlags& flags);

// kExitFindings when a finding is at or above --fail-on, else kExitOk.
int findings_exit_code(const std::vector<detect::Finding>& findings, const FindingsConfig& config);
// Writes --findings FILE, the format from its name (output::findings_format_for_path).
Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings);

}  // namespace goscope::cli

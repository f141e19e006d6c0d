#include "cli/findings_flags.h"

#include <CLI/CLI.hpp>

#include "cli/options.h"
#include "common/duration.h"
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

detect::JudgeConfig FindingsConfig::judge(bool holders_traced) const {
  detect::JudgeConfig j;
  j.deadlock_after_ns = deadlock_after_ns;
  j.thresholds = thresholds;
  j.holders_traced = holders_traced;
  return j;
}

int findings_exit_code(const std::vector<detect::Finding>& findings, const FindingsConfig& config) {
  if (!config.fail_on) return kExitOk;
  return detect::exit_code_for(findings, *config.fail_on) ? kExitFindings : kExitOk;
}

Expected<void> write_findings_file(const std::string& path, const std::vector<detect::Finding>& findings) {
  return output::write_findings_file(path, findings, output::findings_format_for_path(path), GOSCOPE_VERSION);
}

}  // namespace goscope::cli

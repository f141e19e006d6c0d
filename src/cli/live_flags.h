// The flags of the live commands (`trace`, `record`, `capture`) and what they
// resolve to: the live source's options, the session's run options (duration,
// Ctrl-C) and the findings flags; starting the live source and announcing it.
#pragma once

#include <memory>
#include <string>

#include "cli/findings_flags.h"
#include "cli/options.h"
#include "common/expected.h"
#include "session/live_source.h"
#include "session/session.h"

namespace CLI {
class App;
}

namespace goscope::cli {

struct LiveConfig {
  session::LiveOptions source;
  session::RunOptions run;  // duration; interrupted by Ctrl-C / SIGTERM
  FindingsConfig findings;
  uint32_t cpu_hz = 0;
};

// The flags of a live session, the same on every live command.
struct LiveFlags {
  TargetOptions target;
  std::string duration;
  bool all_ops = false;
  bool scheduler = false;
  bool lock_holders = false;
  uint32_t stack_depth = GS_DEFAULT_FRAMES;
  uint32_t buffer_mb = GS_RINGBUF_DEFAULT_BYTES >> 20;
  uint32_t cpu_hz = 0;  // CPU samples per second and CPU (0: none); record and capture sample
  FindingsFlags findings;

  // Target, duration, probe choice, stack depth, buffer size and the findings flags.
  // `default_duration`: "" for none (until Ctrl-C or the target's end).
  void add_to(CLI::App& sub, const std::string& default_duration = "");
  // -F / --frequency: CPU sampling for the CPU profile, `default_hz` unless given.
  void add_sampling_option(CLI::App& sub, uint32_t default_hz);
  // Checks every value; a clear message for the first one that is wrong.
  Expected<LiveConfig> resolve() const;
};

// Starts the probes on the target (launched ones stay held until the session runs)
// and prints the source's warnings; installs the Ctrl-C / SIGTERM handlers.
Expected<std::unique_ptr<session::LiveSource>> start_live(const LiveConfig& config);
// "goscope: <verb> PID 1234 (path, go1.22.3): 40 probes in 12.3 ms; Ctrl-C to stop" on stderr.
void announce(const char* verb, const session::LiveSource& source, uint32_t cpu_hz);

}  // namespace goscope::cli

// Commands of the design's surface that are not built yet. They say so and
// exit 2 (could not run): no fake output. Each names where its work is tracked.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/options.h"

namespace goscope::cli {

namespace {

struct Planned {
  const char* name;
  const char* summary;
  const char* tracked_in;
};

constexpr Planned kPlanned[] = {
    {"top", "Live table of goroutines: state, wait reason, blocked for, top frame",
     "no issue yet; meanwhile `goscope trace -q` ends with the same state as a summary"},
};

}  // namespace

void register_planned_commands(CLI::App& app, int& exit_code) {
  for (const Planned& p : kPlanned) {
    CLI::App* sub = app.add_subcommand(p.name, std::string(p.summary) + " [not built yet]");
    sub->allow_extras();
    sub->footer(std::string("Not built yet (") + p.tracked_in + ").");
    sub->callback([p, &exit_code] {
      std::fprintf(stderr, "goscope %s: not built yet in this version (%s).\n", p.name, p.tracked_in);
      exit_code = kExitCouldNotRun;
    });
  }
}

}  // namespace goscope::cli

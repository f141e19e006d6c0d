// goscope: flags (CLI11) and wiring only; each command lives in its own file.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "cli/options.h"

#ifndef GOSCOPE_VERSION
#define GOSCOPE_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  // A closed pipe (a launched program that died, `goscope ... | head`) is an
  // error to report, not a reason to die silently.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{
      "goscope: see the goroutines, channels and locks of a running Go program from outside,\n"
      "with eBPF uprobes. No rebuild, no restart, no code change in the program."};
  app.set_version_flag("--version", "goscope " GOSCOPE_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Targets: -p PID attaches to a running program; -- CMD ARGS launches one\n"
      "(as the invoking user under sudo). Exit codes: 0 ok, 1 findings, 2 could not run.\n"
      "Run 'goscope COMMAND --help' for a command's flags and examples.");

  int exit_code = goscope::cli::kExitOk;
  goscope::cli::register_probe_command(app, exit_code);
  goscope::cli::register_inspect_command(app, exit_code);
  goscope::cli::register_dump_command(app, exit_code);
  goscope::cli::register_trace_command(app, exit_code);
  goscope::cli::register_record_commands(app, exit_code);
  goscope::cli::register_report_commands(app, exit_code);
  goscope::cli::register_stat_command(app, exit_code);
  goscope::cli::register_planned_commands(app, exit_code);

  // `-- CMD ARGS` is the target command, not goscope's arguments.
  int own_argc = argc;
  for (int i = 1; i < argc; i++) {
    if (std::string(argv[i]) == "--") {
      own_argc = i;
      goscope::cli::g_command_after_dashdash.assign(argv + i + 1, argv + argc);
      break;
    }
  }

  if (own_argc > 1 && argv[1][0] != '-') {
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) known = known || sub->get_name() == argv[1];
    if (!known) {
      std::fprintf(stderr, "goscope: unknown command '%s'; run 'goscope --help' for the list\n", argv[1]);
      return goscope::cli::kExitCouldNotRun;
    }
  }

  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : goscope::cli::kExitCouldNotRun;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "goscope: internal error: %s\n", e.what());
    return goscope::cli::kExitCouldNotRun;
  }
  return exit_code;
}

// Each subcommand registers its flags on the app and runs when chosen.
#pragma once

namespace CLI {
class App;
}

namespace goscope::cli {

// Adds the command to `app`; `exit_code` receives its result when it runs.
void register_probe_command(CLI::App& app, int& exit_code);
void register_inspect_command(CLI::App& app, int& exit_code);
void register_dump_command(CLI::App& app, int& exit_code);
void register_trace_command(CLI::App& app, int& exit_code);
void register_record_commands(CLI::App& app, int& exit_code);  // record, capture
void register_report_commands(CLI::App& app, int& exit_code);  // report, export
void register_stat_command(CLI::App& app, int& exit_code);
void register_planned_commands(CLI::App& app, int& exit_code);

}  // namespace goscope::cli

// `goscope dump -p PID`: a goroutine dump of a running Go process from outside,
// read from its memory (loader/snapshot_reader.h) without stopping it, printed
// in the shape of the Go runtime's own traceback, or as JSON (output/goroutine_dump.h),
// then judged (detect/judge.h).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/findings_flags.h"
#include "loader/live_process.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "state/state_model.h"
#include "state/stack_symbolizer.h"
#include "loader/privileges.h"
#include "loader/process_info.h"
#include "loader/snapshot_reader.h"
#include "model/snapshot.h"
#include "output/findings_report.h"
#include "output/goroutine_dump.h"
#include "symbolizer/symbolizer.h"

namespace goscope::cli {

namespace {

struct DumpOptions {
  pid_t pid = 0;
  bool json = false;
  bool system = false;
  bool runtime_frames = false;
  std::string group = "auto";  // auto | always | never
  std::string pprof_path;      // also write a goroutine profile here
  bool no_analysis = false;    // only the goroutines: no deadlock / leak verdict
  FindingsFlags findings;
};

output::DumpGrouping grouping(const std::string& flag) {
  if (flag == "always") return output::DumpGrouping::kAlways;
  if (flag == "never") return output::DumpGrouping::kNever;
  return output::DumpGrouping::kAuto;
}

int run_dump(const DumpOptions& o) {
  if (o.pid <= 0) return fail(make_error("no target: give -p PID of a running Go program"));
  auto resolved = resolve(o.findings);
  if (!resolved) return fail(resolved.error());
  const FindingsConfig& config = *resolved;
  auto proc = sym::ProcessImage::open(o.pid);
  if (!proc) return fail(proc.error());
  if (loader::owned_by_other_user(o.pid))
    if (auto ok = loader::check_privileges({loader::Need::kReadMemory}); !ok) return fail(ok.error());
  auto bin = sym::GoBinary::open(proc->exe_path());
  if (!bin) return fail(bin.error());

  const auto t0 = std::chrono::steady_clock::now();
  loader::ProcessMemory memory(o.pid);
  auto snap = loader::read_snapshot(**bin, *proc, memory);
  if (!snap) return fail(snap.error());
  if (snap->goroutines.empty() && snap->unreadable_gs)
    return fail(make_error("could not read any goroutine of PID " + std::to_string(o.pid) +
                           " (it is exiting, or its memory changed under the read)"));
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  // One symbolization of the binary's code for the verdict and the dump.
  model::StackTable stacks;
  auto symbols = std::make_shared<state::StackSymbolizer>(**bin, stacks);

  // The verdict: the same detector as live tracing, on this one moment (confirmed by a
  // second look a moment later), with the process's memory to tell who can reach what.
  std::vector<detect::Finding> findings;
  std::vector<std::string> notes;
  if (!o.no_analysis) {
    state::StateModel state(symbols);
    state.seed(*snap, proc->load_bias(), stacks);
    model::StreamInfo info;
    info.wait_reasons = (*bin)->offsets().wait_reasons;
    info.stacks = &stacks;
    loader::LiveProcess process(**bin, o.pid);
    detect::Judge judge(state, info, &process, config.judge(false));
    findings = judge.judge_snapshot(*snap, proc->load_bias(), snap->taken_at_ns);
    notes = judge.notes();
  }

  const output::GoroutineDumpRenderer dump(
      symbols, [&process = *proc](uint64_t pc) { return process.to_vaddr(pc); }, proc->exe_name());
  if (o.json) {
    nlohmann::json analysis = output::findings_json(findings);
    analysis["notes"] = notes;
    dump.write_json(stdout, *snap, ms, o.no_analysis ? nullptr : &analysis);
  } else {
    output::GoroutineDumpOptions view;
    view.system = o.system;
    view.runtime_frames = o.runtime_frames;
    view.group = grouping(o.group);
    dump.write_text(stdout, *snap, view);
    if (!o.no_analysis) {
      std::fflush(stdout);
      std::printf("\n");
      output::print_findings(stdout, findings, use_color("auto", stdout));
      for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
    }
  }
  std::fflush(stdout);
  if (!config.findings_path.empty() && !o.no_analysis)
    if (auto ok = write_findings_file(config.findings_path, findings); !ok) return fail(ok.error());
  if (!o.pprof_path.empty()) {
    if (auto ok = dump.write_profile(o.pprof_path, *snap, o.system); !ok) return fail(ok.error());
    std::fprintf(stderr, "goscope: goroutine profile written to %s (go tool pprof %s)\n",
                 o.pprof_path.c_str(), o.pprof_path.c_str());
  }
  std::fprintf(stderr, "goscope: read %zu goroutines of PID %d in %.1f ms\n", snap->goroutines.size(),
               static_cast<int>(o.pid), ms);
  return findings_exit_code(findings, config);
}

}  // namespace

void register_dump_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DumpOptions>();
  CLI::App* sub =
      app.add_subcommand("dump", "Goroutine dump of a running Go process from outside, without stopping it");
  sub->footer(
      "Examples:\n"
      "  sudo goscope dump -p 1234\n"
      "  sudo goscope dump -p 1234 --json > goroutines.json\n"
      "  sudo goscope dump -p 1234 --pprof goroutines.pb.gz && go tool pprof -traces goroutines.pb.gz\n\n"
      "Reads the process's memory (process_vm_readv; no ptrace stop, the program keeps\n"
      "running) and prints every goroutine like the runtime's own dump (SIGQUIT with\n"
      "GOTRACEBACK=all): state, wait reason, minutes blocked (known only once a GC ran),\n"
      "stack and creation site, plus the channels each one waits on. Running goroutines\n"
      "have no stack (it would need stopping them). A goroutine that changed while being\n"
      "read is marked. Needs CAP_SYS_PTRACE for another user's process. Works on\n"
      "stripped binaries too (.gopclntab survives stripping).\n\n"
      "Then it judges what it saw: goroutines that wait for each other in a cycle\n"
      "(mutexes, channels, RWMutex read-lock recursion), WaitGroup / Cond waits that can\n"
      "never end, and goroutines leaked on objects no other goroutine can reach (the\n"
      "process's stacks, globals and heap are scanned to tell). Exit code 0: nothing\n"
      "found; 1: a finding at or above --fail-on; 2: could not run.");
  sub->add_option("-p,--pid", opts->pid, "PID of a running Go program")->required();
  sub->add_flag("--json", opts->json, "machine-readable output (every goroutine, runtime ones included)");
  sub->add_flag("--system", opts->system,
                "also show the runtime's own goroutines and frames (GOTRACEBACK=system)");
  sub->add_flag("--runtime-frames", opts->runtime_frames, "show runtime.* frames too");
  sub->add_option("--group", opts->group,
                  "group goroutines with identical stacks: auto (when more than 100), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  sub->add_option("--pprof", opts->pprof_path,
                  "also write a goroutine profile (gzipped protobuf) for go tool pprof to this file");
  sub->add_flag("--no-analysis", opts->no_analysis, "only the goroutines: no deadlock / leak verdict");
  opts->findings.add_to(*sub, /*live=*/false);
  sub->callback([opts, &exit_code] { exit_code = run_dump(*opts); });
}

}  // namespace goscope::cli

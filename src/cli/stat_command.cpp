// `goscope stat`: hardware and software counters of a Go process, each of its
// threads and -- what perf cannot do -- each of its goroutines, like `perf stat`;
// with a CPU profile labelled by goroutine on the side (-o).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <map>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/clock.h"
#include "detect/stack_symbolizer.h"
#include "loader/perf_events.h"
#include "loader/privileges.h"
#include "loader/snapshot_reader.h"
#include "loader/target.h"
#include "loader/tracer.h"
#include "output/cpu_profile.h"
#include "output/display.h"
#include "output/stat_report.h"

namespace goscope::cli {

namespace {

struct StatFlags {
  TargetOptions target;
  std::string duration;
  std::string events;
  bool json = false;
  std::string output;
  size_t top = 10;
  bool no_goroutines = false;
  uint32_t frequency = 99;
  bool no_threads = false;
};

std::string command_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  for (char& c : raw)
    if (c == '\0') c = ' ';
  return raw;
}

enum class ProfileFormat { kPprof, kFolded };

Expected<ProfileFormat> profile_format(const std::string& path) {
  auto ends = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  if (ends(".pb.gz") || ends(".pprof") || ends(".pb")) return ProfileFormat::kPprof;
  if (ends(".folded") || ends(".txt")) return ProfileFormat::kFolded;
  return make_error("-o " + path + ": say the format by the name: .pb.gz (pprof) or .folded (folded stacks)");
}

// Names the pcs BPF recorded and adds what the CPU samples and a last look at the
// process say about each goroutine.
void describe_goroutines(model::StatResult& r, const detect::StackSymbolizer& symbols,
                         const output::CpuProfile* profile, const std::optional<model::ProcessSnapshot>& end,
                         uint64_t bias) {
  std::map<uint64_t, const model::GoroutineSnapshot*> alive;
  if (end)
    for (const auto& g : end->goroutines) alive[g.goid] = &g;
  for (model::GoroutineCounts& g : r.goroutines) {
    if (g.create_pc) {
      const detect::CodeFrame& go = symbols.frames_at(g.create_pc, true).front();
      if (go.known()) g.created_at = output::frame_text(go);
    }
    if (g.start_pc) g.function = std::string(symbols.function_at(g.start_pc));
    if (profile) {
      const auto& by = profile->by_goroutine();
      if (auto it = by.find(g.goid); it != by.end()) {
        g.samples = it->second.samples;
        g.current = it->second.last_function;
      }
    }
    if (!end) continue;
    auto it = alive.find(g.goid);
    if (it == alive.end()) {
      g.state = "exited";
      continue;
    }
    const model::GoroutineSnapshot& s = *it->second;
    g.state = s.status == static_cast<uint32_t>(model::GStatus::kWaiting) && !s.wait_reason_name.empty()
                  ? s.wait_reason_name
                  : model::status_name(s.status);
    // Where it is in the program's code: the first frame outside the runtime (a parked
    // goroutine's top frames are all gopark's), else its top frame.
    if (g.current.empty()) {
      for (size_t i = 0; i < s.stack.size(); i++) {
        if (s.stack[i] < bias) continue;
        const auto& frames = symbols.frames_at(s.stack[i] - bias, i > 0);
        if (frames.empty() || !frames.front().known()) continue;
        const std::string_view fn = frames.front().function;
        if (g.current.empty()) g.current = std::string(fn);
        if (fn.rfind("runtime.", 0) != 0) {
          g.current = output::frame_text(frames.front());
          break;
        }
      }
    }
  }
}

int run_stat(const StatFlags& flags) {
  auto fail = [](const std::string& msg) {
    std::fprintf(stderr, "goscope stat: %s\n", msg.c_str());
    return kExitCouldNotRun;
  };
  if (auto ok = flags.target.validate(); !ok) return fail(ok.error().message);
  std::optional<std::chrono::nanoseconds> duration;
  if (!flags.duration.empty()) {
    auto d = parse_duration(flags.duration);
    if (!d) return fail(d.error().message);
    duration = *d;
  }
  std::vector<model::CounterInfo> counters = loader::default_counters();
  if (!flags.events.empty()) {
    auto parsed = loader::parse_counter_list(flags.events);
    if (!parsed) return fail(parsed.error().message);
    counters = std::move(*parsed);
  }
  std::optional<ProfileFormat> format;
  if (!flags.output.empty()) {
    auto f = profile_format(flags.output);
    if (!f) return fail(f.error().message);
    format = *f;
  }
  if (flags.frequency > 10000) return fail("-F must be at most 10000 (samples per second per CPU)");
  if (!flags.output.empty() && flags.frequency == 0) return fail("-o needs CPU sampling: -F must not be 0");
  std::vector<loader::Need> needs = {loader::Need::kBpf, loader::Need::kReadMemory};
  if (auto ok = loader::check_privileges(needs); !ok) return fail(ok.error().message);

  auto target = flags.target.pid ? loader::Target::attach(flags.target.pid)
                                 : loader::Target::launch(flags.target.command);
  if (!target) return fail(target.error().message);

  loader::TraceOptions topts;
  topts.hooks = false;
  topts.snapshot = false;
  topts.cpu_sample_hz = flags.frequency;
  topts.counters = counters;
  topts.goroutine_counters = !flags.no_goroutines;
  auto tracer = loader::Tracer::start(target->pid(), target->exe_path(), target->launched(), topts);
  if (!tracer) return fail(tracer.error().message);
  loader::Tracer& t = **tracer;
  detect::StackSymbolizer symbols(t.binary(), t.stacks());

  std::string what = std::to_string(counters.size()) + " counters";
  if (!flags.no_goroutines) what += " per thread and goroutine";
  if (flags.frequency)
    what += ", sampling at " + std::to_string(flags.frequency) + " Hz (" + std::string(t.sample_event()) + ")";
  std::fprintf(stderr, "goscope: counting PID %d (%s, %s): %s in %.1f ms; Ctrl-C to stop\n", target->pid(),
               target->exe_path().c_str(), t.binary().build_info().go_version.c_str(), what.c_str(),
               double(t.attach_ns()) / 1e6);

  std::optional<output::CpuProfile> profile;
  model::StreamInfo stream = t.stream_info();
  output::ProfileContext ctx;
  ctx.symbols = &symbols;
  ctx.stream = &stream;
  ctx.exe_name = target->exe_path();
  auto sink = [&](const model::Event& e) {
    if (profile) profile->on_event(e);
  };

  install_stop_handlers();
  const int64_t start_ns = monotonic_ns();
  ctx.start_ns = start_ns;
  ctx.start_unix_ns = realtime_ns();
  if (flags.frequency) {
    profile.emplace(ctx, t.stacks());
    profile->set_sampling(std::string(t.sample_event()), t.sample_period_ns());
  }
  if (target->launched()) {
    if (auto ok = target->release(); !ok) return fail(ok.error().message);
  }
  std::string command = target->launched() ? "" : command_line(target->pid());
  std::string end_reason;
  while (true) {
    if (auto why = stop_reason(*target, start_ns, duration)) {
      end_reason = *why;
      break;
    }
    if (command.empty()) command = command_line(target->pid());
    auto n = t.poll(100, sink);
    if (!n) return fail(n.error().message);
  }
  (void)t.drain(sink);
  const int64_t end_ns = monotonic_ns();

  model::StatResult r = t.counter_totals();
  r.command = command.empty() ? target->exe_path() : command;
  r.go_version = t.binary().build_info().go_version;
  r.duration_ns = end_ns - start_ns;
  const auto c = t.counters();
  r.samples = c.samples;
  r.lost_samples = c.lost_samples + c.lost_slices;
  if (c.counter_faults)
    r.notes.push_back(std::to_string(c.counter_faults) + " counter reads failed in BPF: goroutine totals may be low");
  if (c.lost_samples)
    r.notes.push_back(std::to_string(c.lost_samples) + " CPU samples lost (ring buffer full)");

  std::optional<model::ProcessSnapshot> end;
  uint64_t bias = t.load_bias();
  if (target->alive()) {
    if (auto image = sym::ProcessImage::open(target->pid())) {
      bias = image->load_bias();
      loader::ProcessMemory memory(target->pid());
      if (auto snap = loader::read_snapshot(t.binary(), *image, memory)) end = std::move(*snap);
    }
  } else if (target->launched()) {
    r.notes.push_back("the program " + target->describe_exit());
  }
  describe_goroutines(r, symbols, profile ? &*profile : nullptr, end, bias);

  if (flags.json) {
    std::fputs(output::stat_json(r).c_str(), stdout);
  } else {
    output::StatTextOptions o;
    o.top = flags.top;
    o.per_thread = !flags.no_threads;
    std::fputs(output::stat_text(r, o).c_str(), stdout);
  }
  std::fflush(stdout);

  if (profile && format) {
    auto ok = *format == ProfileFormat::kPprof ? profile->write_pprof(flags.output, end_ns)
                                               : profile->write_folded(flags.output);
    if (!ok) return fail("cannot write " + flags.output + ": " + ok.error().message);
    std::fprintf(stderr, "goscope: CPU profile (%" PRIu64 " samples) written to %s\n", profile->samples(),
                 flags.output.c_str());
  }
  (void)end_reason;
  return kExitOk;
}

}  // namespace

void register_stat_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<StatFlags>();
  CLI::App* sub = app.add_subcommand(
      "stat", "Hardware and software counters per process, thread and goroutine, like perf stat");
  flags->target.add_to(*sub);
  sub->add_option("-d,--duration", flags->duration, "count for this long (default: until Ctrl-C or the program ends)");
  sub->add_option("-e,--event", flags->events,
                  "counters, comma-separated, perf's names (default: task-clock, context-switches, "
                  "cpu-migrations, page-faults, cycles, instructions, cache-references, cache-misses, "
                  "branches, branch-misses, stalled-cycles-frontend, stalled-cycles-backend)");
  sub->add_flag("--json", flags->json, "one JSON document on stdout instead of the tables");
  sub->add_option("-o,--output", flags->output,
                  "also write the CPU profile: FILE.pb.gz (pprof, labelled by goid) or FILE.folded");
  sub->add_option("--top", flags->top, "goroutines to list (default 10)");
  sub->add_flag("--no-goroutines", flags->no_goroutines,
                "count per process and thread only: no uprobes in the program at all");
  sub->add_flag("--no-threads", flags->no_threads, "leave the per-thread table out of the text");
  sub->add_option("-F,--frequency", flags->frequency, "CPU samples per second and CPU (default 99; 0: none)");
  sub->footer(
      "Examples:\n"
      "  sudo goscope stat -p 1234 -d 10s\n"
      "  sudo goscope stat -e task-clock,cycles,instructions -- ./server --port 8080\n"
      "  sudo goscope stat -p 1234 -d 30s -o cpu.pb.gz && go tool pprof -top cpu.pb.gz\n"
      "Goroutines are counted from the moment runtime.execute puts them on a thread until\n"
      "runtime.schedule runs again (two uprobes per goroutine switch; --no-goroutines avoids\n"
      "them). Without a hardware PMU (most virtual machines) hardware counters read <not supported>.");
  sub->callback([flags, &exit_code] { exit_code = run_stat(*flags); });
}

}  // namespace goscope::cli

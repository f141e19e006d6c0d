// `goscope probe`: a plain entry uprobe on named Go functions, printing every
// hit with its thread and goroutine id. The lowest-level view goscope has,
// like `perf probe` or a bpftrace one-liner, and the check that the BPF side
// works on this kernel and this binary.

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/clock.h"
#include "state/code_info.h"
#include "goscope.h"
#include "loader/bpf_session.h"
#include "loader/function_probes.h"
#include "loader/privileges.h"
#include "loader/target.h"
#include "output/probe_hits.h"
#include "symbolizer/symbolizer.h"

namespace goscope::cli {

namespace {

struct ProbeOptions {
  TargetOptions target;
  std::vector<std::string> functions;
  std::string duration;
  uint64_t max_hits = 0;
  bool json = false;
};

int run_probe(const ProbeOptions& o) {
  if (auto ok = o.target.validate(); !ok) return fail(ok.error());
  std::optional<std::chrono::nanoseconds> duration;
  if (!o.duration.empty()) {
    auto d = parse_duration(o.duration);
    if (!d) return fail(d.error());
    duration = *d;
  }
  if (auto ok = loader::check_privileges({loader::Need::kBpf}); !ok) return fail(ok.error());

  auto target =
      o.target.pid ? loader::Target::attach(o.target.pid) : loader::Target::launch(o.target.command);
  if (!target) return fail(target.error());

  auto bin = sym::GoBinary::open(target->exe_path());
  if (!bin) return fail(bin.error());
  auto plan = loader::plan_function_probes(**bin, o.functions);
  if (!plan) return fail(plan.error());
  if (!plan->absent.empty()) {
    std::string absent;
    for (const auto& name : plan->absent) absent += (absent.empty() ? "" : ", ") + name;
    std::fprintf(stderr, "goscope: not in this binary (the program never uses them): %s\n", absent.c_str());
  }
  if (plan->probes.empty())
    return fail(make_error("none of the requested functions is in " + (*bin)->elf().path()));

  loader::SessionOptions sopts;
  sopts.offsets = plan->offsets;
  auto session = loader::BpfSession::load(sopts);
  if (!session) return fail(session.error());
  for (size_t i = 0; i < plan->probes.size(); i++) {
    const auto& p = plan->probes[i];
    if (auto ok = (*session)->attach_probe_hit(target->exe_path(), p.file_offset, target->pid(), i); !ok)
      return fail(ok.error());
  }

  install_stop_handlers();
  const int64_t start_ns = monotonic_ns();
  uint64_t hits = 0;
  uint64_t malformed = 0;
  const output::ProbeHitPrinter printer(state::binary_code_info(**bin), start_ns, o.json);
  // Standard output cannot be written (its reader went away, the disk is full): stop and
  // detach at once rather than keep the target instrumented for nobody.
  std::string output_error;
  auto on_record = [&](std::span<const uint8_t> rec) {
    if ((o.max_hits && hits >= o.max_hits) || !output_error.empty()) return;
    const auto hit = loader::decode_probe_hit(rec, *plan);
    if (!hit) {
      malformed++;
      return;
    }
    hits++;
    printer.print(stdout, *hit);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      if (errno == EINTR)  // Ctrl-C / SIGTERM while a write waited on a full pipe: stopping anyway
        std::clearerr(stdout);
      else
        output_error = std::string("cannot write the hits to standard output: ") + std::strerror(errno ? errno : EIO);
    }
  };
  if (auto ok = (*session)->open_ring(on_record); !ok) return fail(ok.error());

  std::fprintf(stderr, "goscope: %zu probe(s) on PID %d (%s); Ctrl-C to stop\n", (*session)->attached(),
               target->pid(), target->exe_path().c_str());
  if (target->launched()) {
    if (auto ok = target->release(); !ok) return fail(ok.error());
  }

  std::string end_reason;
  while (true) {
    if (!output_error.empty()) {
      end_reason = output_error;
      break;
    }
    if (o.max_hits && hits >= o.max_hits) {
      end_reason = "hit count reached";
      break;
    }
    if (auto why = stop_reason(*target, start_ns, duration)) {
      end_reason = *why;
      break;
    }
    auto n = (*session)->poll(100);
    if (!n) return fail(n.error());
  }
  (void)(*session)->drain();

  const auto c = (*session)->counters();
  std::fprintf(stderr,
               "goscope: stopped (%s): %" PRIu64 " hits, %" PRIu64 " lost (ring buffer full), %" PRIu64
               " without goroutine id\n",
               end_reason.c_str(), hits, c[GS_CNT_DROP_RINGBUF], c[GS_CNT_GOID_FAULT]);
  if (malformed) std::fprintf(stderr, "goscope: %" PRIu64 " malformed records ignored\n", malformed);
  if (!output_error.empty()) {
    std::fprintf(stderr, "goscope: %s: the probes were detached\n", output_error.c_str());
    return kExitCouldNotRun;
  }
  return kExitOk;
}

}  // namespace

void register_probe_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* sub =
      app.add_subcommand("probe", "Print every call of Go functions, with thread and goroutine id");
  sub->footer(
      "Examples:\n"
      "  sudo goscope probe -p 1234 -f runtime.gopark\n"
      "  sudo goscope probe -f runtime.chansend1 -f runtime.chanrecv1 --json -- ./myprog\n"
      "  sudo goscope probe -p 1234 -f 'sync.(*Mutex).lockSlow' -d 10s\n\n"
      "A plain uprobe (never a uretprobe) right after each function's stack-check prologue,\n"
      "so it fires once per call even when the goroutine's stack grows. Works on stripped\n"
      "and PIE binaries (names from .gopclntab, offsets from DWARF or goscope's table).\n"
      "A program launched with -- is held before exec until the probes are live, runs as\n"
      "the invoking user under sudo, and is terminated if still running when goscope stops.");
  opts->target.add_to(*sub);
  sub->add_option("-f,--func", opts->functions, "Go function to probe (repeatable), e.g. runtime.gopark")
      ->required()
      ->allow_extra_args(false);  // one name per -f: `-f A -f B`
  sub->add_option("-d,--duration", opts->duration, "stop after this long (e.g. 10s, 2m)");
  sub->add_option("-n,--count", opts->max_hits, "stop after this many hits");
  sub->add_flag("--json", opts->json, "one JSON object per hit");
  sub->callback([opts, &exit_code] { exit_code = run_probe(*opts); });
}

}  // namespace goscope::cli

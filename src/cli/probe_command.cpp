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
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/clock.h"
#include "common/hex.h"
#include "goscope.h"
#include "loader/bpf_session.h"
#include "loader/privileges.h"
#include "loader/target.h"
#include "symbolizer/probe_sites.h"
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

struct PlannedProbe {
  std::string function;
  uint64_t vaddr = 0;        // ELF virtual address of the probed instruction
  uint64_t file_offset = 0;  // what the uprobe is attached by
};

std::string hex(uint64_t v) {
  return hex_text(v);
}

Expected<gs_go_offsets> go_offsets_for(const sym::GoBinary& bin) {
  const auto& resolved = bin.offsets();
  if (!resolved.offsets.g_goid)
    return make_error(bin.elf().path() +
                      ": cannot find the offset of runtime.g.goid (no DWARF, and no table for " +
                      bin.build_info().go_version + ")");
  gs_go_offsets o{};
  o.g_goid = *resolved.offsets.g_goid;
  return o;
}

// Each function's probe goes on the instruction after its stack-check prologue:
// runtime.morestack jumps back to the entry, so a probe there would fire twice
// when the stack grows; after the check it fires once per call.
Expected<std::vector<PlannedProbe>> plan_probes(const sym::GoBinary& bin,
                                                const std::vector<std::string>& names) {
  std::vector<PlannedProbe> plan;
  std::string absent;
  for (const auto& name : names) {
    auto sites = sym::function_probe_sites(bin, name);
    if (!sites) {
      if (!bin.function_address(name)) {
        absent += (absent.empty() ? "" : ", ") + name;
        continue;
      }
      return make_error("cannot place a probe in " + name + ": " + sites.error().message);
    }
    GS_TRY(uint64_t off, bin.elf().vaddr_to_file_offset(sites->after_prologue));
    plan.push_back({name, sites->after_prologue, off});
  }
  if (!absent.empty()) {
    std::fprintf(stderr, "goscope: not in this binary (the program never uses them): %s\n", absent.c_str());
  }
  if (plan.empty()) return make_error("none of the requested functions is in " + bin.elf().path());
  return plan;
}

// Symbolizes callers (return addresses), once per address. The load bias of
// a PIE target comes from the event itself: the probe's runtime address minus
// the ELF address it was planned at. No /proc reads, so it also works for
// events read after a short-lived target has exited.
class CallerNames {
 public:
  explicit CallerNames(const sym::GoBinary& bin) : bin_(bin) {}

  // "main.worker (/src/app/main.go:42)", plus the calls inlined there, or "" when unknown.
  const std::string& describe(uint64_t return_address, uint64_t probe_ip, uint64_t probe_vaddr) {
    auto [it, inserted] = cache_.try_emplace(return_address);
    if (!inserted) return it->second;
    const uint64_t bias = probe_ip - probe_vaddr;
    // The call instruction ends at the return address: its line is that of address - 1.
    const uint64_t call_site = return_address - bias - 1;
    auto result = bin_.symbolize_vaddrs(std::span<const uint64_t>(&call_site, 1));
    if (!result.empty() && !result[0].frames.empty()) {
      // Frames are innermost first; the last is the function the code lives in.
      const auto& frames = result[0].frames;
      const sym::Frame& outer = frames.back();
      std::string text = std::string(outer.function) + " (" + std::string(outer.file) + ":" +
                         std::to_string(outer.line) + ")";
      if (frames.size() > 1) {
        text += " via inlined";
        for (size_t i = frames.size() - 1; i-- > 0;) text += " " + std::string(frames[i].function);
      }
      it->second = std::move(text);
    }
    return it->second;
  }

 private:
  const sym::GoBinary& bin_;
  std::unordered_map<uint64_t, std::string> cache_;
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
  auto offsets = go_offsets_for(**bin);
  if (!offsets) return fail(offsets.error());
  auto plan = plan_probes(**bin, o.functions);
  if (!plan) return fail(plan.error());

  loader::SessionOptions sopts;
  sopts.offsets = *offsets;
  auto session = loader::BpfSession::load(sopts);
  if (!session) return fail(session.error());
  for (size_t i = 0; i < plan->size(); i++) {
    const auto& p = (*plan)[i];
    if (auto ok = (*session)->attach_probe_hit(target->exe_path(), p.file_offset, target->pid(), i); !ok)
      return fail(ok.error());
  }

  install_stop_handlers();
  const int64_t start_ns = monotonic_ns();
  uint64_t hits = 0;
  uint64_t malformed = 0;
  auto& probes = *plan;
  CallerNames callers(**bin);
  // Standard output cannot be written (its reader went away, the disk is full): stop and
  // detach at once rather than keep the target instrumented for nobody.
  std::string output_error;
  auto on_record = [&](std::span<const uint8_t> rec) {
    if ((o.max_hits && hits >= o.max_hits) || !output_error.empty()) return;
    gs_probe_hit ev;
    if (rec.size() < sizeof ev) {
      malformed++;
      return;
    }
    std::memcpy(&ev, rec.data(), sizeof ev);
    if (ev.hdr.type != GS_EV_PROBE_HIT || ev.cookie >= probes.size()) {
      malformed++;
      return;
    }
    hits++;
    const double t = (static_cast<double>(ev.hdr.ktime_ns) - static_cast<double>(start_ns)) / 1e9;
    const std::string& fn = probes[ev.cookie].function;
    if (o.json) {
      nlohmann::json j = {{"t", t},
                          {"tid", ev.hdr.tid},
                          {"goid", ev.hdr.goid},
                          {"func", fn},
                          {"ip", hex(ev.ip)},
                          {"caller", hex(ev.ret_addr)},
                          {"caller_func", callers.describe(ev.ret_addr, ev.ip, probes[ev.cookie].vaddr)},
                          {"args", {hex(ev.regs[0]), hex(ev.regs[1]), hex(ev.regs[2]), hex(ev.regs[3])}}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      const std::string& caller = callers.describe(ev.ret_addr, ev.ip, probes[ev.cookie].vaddr);
      std::printf("%12.6f  tid %-7u goid %-6" PRIu64 " %s  args %s %s %s\n              from %s\n", t,
                  ev.hdr.tid, static_cast<uint64_t>(ev.hdr.goid), fn.c_str(), hex(ev.regs[0]).c_str(),
                  hex(ev.regs[1]).c_str(), hex(ev.regs[2]).c_str(),
                  caller.empty() ? hex(ev.ret_addr).c_str() : caller.c_str());
    }
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

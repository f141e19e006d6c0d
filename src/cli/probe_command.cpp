// `goscope probe`: a plain entry uprobe on named Go functions, printing every
// hit with its thread and goroutine id. The lowest-level view goscope has,
// like `perf probe` or a bpftrace one-liner, and the check that the BPF side
// works on this kernel and this binary.
#include <time.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "goscope.h"
#include "loader/bpf_session.h"
#include "loader/privileges.h"
#include "loader/target.h"
#include "symbolizer/dwarf_types.h"
#include "symbolizer/elf_file.h"

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
  uint64_t file_offset = 0;
};

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

Expected<gs_go_offsets> go_offsets_for(const sym::ElfFile& elf) {
  auto types = sym::DwarfTypes::open(elf);
  if (!types)
    return make_error(types.error().message +
                      "; goscope probe needs DWARF to find runtime.g.goid in this build");
  auto goid = types->member_offset("runtime.g", "goid");
  if (!goid) return make_error(elf.path() + ": DWARF has no runtime.g.goid");
  gs_go_offsets o{};
  o.g_goid = static_cast<uint32_t>(*goid);
  return o;
}

Expected<std::vector<PlannedProbe>> plan_probes(const sym::ElfFile& elf, const std::vector<std::string>& names) {
  std::vector<PlannedProbe> plan;
  std::string absent;
  for (const auto& name : names) {
    auto s = elf.find_function(name);
    if (!s) {
      absent += (absent.empty() ? "" : ", ") + name;
      continue;
    }
    GS_TRY(uint64_t off, elf.vaddr_to_file_offset(s->vaddr));
    plan.push_back({name, off});
  }
  if (!absent.empty()) {
    std::fprintf(stderr, "goscope: not in this binary (the program never uses them, or no symbol table): %s\n",
                 absent.c_str());
  }
  if (plan.empty()) return make_error("none of the requested functions is in " + elf.path());
  return plan;
}

int run_probe(const ProbeOptions& o) {
  if (auto ok = o.target.validate(); !ok) return fail(ok.error());
  std::optional<std::chrono::nanoseconds> duration;
  if (!o.duration.empty()) {
    auto d = parse_duration(o.duration);
    if (!d) return fail(d.error());
    duration = *d;
  }
  if (auto ok = loader::check_privileges({loader::Need::kBpf}); !ok) return fail(ok.error());

  auto target = o.target.pid ? loader::Target::attach(o.target.pid) : loader::Target::launch(o.target.command);
  if (!target) return fail(target.error());

  auto elf = sym::ElfFile::open(target->exe_path());
  if (!elf) return fail(elf.error());
  if (!elf->has_section(".go.buildinfo") && !elf->has_section(".gopclntab"))
    return fail(make_error(target->exe_path() + " is not a Go program (no .go.buildinfo or .gopclntab section)"));
  auto offsets = go_offsets_for(*elf);
  if (!offsets) return fail(offsets.error());
  auto plan = plan_probes(*elf, o.functions);
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
  const uint64_t start_ns = monotonic_ns();
  uint64_t hits = 0;
  uint64_t malformed = 0;
  auto& probes = *plan;
  auto on_record = [&](std::span<const uint8_t> rec) {
    if (o.max_hits && hits >= o.max_hits) return;
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
                          {"args", {hex(ev.regs[0]), hex(ev.regs[1]), hex(ev.regs[2]), hex(ev.regs[3])}}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%12.6f  tid %-7u goid %-6" PRIu64 " %s  caller %s  args %s %s %s\n", t, ev.hdr.tid,
                  static_cast<uint64_t>(ev.hdr.goid), fn.c_str(), hex(ev.ret_addr).c_str(), hex(ev.regs[0]).c_str(),
                  hex(ev.regs[1]).c_str(), hex(ev.regs[2]).c_str());
    }
    std::fflush(stdout);
  };
  if (auto ok = (*session)->open_ring(on_record); !ok) return fail(ok.error());

  std::fprintf(stderr, "goscope: %zu probe(s) on PID %d (%s); Ctrl-C to stop\n", (*session)->attached(),
               target->pid(), target->exe_path().c_str());
  if (target->launched()) {
    if (auto ok = target->release(); !ok) return fail(ok.error());
  }

  std::string end_reason = "interrupted";
  while (true) {
    if (g_stop_requested.load()) break;
    if (o.max_hits && hits >= o.max_hits) {
      end_reason = "hit count reached";
      break;
    }
    if (duration && monotonic_ns() - start_ns >= static_cast<uint64_t>(duration->count())) {
      end_reason = "duration elapsed";
      break;
    }
    if (!target->alive()) {
      end_reason = target->launched() ? "target " + target->describe_exit() : "target exited";
      break;
    }
    auto n = (*session)->poll(100);
    if (!n) return fail(n.error());
  }
  (void)(*session)->drain();

  const auto c = (*session)->counters();
  std::fprintf(stderr, "goscope: stopped (%s): %" PRIu64 " hits, %" PRIu64 " lost (ring buffer full), %" PRIu64
               " without goroutine id\n",
               end_reason.c_str(), hits, c[GS_CNT_DROP_RINGBUF], c[GS_CNT_GOID_FAULT]);
  if (malformed) std::fprintf(stderr, "goscope: %" PRIu64 " malformed records ignored\n", malformed);
  return kExitOk;
}

}  // namespace

void register_probe_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* sub = app.add_subcommand("probe", "Print every call of Go functions, with thread and goroutine id");
  sub->footer(
      "Examples:\n"
      "  sudo goscope probe -p 1234 -f runtime.gopark\n"
      "  sudo goscope probe -f runtime.chansend1 -f runtime.chanrecv1 --json -- ./myprog\n"
      "  sudo goscope probe -p 1234 -f 'sync.(*Mutex).lockSlow' -d 10s\n\n"
      "A plain uprobe at each function's entry (never a uretprobe). An entry probe on a\n"
      "function whose stack grows fires again after the growth; `trace` accounts for that.\n"
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

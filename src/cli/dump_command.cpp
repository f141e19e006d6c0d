// `goscope dump -p PID`: a goroutine dump of a running Go process from outside,
// read from its memory (loader/snapshot_reader.h) without stopping it, printed
// in the shape of the Go runtime's own traceback, or as JSON.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "cli/findings_flags.h"
#include "loader/live_process.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/hex.h"
#include "state/state_model.h"
#include "state/stack_symbolizer.h"
#include "loader/privileges.h"
#include "loader/snapshot_reader.h"
#include "model/snapshot.h"
#include "output/findings_report.h"
#include "output/profiles.h"
#include "symbolizer/symbolizer.h"
#include "symbolizer/sync_objects.h"

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

// Above this many goroutines, `auto` groups identical stacks.
constexpr size_t kGroupAbove = 100;

std::string hex(uint64_t v) {
  return hex_text(v);
}

// One printed frame of a goroutine.
struct ShownFrame {
  std::string function;
  std::string file;
  int line = 0;
  bool inlined = false;
  uint64_t pc = 0;                    // process address as read (a return address except for the first)
  std::optional<uint64_t> entry_off;  // pc - function entry, for physical frames
  bool known = false;
};

// Symbolizes the PCs of a snapshot, once per distinct address.
class Frames {
 public:
  Frames(const sym::GoBinary& b, const sym::ProcessImage& p) : bin_(b), proc_(p) {}
  const sym::GoBinary& binary() const { return bin_; }

  // Frames for one PC, innermost first. Return addresses are looked up one byte
  // back (in the call instruction), as the runtime's traceback does, except at a
  // function's entry (a goroutine that has not started).
  const std::vector<ShownFrame>& at(uint64_t pc) {
    auto it = cache_.find(pc);
    if (it != cache_.end()) return it->second;
    std::vector<ShownFrame> out;
    const auto vaddr = proc_.to_vaddr(pc);
    std::optional<size_t> fn;
    if (vaddr) fn = bin_.pclntab().function_at(*vaddr);
    if (vaddr && fn) {
      const uint64_t entry = bin_.pclntab().function_entry(*fn);
      const uint64_t lookup = *vaddr > entry ? *vaddr - 1 : *vaddr;
      const auto sym = bin_.symbolize_vaddrs(std::span<const uint64_t>(&lookup, 1));
      for (const auto& f : sym[0].frames) {
        ShownFrame s{std::string(f.function), std::string(f.file), f.line, f.inlined, pc, std::nullopt, true};
        if (!f.inlined) s.entry_off = *vaddr - entry;
        out.push_back(std::move(s));
      }
    }
    if (out.empty()) {
      ShownFrame s;
      s.function = "?";
      s.pc = pc;
      out.push_back(s);
    }
    return cache_.emplace(pc, std::move(out)).first->second;
  }
  // The physical function containing `pc` (its entry's name), "" when unknown.
  std::string physical_function(uint64_t pc) {
    const auto& f = at(pc);
    return f.back().known ? f.back().function : "";
  }

 private:
  const sym::GoBinary& bin_;
  const sym::ProcessImage& proc_;
  std::unordered_map<uint64_t, std::vector<ShownFrame>> cache_;
};

bool is_runtime_hidden(const std::string& fn) {
  // The runtime's showframe at GOTRACEBACK=all: runtime.* frames are elided
  // unless exported (runtime.Gosched); names without a dot too.
  if (fn.find('.') == std::string::npos) return true;
  if (fn.rfind("runtime.", 0) != 0) return false;
  const char c = fn.size() > 8 ? fn[8] : 0;
  return !(c >= 'A' && c <= 'Z');
}

// The runtime's isSystemGoroutine: started in a runtime.* function other than
// runtime.main (the finalizer goroutine counts as system unless it is running a finalizer,
// which cannot be told from outside: it is counted as system).
bool is_system(Frames& frames, const model::GoroutineSnapshot& g) {
  if (g.start_pc == 0) return false;
  const std::string fn = frames.physical_function(g.start_pc);
  if (fn.empty() || fn == "runtime.main" || fn == "runtime.handleAsyncEvent" || fn == "runtime.corostart")
    return false;
  return fn.rfind("runtime.", 0) == 0;
}

std::vector<ShownFrame> stack_frames(Frames& frames, const model::GoroutineSnapshot& g, bool runtime_frames) {
  std::vector<ShownFrame> all;
  for (uint64_t pc : g.stack)
    for (const auto& f : frames.at(pc)) all.push_back(f);
  if (runtime_frames) return all;
  std::vector<ShownFrame> shown;
  for (const auto& f : all)
    if (!f.known || !is_runtime_hidden(f.function)) shown.push_back(f);
  return shown.empty() ? all : shown;  // like the runtime: all frames when none would show
}

std::string status_text(const model::GoroutineSnapshot& g) {
  if (g.status == static_cast<uint32_t>(model::GStatus::kWaiting) && g.wait_reason != 0) {
    if (!g.wait_reason_name.empty()) return g.wait_reason_name;
    return "wait reason " + std::to_string(g.wait_reason) + " (name unknown)";
  }
  return model::status_name(g.status);
}

// The Mutex / RWMutex / WaitGroup a semaphore wait is on, told by the sync
// function on the goroutine's stack.
std::optional<sym::SyncObject> semaphore_owner(Frames& frames, const model::GoroutineSnapshot& g,
                                               uint64_t sema) {
  std::vector<std::string> names;
  for (uint64_t pc : g.stack)
    for (const auto& f : frames.at(pc))
      if (f.known) names.push_back(f.function);
  std::vector<std::string_view> views(names.begin(), names.end());
  return sym::sync_object_of_semaphore(sema, views, frames.binary().offsets().offsets);
}

std::string describe_wait(Frames& frames, const model::GoroutineSnapshot& g, const model::WaitedObject& w) {
  if (w.kind == model::WaitedObject::Kind::kChannel) return "channel " + hex(w.address);
  if (auto owner = semaphore_owner(frames, g, w.address))
    return owner->type + " " + hex(owner->address) + (owner->role.empty() ? "" : " (" + owner->role + ")") +
           ", semaphore " + hex(w.address);
  return "semaphore " + hex(w.address);
}

std::optional<int64_t> waited_minutes(const model::ProcessSnapshot& s, const model::GoroutineSnapshot& g) {
  const bool blocked = g.status == static_cast<uint32_t>(model::GStatus::kWaiting) ||
                       g.status == static_cast<uint32_t>(model::GStatus::kSyscall);
  if (!blocked || !g.wait_since_ns) return std::nullopt;
  return (s.taken_at_ns - *g.wait_since_ns) / 60'000'000'000LL;
}

std::string header_text(const model::ProcessSnapshot& s, const model::GoroutineSnapshot& g) {
  std::string h = status_text(g);
  if (g.scan_bit) h += " (scan)";
  if (auto m = waited_minutes(s, g); m && *m >= 1) h += ", " + std::to_string(*m) + " minutes";
  return h;
}

// Frames, creation site and waited-on objects of one goroutine, or of a group of
// goroutines with the same stack (`group` holds them all, the first printed).
void print_body(std::span<const model::GoroutineSnapshot* const> group, Frames& frames,
                const DumpOptions& o) {
  const model::GoroutineSnapshot& g = *group.front();
  if (g.stack_state == model::StackState::kRunning) {
    std::printf("\tgoroutine running on other thread; stack unavailable\n");
  } else {
    for (const auto& f : stack_frames(frames, g, o.runtime_frames || o.system)) {
      std::printf("%s(...)\n", f.function.c_str());
      if (!f.known) {
        std::printf("\t?:? pc=%s (not in the executable's text)\n", hex(f.pc).c_str());
        continue;
      }
      std::printf("\t%s:%d", f.file.c_str(), f.line);
      if (f.entry_off && *f.entry_off) std::printf(" +%s", hex(*f.entry_off).c_str());
      std::printf("\n");
    }
    switch (g.stack_state) {
      case model::StackState::kTruncated:
        std::printf("...additional frames elided...\n");
        break;
      case model::StackState::kTorn:
        std::printf("\t(stack changed while being read: frames end here)\n");
        break;
      case model::StackState::kUnreadable:
        std::printf("\t(stack memory could not be read)\n");
        break;
      default:
        break;
    }
  }
  if (g.go_pc && g.goid != 1) {
    const auto& cf = frames.at(g.go_pc);
    const bool show = o.system || !cf.front().known || !is_runtime_hidden(cf.front().function);
    if (show) {
      std::printf("created by %s", cf.back().known ? cf.back().function.c_str() : hex(g.go_pc).c_str());
      if (group.size() == 1 && g.parent_goid && *g.parent_goid)
        std::printf(" in goroutine %" PRIu64, *g.parent_goid);
      std::printf("\n");
      if (cf.front().known) {
        std::printf("\t%s:%d", cf.front().file.c_str(), cf.front().line);
        if (cf.back().entry_off && *cf.back().entry_off)
          std::printf(" +%s", hex(*cf.back().entry_off).c_str());
        std::printf("\n");
      }
    }
  }
  std::map<std::pair<int, uint64_t>, std::pair<size_t, bool>>
      waited;  // (kind, address) -> (goroutines, select)
  size_t inconsistent = 0;
  for (const auto* m : group) {
    for (const auto& w : m->waiting_on) {
      auto& e = waited[{static_cast<int>(w.kind), w.address}];
      e.first++;
      e.second = e.second || w.in_select;
    }
    inconsistent += m->inconsistent ? 1 : 0;
  }
  size_t shown = 0;
  for (const auto& [key, e] : waited) {
    if (shown++ == 8) {
      std::printf("\twaits on %zu more objects\n", waited.size() - 8);
      break;
    }
    const model::WaitedObject w{static_cast<model::WaitedObject::Kind>(key.first), key.second, e.second};
    std::printf("\twaits on %s%s", describe_wait(frames, g, w).c_str(), e.second ? " (select case)" : "");
    if (group.size() > 1) std::printf(" (%zu of them)", e.first);
    std::printf("\n");
  }
  if (group.size() == 1 && g.inconsistent)
    std::printf("\t(changed while being read: %s)\n", g.inconsistency.c_str());
  if (group.size() > 1 && inconsistent)
    std::printf("\t(%zu of them changed while being read: see --json)\n", inconsistent);
}

void print_text(const model::ProcessSnapshot& s, const sym::GoBinary& bin, const sym::ProcessImage& proc,
                Frames& frames, const DumpOptions& o) {
  std::vector<const model::GoroutineSnapshot*> shown;
  for (const auto& g : s.goroutines)
    if (o.system || !is_system(frames, g)) shown.push_back(&g);
  const size_t hidden = s.goroutines.size() - shown.size();
  std::printf("goscope dump of PID %d (%s, %s): %zu goroutines", static_cast<int>(s.pid),
              proc.exe_name().c_str(), bin.build_info().go_version.c_str(), s.goroutines.size());
  if (hidden) std::printf(", %zu runtime-internal ones not shown (--system shows them)", hidden);
  if (s.unreadable_gs)
    std::printf(", %" PRIu64 " could not be read (the process changed or is exiting)", s.unreadable_gs);
  std::printf("\n");

  const bool group = o.group == "always" || (o.group == "auto" && shown.size() > kGroupAbove);
  if (!group) {
    for (const auto* g : shown) {
      std::printf("\ngoroutine %" PRIu64 " [%s]:\n", g->goid, header_text(s, *g).c_str());
      print_body({&g, 1}, frames, o);
    }
    return;
  }
  // Like pprof's goroutine?debug=1: one entry per distinct (state, stack, creation site), biggest first.
  std::map<std::tuple<std::string, std::vector<uint64_t>, uint64_t, int>,
           std::vector<const model::GoroutineSnapshot*>>
      groups;
  for (const auto* g : shown)
    groups[{header_text(s, *g), g->stack, g->go_pc, static_cast<int>(g->stack_state)}].push_back(g);
  std::vector<const std::vector<const model::GoroutineSnapshot*>*> order;
  for (const auto& [key, members] : groups) order.push_back(&members);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->size() != b->size() ? a->size() > b->size() : a->front()->goid < b->front()->goid;
  });
  std::printf("grouped by identical stack: %zu groups (--group=never lists every goroutine)\n", order.size());
  for (const auto* members : order) {
    const auto& g = *members->front();
    if (members->size() == 1) {
      std::printf("\ngoroutine %" PRIu64 " [%s]:\n", g.goid, header_text(s, g).c_str());
    } else {
      std::printf("\n%zu goroutines [%s]:", members->size(), header_text(s, g).c_str());
      for (size_t i = 0; i < members->size() && i < 10; i++) std::printf(" %" PRIu64, (*members)[i]->goid);
      std::printf("%s\n", members->size() > 10 ? " ..." : "");
    }
    print_body(*members, frames, o);
  }
}

nlohmann::json frame_json(const ShownFrame& f) {
  nlohmann::json j{{"function", f.known ? nlohmann::json(f.function) : nlohmann::json(nullptr)},
                   {"file", f.known ? nlohmann::json(f.file) : nlohmann::json(nullptr)},
                   {"line", f.known ? nlohmann::json(f.line) : nlohmann::json(nullptr)},
                   {"inlined", f.inlined},
                   {"pc", hex(f.pc)}};
  return j;
}

void print_json(const model::ProcessSnapshot& s, const sym::GoBinary& bin, const sym::ProcessImage& proc,
                Frames& frames, double elapsed_ms, const nlohmann::json* findings) {
  nlohmann::json j;
  j["pid"] = s.pid;
  j["exe"] = proc.exe_name();
  j["go_version"] = bin.build_info().go_version;
  j["allglen"] = s.allglen;
  j["dead_skipped"] = s.dead_skipped;
  j["unreadable"] = s.unreadable_gs;
  j["read_ms"] = elapsed_ms;
  // Streamed, one goroutine per line: a dump of 100,000 goroutines never sits in memory as one tree.
  std::string head = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  head.pop_back();  // the closing brace: "goroutines" follows
  std::printf("%s,\"goroutines\":[", head.c_str());
  bool first = true;
  for (const auto& g : s.goroutines) {
    nlohmann::json x;
    x["goid"] = g.goid;
    x["g"] = hex(g.g_address);
    x["status"] = model::status_name(g.status);
    x["status_code"] = g.status;
    x["scan"] = g.scan_bit;
    x["wait_reason"] =
        g.status == static_cast<uint32_t>(model::GStatus::kWaiting) && g.wait_reason != 0
            ? nlohmann::json(g.wait_reason_name.empty() ? nullptr : nlohmann::json(g.wait_reason_name))
            : nlohmann::json(nullptr);
    x["wait_reason_code"] = g.wait_reason;
    x["header"] = status_text(g);
    if (g.wait_since_ns)
      x["waiting_for_s"] = static_cast<double>(s.taken_at_ns - *g.wait_since_ns) / 1e9;
    else
      x["waiting_for_s"] = nullptr;  // unknown: the runtime records it only during a GC
    nlohmann::json w = nlohmann::json::array();
    for (const auto& o : g.waiting_on) {
      nlohmann::json owner = nullptr;
      if (o.kind == model::WaitedObject::Kind::kSemaphore) {
        if (auto so = semaphore_owner(frames, g, o.address))
          owner = {{"type", so->type}, {"address", hex(so->address)}, {"role", so->role}};
      }
      w.push_back({{"kind", o.kind == model::WaitedObject::Kind::kChannel ? "channel" : "semaphore"},
                   {"address", hex(o.address)},
                   {"select", o.in_select},
                   {"object", owner}});
    }
    x["waiting_on"] = w;
    x["system"] = is_system(frames, g);
    x["start_function"] = g.start_pc ? nlohmann::json(frames.physical_function(g.start_pc)) : nullptr;
    if (g.go_pc && g.goid != 1) {
      const auto& cf = frames.at(g.go_pc);
      x["created_by"] = {{"function", cf.back().known ? nlohmann::json(cf.back().function) : nullptr},
                         {"file", cf.front().known ? nlohmann::json(cf.front().file) : nullptr},
                         {"line", cf.front().known ? nlohmann::json(cf.front().line) : nullptr},
                         {"pc", hex(g.go_pc)}};
    } else {
      x["created_by"] = nullptr;
    }
    x["parent_goid"] = g.parent_goid ? nlohmann::json(*g.parent_goid) : nullptr;
    x["stack_state"] = model::stack_state_name(g.stack_state);
    x["in_syscall"] = g.from_syscall;
    nlohmann::json fr = nlohmann::json::array();
    for (const auto& f : stack_frames(frames, g, true)) fr.push_back(frame_json(f));
    x["frames"] = fr;
    x["inconsistent"] = g.inconsistent;
    if (g.inconsistent) x["inconsistency"] = g.inconsistency;
    std::printf("%s\n%s", first ? "" : ",",
                x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    first = false;
  }
  std::printf("\n]");
  if (findings)
    std::printf(",\"analysis\":%s",
                findings->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::printf("}\n");
}

// The goroutine profile `go tool pprof` reads (as from /debug/pprof/goroutine),
// written by output/profiles.h like the one at the end of a trace: one sample per
// goroutine, labelled with its id and state, every location symbolized (inlined
// frames kept) so pprof never needs the binary.
Expected<void> write_goroutine_profile(const std::string& path, const model::ProcessSnapshot& s,
                                       const sym::GoBinary& bin, const sym::ProcessImage& proc,
                                       Frames& frames, bool include_system) {
  model::StackTable stacks;  // of vaddrs, as the symbolizer reads them
  auto vaddr = [&](uint64_t pc) { return proc.to_vaddr(pc).value_or(pc); };
  std::vector<output::GoroutineEntry> goroutines;
  for (const auto& g : s.goroutines) {
    if (!include_system && is_system(frames, g)) continue;
    std::vector<uint64_t> pcs;
    pcs.reserve(g.stack.size());
    for (uint64_t pc : g.stack) pcs.push_back(vaddr(pc));
    // No creation site: a goroutine whose stack could not be read keeps an empty stack.
    goroutines.push_back({g.goid, status_text(g), pcs.empty() ? 0 : stacks.intern(pcs), 0});
  }
  const state::StackSymbolizer symbols(bin, stacks);
  output::ProfileContext ctx;
  ctx.symbols = &symbols;
  ctx.exe_name = proc.exe_name();
  return output::write_goroutine_profile(path, goroutines, ctx, s.taken_at_ns);
}

bool owned_by_other_user(pid_t pid) {
  struct stat st {};
  if (stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0) return false;
  return st.st_uid != geteuid();
}

int run_dump(const DumpOptions& o) {
  if (o.pid <= 0) return fail(make_error("no target: give -p PID of a running Go program"));
  auto resolved = resolve(o.findings);
  if (!resolved) return fail(resolved.error());
  const FindingsConfig& config = *resolved;
  auto proc = sym::ProcessImage::open(o.pid);
  if (!proc) return fail(proc.error());
  if (owned_by_other_user(o.pid))
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

  // The verdict: the same detector as live tracing, on this one moment (confirmed by a
  // second look a moment later), with the process's memory to tell who can reach what.
  std::vector<detect::Finding> findings;
  std::vector<std::string> notes;
  if (!o.no_analysis) {
    model::StackTable stacks;
    auto symbols = std::make_shared<state::StackSymbolizer>(**bin, stacks);
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

  Frames frames(**bin, *proc);
  if (o.json) {
    nlohmann::json analysis = output::findings_json(findings);
    analysis["notes"] = notes;
    print_json(*snap, **bin, *proc, frames, ms, o.no_analysis ? nullptr : &analysis);
  } else {
    print_text(*snap, **bin, *proc, frames, o);
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
    if (auto ok = write_goroutine_profile(o.pprof_path, *snap, **bin, *proc, frames, o.system); !ok)
      return fail(ok.error());
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

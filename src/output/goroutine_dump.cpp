#include "output/goroutine_dump.h"

#include <algorithm>
#include <cinttypes>
#include <map>
#include <string_view>
#include <tuple>
#include <utility>

#include "common/hex.h"
#include "output/profiles.h"

namespace goscope::output {

// One printed frame of a goroutine.
struct GoroutineDumpRenderer::ShownFrame {
  std::string_view function;  // views into the symbolizer's code facts
  std::string_view file;
  int line = 0;
  bool inlined = false;
  uint64_t pc = 0;                    // process address as read (a return address except for the first)
  std::optional<uint64_t> entry_off;  // pc - function entry, for physical frames
  bool known = false;
};

namespace {

std::string hex(uint64_t v) {
  return hex_text(v);
}

bool is_runtime_hidden(std::string_view fn) {
  // The runtime's showframe at GOTRACEBACK=all: runtime.* frames are elided
  // unless exported (runtime.Gosched); names without a dot too.
  if (fn.find('.') == std::string_view::npos) return true;
  if (!fn.starts_with("runtime.")) return false;
  const char c = fn.size() > 8 ? fn[8] : 0;
  return !(c >= 'A' && c <= 'Z');
}

std::string status_text(const model::GoroutineSnapshot& g) {
  if (g.status == static_cast<uint32_t>(model::GStatus::kWaiting) && g.wait_reason != 0) {
    if (!g.wait_reason_name.empty()) return g.wait_reason_name;
    return "wait reason " + std::to_string(g.wait_reason) + " (name unknown)";
  }
  return model::status_name(g.status);
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

std::string text(std::string_view s) {
  return std::string(s);
}

}  // namespace

GoroutineDumpRenderer::GoroutineDumpRenderer(std::shared_ptr<const state::StackSymbolizer> symbols,
                                             ProcessToVaddr to_vaddr, std::string exe_name)
    : symbols_(std::move(symbols)), to_vaddr_(std::move(to_vaddr)), exe_name_(std::move(exe_name)) {}

// Frames for one PC, innermost first. Return addresses are looked up one byte back (in
// the call instruction), as the runtime's traceback does, except at a function's entry
// (a goroutine that has not started).
std::vector<GoroutineDumpRenderer::ShownFrame> GoroutineDumpRenderer::frames_at(uint64_t pc) const {
  std::vector<ShownFrame> out;
  if (const auto vaddr = to_vaddr_(pc)) {
    if (const auto entry = symbols_->code().function_entry(*vaddr)) {
      for (const state::CodeFrame& f : symbols_->frames_at(*vaddr, /*return_address=*/*vaddr > *entry)) {
        if (!f.known()) continue;
        ShownFrame s{f.function, f.file, f.line, f.inlined, pc, std::nullopt, true};
        if (!f.inlined) s.entry_off = *vaddr - *entry;
        out.push_back(s);
      }
    }
  }
  if (out.empty()) {
    ShownFrame s;
    s.function = "?";
    s.pc = pc;
    out.push_back(s);
  }
  return out;
}

// The physical function containing `pc` (its entry's name), "" when unknown.
std::string GoroutineDumpRenderer::physical_function(uint64_t pc) const {
  const auto frames = frames_at(pc);
  return frames.back().known ? text(frames.back().function) : "";
}

// The runtime's isSystemGoroutine, on the goroutine's start function (the finalizer
// goroutine counts as system unless it is running a finalizer, which cannot be told
// from outside: it is counted as system).
bool GoroutineDumpRenderer::is_system(const model::GoroutineSnapshot& g) const {
  if (g.start_pc == 0) return false;
  return state::is_system_goroutine(physical_function(g.start_pc));
}

std::vector<GoroutineDumpRenderer::ShownFrame> GoroutineDumpRenderer::stack_frames(
    const model::GoroutineSnapshot& g, bool runtime_frames) const {
  std::vector<ShownFrame> all;
  for (uint64_t pc : g.stack)
    for (const auto& f : frames_at(pc)) all.push_back(f);
  if (runtime_frames) return all;
  std::vector<ShownFrame> shown;
  for (const auto& f : all)
    if (!f.known || !is_runtime_hidden(f.function)) shown.push_back(f);
  return shown.empty() ? all : shown;  // like the runtime: all frames when none would show
}

// The Mutex / RWMutex / WaitGroup a semaphore wait is on, told by the sync
// function on the goroutine's stack.
std::optional<sym::SyncObject> GoroutineDumpRenderer::semaphore_owner(const model::GoroutineSnapshot& g,
                                                                      uint64_t semaphore) const {
  std::vector<std::string_view> names;
  for (uint64_t pc : g.stack)
    for (const auto& f : frames_at(pc))
      if (f.known) names.push_back(f.function);
  return sym::sync_object_of_semaphore(semaphore, names, symbols_->code().offsets());
}

std::string GoroutineDumpRenderer::describe_wait(const model::GoroutineSnapshot& g,
                                                 const model::WaitedObject& w) const {
  if (w.kind == model::WaitedObject::Kind::kChannel) return "channel " + hex(w.address);
  if (auto owner = semaphore_owner(g, w.address))
    return owner->type + " " + hex(owner->address) + (owner->role.empty() ? "" : " (" + owner->role + ")") +
           ", semaphore " + hex(w.address);
  return "semaphore " + hex(w.address);
}

// Frames, creation site and waited-on objects of one goroutine, or of a group of
// goroutines with the same stack (`group` holds them all, the first printed).
void GoroutineDumpRenderer::write_body(std::FILE* out, GroupMembers group,
                                       const GoroutineDumpOptions& o) const {
  const model::GoroutineSnapshot& g = *group.front();
  if (g.stack_state == model::StackState::kRunning) {
    std::fprintf(out, "\tgoroutine running on other thread; stack unavailable\n");
  } else {
    for (const auto& f : stack_frames(g, o.runtime_frames || o.system)) {
      std::fprintf(out, "%s(...)\n", text(f.function).c_str());
      if (!f.known) {
        std::fprintf(out, "\t?:? pc=%s (not in the executable's text)\n", hex(f.pc).c_str());
        continue;
      }
      std::fprintf(out, "\t%s:%d", text(f.file).c_str(), f.line);
      if (f.entry_off && *f.entry_off) std::fprintf(out, " +%s", hex(*f.entry_off).c_str());
      std::fprintf(out, "\n");
    }
    switch (g.stack_state) {
      case model::StackState::kTruncated:
        std::fprintf(out, "...additional frames elided...\n");
        break;
      case model::StackState::kTorn:
        std::fprintf(out, "\t(stack changed while being read: frames end here)\n");
        break;
      case model::StackState::kUnreadable:
        std::fprintf(out, "\t(stack memory could not be read)\n");
        break;
      default:
        break;
    }
  }
  if (g.go_pc && g.goid != 1) {
    const auto cf = frames_at(g.go_pc);
    const bool show = o.system || !cf.front().known || !is_runtime_hidden(cf.front().function);
    if (show) {
      std::fprintf(out, "created by %s",
                   cf.back().known ? text(cf.back().function).c_str() : hex(g.go_pc).c_str());
      if (group.size() == 1 && g.parent_goid && *g.parent_goid)
        std::fprintf(out, " in goroutine %" PRIu64, *g.parent_goid);
      std::fprintf(out, "\n");
      if (cf.front().known) {
        std::fprintf(out, "\t%s:%d", text(cf.front().file).c_str(), cf.front().line);
        if (cf.back().entry_off && *cf.back().entry_off)
          std::fprintf(out, " +%s", hex(*cf.back().entry_off).c_str());
        std::fprintf(out, "\n");
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
      std::fprintf(out, "\twaits on %zu more objects\n", waited.size() - 8);
      break;
    }
    const model::WaitedObject w{static_cast<model::WaitedObject::Kind>(key.first), key.second, e.second};
    std::fprintf(out, "\twaits on %s%s", describe_wait(g, w).c_str(), e.second ? " (select case)" : "");
    if (group.size() > 1) std::fprintf(out, " (%zu of them)", e.first);
    std::fprintf(out, "\n");
  }
  if (group.size() == 1 && g.inconsistent)
    std::fprintf(out, "\t(changed while being read: %s)\n", g.inconsistency.c_str());
  if (group.size() > 1 && inconsistent)
    std::fprintf(out, "\t(%zu of them changed while being read: see --json)\n", inconsistent);
}

void GoroutineDumpRenderer::write_text(std::FILE* out, const model::ProcessSnapshot& s,
                                       const GoroutineDumpOptions& o) const {
  std::vector<const model::GoroutineSnapshot*> shown;
  shown.reserve(s.goroutines.size());
  for (const auto& g : s.goroutines)
    if (o.system || !is_system(g)) shown.push_back(&g);
  const size_t hidden = s.goroutines.size() - shown.size();
  std::fprintf(out, "goscope dump of PID %d (%s, %s): %zu goroutines", static_cast<int>(s.pid),
               exe_name_.c_str(), symbols_->code().build_info().go_version.c_str(), s.goroutines.size());
  if (hidden) std::fprintf(out, ", %zu runtime-internal ones not shown (--system shows them)", hidden);
  if (s.unreadable_gs)
    std::fprintf(out, ", %" PRIu64 " could not be read (the process changed or is exiting)", s.unreadable_gs);
  std::fprintf(out, "\n");

  const bool group =
      o.group == DumpGrouping::kAlways || (o.group == DumpGrouping::kAuto && shown.size() > o.group_above);
  if (!group) {
    for (const auto* g : shown) {
      std::fprintf(out, "\ngoroutine %" PRIu64 " [%s]:\n", g->goid, header_text(s, *g).c_str());
      write_body(out, {&g, 1}, o);
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
  order.reserve(groups.size());
  for (const auto& [key, members] : groups) order.push_back(&members);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->size() != b->size() ? a->size() > b->size() : a->front()->goid < b->front()->goid;
  });
  std::fprintf(out, "grouped by identical stack: %zu groups (--group=never lists every goroutine)\n",
               order.size());
  for (const auto* members : order) {
    const auto& g = *members->front();
    if (members->size() == 1) {
      std::fprintf(out, "\ngoroutine %" PRIu64 " [%s]:\n", g.goid, header_text(s, g).c_str());
    } else {
      std::fprintf(out, "\n%zu goroutines [%s]:", members->size(), header_text(s, g).c_str());
      for (size_t i = 0; i < members->size() && i < 10; i++)
        std::fprintf(out, " %" PRIu64, (*members)[i]->goid);
      std::fprintf(out, "%s\n", members->size() > 10 ? " ..." : "");
    }
    write_body(out, *members, o);
  }
}

void GoroutineDumpRenderer::write_goroutine_json(std::FILE* out, const model::ProcessSnapshot& s,
                                                 const model::GoroutineSnapshot& g, bool first) const {
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
      if (auto so = semaphore_owner(g, o.address))
        owner = {{"type", so->type}, {"address", hex(so->address)}, {"role", so->role}};
    }
    w.push_back({{"kind", o.kind == model::WaitedObject::Kind::kChannel ? "channel" : "semaphore"},
                 {"address", hex(o.address)},
                 {"select", o.in_select},
                 {"object", owner}});
  }
  x["waiting_on"] = w;
  x["system"] = is_system(g);
  x["start_function"] = g.start_pc ? nlohmann::json(physical_function(g.start_pc)) : nullptr;
  if (g.go_pc && g.goid != 1) {
    const auto cf = frames_at(g.go_pc);
    x["created_by"] = {{"function", cf.back().known ? nlohmann::json(text(cf.back().function)) : nullptr},
                       {"file", cf.front().known ? nlohmann::json(text(cf.front().file)) : nullptr},
                       {"line", cf.front().known ? nlohmann::json(cf.front().line) : nullptr},
                       {"pc", hex(g.go_pc)}};
  } else {
    x["created_by"] = nullptr;
  }
  x["parent_goid"] = g.parent_goid ? nlohmann::json(*g.parent_goid) : nullptr;
  x["stack_state"] = model::stack_state_name(g.stack_state);
  x["in_syscall"] = g.from_syscall;
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : stack_frames(g, true))
    frames.push_back({{"function", f.known ? nlohmann::json(text(f.function)) : nlohmann::json(nullptr)},
                      {"file", f.known ? nlohmann::json(text(f.file)) : nlohmann::json(nullptr)},
                      {"line", f.known ? nlohmann::json(f.line) : nlohmann::json(nullptr)},
                      {"inlined", f.inlined},
                      {"pc", hex(f.pc)}});
  x["frames"] = frames;
  x["inconsistent"] = g.inconsistent;
  if (g.inconsistent) x["inconsistency"] = g.inconsistency;
  std::fprintf(out, "%s\n%s", first ? "" : ",",
               x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

void GoroutineDumpRenderer::write_json(std::FILE* out, const model::ProcessSnapshot& s, double read_ms,
                                       const nlohmann::json* analysis) const {
  nlohmann::json j;
  j["pid"] = s.pid;
  j["exe"] = exe_name_;
  j["go_version"] = symbols_->code().build_info().go_version;
  j["allglen"] = s.allglen;
  j["dead_skipped"] = s.dead_skipped;
  j["unreadable"] = s.unreadable_gs;
  j["read_ms"] = read_ms;
  // Streamed, one goroutine per line: a dump of 100,000 goroutines never sits in memory as one tree.
  std::string head = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  head.pop_back();  // the closing brace: "goroutines" follows
  std::fprintf(out, "%s,\"goroutines\":[", head.c_str());
  bool first = true;
  for (const auto& g : s.goroutines) {
    write_goroutine_json(out, s, g, first);
    first = false;
  }
  std::fprintf(out, "\n]");
  if (analysis)
    std::fprintf(out, ",\"analysis\":%s",
                 analysis->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  std::fprintf(out, "}\n");
}

// Written by profiles.h like the one at the end of a trace: every location symbolized
// (inlined frames kept) so pprof never needs the binary.
Expected<void> GoroutineDumpRenderer::write_profile(const std::string& path, const model::ProcessSnapshot& s,
                                                    bool include_system) const {
  model::StackTable stacks;  // of vaddrs, as the symbolizer reads them
  std::vector<GoroutineEntry> goroutines;
  for (const auto& g : s.goroutines) {
    if (!include_system && is_system(g)) continue;
    std::vector<uint64_t> pcs;
    pcs.reserve(g.stack.size());
    for (uint64_t pc : g.stack) pcs.push_back(to_vaddr_(pc).value_or(pc));
    // No creation site: a goroutine whose stack could not be read keeps an empty stack.
    goroutines.push_back({g.goid, status_text(g), pcs.empty() ? 0 : stacks.intern(pcs), 0});
  }
  const state::StackSymbolizer symbols(symbols_->code_ptr(), stacks);
  ProfileContext ctx;
  ctx.symbols = &symbols;
  ctx.exe_name = exe_name_;
  return write_goroutine_profile(path, goroutines, ctx, s.taken_at_ns);
}

}  // namespace goscope::output

#include "loader/probe_plan.h"

#include <map>
#include <optional>
#include <string_view>

#include "symbolizer/probe_sites.h"

namespace goscope::loader {

const char* hook_name(Hook h) {
  switch (h) {
    case Hook::kNone:
      return "none";
    case Hook::kNewproc1:
      return "newproc1";
    case Hook::kGoexit1:
      return "goexit1";
    case Hook::kGopark:
      return "gopark";
    case Hook::kReady:
      return "ready";
    case Hook::kMakechan:
      return "makechan";
    case Hook::kChansend:
      return "chansend";
    case Hook::kChanrecv:
      return "chanrecv";
    case Hook::kClosechan:
      return "closechan";
    case Hook::kSelectgo:
      return "selectgo";
    case Hook::kSemacquire:
      return "semacquire1";
    case Hook::kSemrelease:
      return "semrelease1";
    case Hook::kMutexLockSlow:
      return "mutex_lockslow";
    case Hook::kMutexUnlockSlow:
      return "mutex_unlockslow";
    case Hook::kRWMutexLock:
      return "rwmutex_lock";
    case Hook::kRWMutexUnlock:
      return "rwmutex_unlock";
    case Hook::kWaitGroupWait:
      return "waitgroup_wait";
    case Hook::kNotifyListWait:
      return "notifylist_wait";
    case Hook::kNotifyOne:
      return "notifylist_notify_one";
    case Hook::kNotifyAll:
      return "notifylist_notify_all";
    case Hook::kStopTheWorld:
      return "stop_the_world";
    case Hook::kStartTheWorld:
      return "start_the_world";
    case Hook::kCasgstatus:
      return "casgstatus";
    case Hook::kInlineLock:
      return "inlined Mutex.Lock";
    case Hook::kInlineUnlock:
      return "inlined Mutex.Unlock";
    case Hook::kInlineRLock:
      return "inlined RWMutex.RLock";
    case Hook::kInlineRUnlock:
      return "inlined RWMutex.RUnlock";
    case Hook::kCount_:
      break;
  }
  return "?";
}

size_t Plan::count(Hook h) const {
  size_t n = 0;
  for (const auto& s : sites) n += s.hook == h;
  return n;
}

namespace {

// Which probes each hook gets, and in which set.
struct HookSpec {
  Hook hook;
  std::string_view id;  // sym::runtime_hooks() id
  bool entry;
  bool returns;
  bool all_ops_only;
};

constexpr HookSpec kSpecs[] = {
    {Hook::kNewproc1, "newproc1", false, true, false},
    {Hook::kGoexit1, "goexit1", true, false, false},
    {Hook::kGopark, "gopark", true, false, false},
    {Hook::kReady, "ready", true, false, false},
    {Hook::kMakechan, "makechan", false, true, false},
    {Hook::kClosechan, "closechan", true, false, false},
    {Hook::kSemacquire, "semacquire1", true, false, false},
    {Hook::kSemrelease, "semrelease1", true, false, false},
    {Hook::kMutexLockSlow, "mutex_lockslow", true, true, false},
    {Hook::kMutexUnlockSlow, "mutex_unlockslow", true, false, false},
    {Hook::kWaitGroupWait, "waitgroup_wait", true, false, false},
    {Hook::kNotifyListWait, "notifylist_wait", true, false, false},
    {Hook::kNotifyOne, "notifylist_notify_one", true, false, false},
    {Hook::kNotifyAll, "notifylist_notify_all", true, false, false},
    {Hook::kStopTheWorld, "stop_the_world", true, false, false},
    {Hook::kStartTheWorld, "start_the_world", true, false, false},
    {Hook::kChansend, "chansend", true, true, true},
    {Hook::kChanrecv, "chanrecv", true, true, true},
    {Hook::kSelectgo, "selectgo", true, true, true},
    {Hook::kRWMutexLock, "rwmutex_lock", true, true, true},
    {Hook::kRWMutexUnlock, "rwmutex_unlock", true, false, true},
};

std::optional<uint8_t> reg_number(std::string_view name) {
  static const std::map<std::string_view, uint8_t> regs = {
      {"rax", GS_REG_RAX}, {"rbx", GS_REG_RBX}, {"rcx", GS_REG_RCX}, {"rdx", GS_REG_RDX},
      {"rsi", GS_REG_RSI}, {"rdi", GS_REG_RDI}, {"rbp", GS_REG_RBP}, {"rsp", GS_REG_RSP},
      {"r8", GS_REG_R8},   {"r9", GS_REG_R9},   {"r10", GS_REG_R10}, {"r11", GS_REG_R11},
      {"r12", GS_REG_R12}, {"r13", GS_REG_R13}, {"r14", GS_REG_R14}, {"r15", GS_REG_R15},
  };
  auto it = regs.find(name);
  if (it == regs.end()) return std::nullopt;
  return it->second;
}

class Planner {
 public:
  Planner(const sym::GoBinary& bin, Plan& plan) : bin_(bin), plan_(plan) {}

  // The slot of (hook, site kind), created with these reads on first use.
  uint32_t slot(Hook hook, uint8_t site, uint8_t flags, std::initializer_list<gs_deref> derefs) {
    const auto key = std::make_pair(hook, site);
    auto it = slots_.find(key);
    if (it != slots_.end()) return it->second;
    gs_site_config c{};
    c.hook = static_cast<uint16_t>(hook);
    c.site = site;
    c.flags = flags;
    for (const gs_deref& d : derefs) {
      if (c.nderefs < GS_MAX_DEREFS) c.derefs[c.nderefs++] = d;
    }
    const auto s = static_cast<uint32_t>(plan_.configs.size());
    plan_.configs.push_back(c);
    slots_.emplace(key, s);
    return s;
  }

  void add(Hook hook, uint8_t site, uint32_t slot, uint64_t vaddr, const std::string& function,
           uint8_t reg = 0, int64_t disp = 0) {
    auto off = bin_.elf().vaddr_to_file_offset(vaddr);
    if (!off) {
      plan_.skipped.push_back(function + ": " + off.error().message);
      return;
    }
    PlannedSite p;
    p.hook = hook;
    p.site = site;
    p.slot = slot;
    p.vaddr = vaddr;
    p.file_offset = *off;
    p.function = function;
    p.cookie = GS_COOKIE(slot, reg, disp, plan_.sites.size());
    plan_.sites.push_back(std::move(p));
  }

 private:
  const sym::GoBinary& bin_;
  Plan& plan_;
  std::map<std::pair<Hook, uint8_t>, uint32_t> slots_;
};

gs_deref deref(uint8_t base, uint32_t offset) {
  gs_deref d{};
  d.base = base;
  d.offset = offset;
  return d;
}

}  // namespace

Expected<Plan> make_plan(const sym::GoBinary& bin, const PlanOptions& opts, uint32_t stack_depth) {
  const sym::GoOffsets& o = bin.offsets().offsets;
  const std::string go = bin.build_info().go_version;
  auto need = [&](const sym::Offset& v, const char* what) -> Expected<uint32_t> {
    if (!v)
      return make_error(bin.elf().path() + ": cannot find the offset of " + what +
                        " (no DWARF, and no table for " + go + ")");
    return *v;
  };
  Plan plan;
  GS_TRY(plan.offsets.g_goid, need(o.g_goid, "runtime.g.goid"));
  GS_TRY(plan.offsets.g_m, need(o.g_m, "runtime.g.m"));
  GS_TRY(plan.offsets.m_curg, need(o.m_curg, "runtime.m.curg"));
  GS_TRY(plan.offsets.g_sched_pc, need(o.g_sched_pc, "runtime.g.sched.pc"));
  GS_TRY(plan.offsets.g_sched_bp, need(o.g_sched_bp, "runtime.g.sched.bp"));
  GS_TRY(plan.offsets.g_waiting, need(o.g_waiting, "runtime.g.waiting"));
  // A program without channels has no sudog.c use... but the runtime always has sudog.
  GS_TRY(plan.offsets.sudog_c, need(o.sudog_c, "runtime.sudog.c"));
  GS_TRY(plan.offsets.sudog_waitlink, need(o.sudog_waitlink, "runtime.sudog.waitlink"));
  GS_TRY(plan.offsets.sudog_is_select, need(o.sudog_is_select, "runtime.sudog.isSelect"));
  plan.offsets.stack_depth = stack_depth > GS_MAX_FRAMES ? GS_MAX_FRAMES : stack_depth;

  const bool all_ops = opts.set == ProbeSet::kAllOps;
  Planner planner(bin, plan);
  const auto resolved = sym::resolve_hooks(bin);
  auto find = [&](std::string_view id) -> const sym::ResolvedHook* {
    for (const auto& r : resolved)
      if (r.hook->id == id) return &r;
    return nullptr;
  };

  for (const HookSpec& spec : kSpecs) {
    if (spec.all_ops_only && !all_ops) continue;
    const sym::ResolvedHook* r = find(spec.id);
    if (!r || r->symbol.empty()) {
      plan.absent.emplace_back(spec.id);
      continue;
    }
    if (!r->sites) {
      plan.skipped.push_back(r->symbol + ": cannot find its instructions");
      continue;
    }
    const sym::FunctionProbeSites& s = *r->sites;
    if (spec.entry) {
      uint8_t flags = 0;
      std::vector<gs_deref> d;
      if (spec.hook == Hook::kGopark) flags |= GS_SITE_WALK_WAITING;
      if (spec.hook == Hook::kSelectgo) flags |= GS_SITE_READ_SCASES;
      uint32_t slot;
      if (spec.hook == Hook::kReady)
        slot = planner.slot(spec.hook, GS_SITE_ENTRY, flags, {deref(0, plan.offsets.g_goid)});
      else
        slot = planner.slot(spec.hook, GS_SITE_ENTRY, flags, {});
      planner.add(spec.hook, GS_SITE_ENTRY, slot, s.after_prologue, r->symbol);
    }
    if (spec.returns) {
      uint32_t slot;
      if (spec.hook == Hook::kNewproc1) {
        // RAX is the new g: its id, the go statement, its function, its parent (1.21+).
        if (o.g_gopc && o.g_startpc) {
          if (o.g_parent_goid)
            slot = planner.slot(spec.hook, GS_SITE_RET, 0,
                                {deref(0, *o.g_goid), deref(0, *o.g_gopc), deref(0, *o.g_startpc),
                                 deref(0, *o.g_parent_goid)});
          else
            slot = planner.slot(spec.hook, GS_SITE_RET, 0,
                                {deref(0, *o.g_goid), deref(0, *o.g_gopc), deref(0, *o.g_startpc)});
        } else {
          slot = planner.slot(spec.hook, GS_SITE_RET, 0, {deref(0, *o.g_goid)});
        }
      } else if (spec.hook == Hook::kMakechan) {
        if (o.hchan_dataqsiz && o.hchan_elemsize)
          slot = planner.slot(spec.hook, GS_SITE_RET, 0,
                              {deref(0, *o.hchan_dataqsiz), deref(0, *o.hchan_elemsize)});
        else
          slot = planner.slot(spec.hook, GS_SITE_RET, 0, {});
      } else {
        slot = planner.slot(spec.hook, GS_SITE_RET, 0, {});
      }
      for (uint64_t ret : s.returns) planner.add(spec.hook, GS_SITE_RET, slot, ret, r->symbol);
    }
  }

  if (opts.scheduler) {
    const sym::ResolvedHook* r = find("casgstatus");
    if (r && r->sites) {
      const uint32_t slot =
          planner.slot(Hook::kCasgstatus, GS_SITE_ENTRY, GS_SITE_NO_STACK, {deref(0, plan.offsets.g_goid)});
      planner.add(Hook::kCasgstatus, GS_SITE_ENTRY, slot, r->sites->after_prologue, r->symbol);
    } else {
      plan.absent.emplace_back("casgstatus");
    }
  }

  if (all_ops || opts.lock_holders) {
    // From Go 1.24 on sync.Mutex's fast paths are internal/sync's, inlined into sync's: a
    // build without inlining (or a caller the compiler did not inline into) executes the
    // atomic in internal/sync's own body.
    const std::vector<std::string> lock_functions = {
        "sync.(*Mutex).Lock",      "sync.(*Mutex).Unlock",        "sync.(*RWMutex).RLock",
        "sync.(*RWMutex).RUnlock", "internal/sync.(*Mutex).Lock", "internal/sync.(*Mutex).Unlock"};
    for (const auto& a : sym::inlined_atomic_sites(bin, true, lock_functions, /*out_of_line=*/true)) {
      Hook h = Hook::kNone;
      const bool cmpxchg = a.kind == sym::AtomicKind::kLockCmpxchg;
      if (a.inlined.ends_with("(*Mutex).Lock") && cmpxchg) h = Hook::kInlineLock;
      if (a.inlined.ends_with("(*Mutex).Unlock") && !cmpxchg) h = Hook::kInlineUnlock;
      if (a.inlined.ends_with("(*RWMutex).RLock") && !cmpxchg) h = Hook::kInlineRLock;
      if (a.inlined.ends_with("(*RWMutex).RUnlock") && !cmpxchg) h = Hook::kInlineRUnlock;
      if (h == Hook::kNone) continue;
      auto reg = reg_number(a.base_register);
      if (!reg || a.displacement < INT16_MIN || a.displacement > INT16_MAX) {
        plan.skipped.push_back(a.inlined + " in " + a.caller + ": operand " + a.base_register + "+" +
                               std::to_string(a.displacement) + " not supported");
        continue;
      }
      // One name for both copies: a sync call holds a nested internal/sync one at the same
      // atomic, and which of the two the symbolizer reports for it is not fixed.
      std::string inlined = a.inlined;
      if (inlined.starts_with("internal/sync.")) inlined.erase(0, std::string_view("internal/").size());
      const uint32_t slot = planner.slot(h, GS_SITE_ATOMIC, GS_SITE_READ_ATOMIC, {});
      planner.add(h, GS_SITE_ATOMIC, slot, a.after, inlined + " in " + a.caller, *reg, a.displacement);
      if (a.caller == "sync.(*RWMutex).Lock" || a.caller == "sync.(*RWMutex).Unlock")
        plan.sites.back().rwmutex_writer = true;
    }
  }

  if (plan.configs.size() > GS_MAX_SLOTS) return make_error("too many probe site kinds (a goscope bug)");
  if (plan.sites.empty())
    return make_error(bin.elf().path() + ": none of the Go runtime functions goscope hooks is in it");
  return plan;
}

}  // namespace goscope::loader

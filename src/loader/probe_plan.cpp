#include "loader/probe_plan.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>

#include "symbolizer/probe_sites.h"

namespace goscope::loader {

size_t Plan::count(Hook h) const {
  size_t n = 0;
  for (const auto& s : sites) n += s.hook == h;
  return n;
}

namespace {

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
  uint32_t slot(Hook hook, uint8_t site, uint8_t flags, const std::vector<gs_deref>& derefs) {
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

bool planned(HookSet set, const PlanOptions& o) {
  switch (set) {
    case HookSet::kNever:
      return false;
    case HookSet::kDefault:
      return true;
    case HookSet::kAllOps:
      return o.set == ProbeSet::kAllOps;
    case HookSet::kScheduler:
      return o.scheduler;
    case HookSet::kLockHolders:
      return o.set == ProbeSet::kAllOps || o.lock_holders;
  }
  return false;
}

// A hook on whole functions: after the prologue and / or at every RET.
void plan_function_hook(const HookDescriptor& d, const sym::GoBinary& bin, Planner& planner, Plan& plan) {
  const sym::ResolvedFunction r = sym::resolve_function(bin, d.functions);
  if (r.symbol.empty()) {
    plan.absent.emplace_back(d.name);
    return;
  }
  if (!r.sites) {
    plan.skipped.push_back(r.symbol + ": cannot find its instructions");
    return;
  }
  const HookReads reads = d.reads ? d.reads(bin.offsets().offsets) : HookReads{};
  if (d.sites & kAtEntry) {
    const uint32_t slot = planner.slot(d.hook, GS_SITE_ENTRY, d.flags, reads.entry);
    planner.add(d.hook, GS_SITE_ENTRY, slot, r.sites->after_prologue, r.symbol);
  }
  if (d.sites & kAtReturn) {
    const uint32_t slot = planner.slot(d.hook, GS_SITE_RET, 0, reads.ret);
    for (uint64_t ret : r.sites->returns) planner.add(d.hook, GS_SITE_RET, slot, ret, r.symbol);
  }
}

// The atomic hooks: one site after each LOCK CMPXCHG / XADD of their functions, inlined
// into a caller or in their own body.
void plan_atomic_hooks(const std::vector<const HookDescriptor*>& hooks, const sym::GoBinary& bin,
                       Planner& planner, Plan& plan) {
  if (hooks.empty()) return;
  // Every hook's first name, then every second one, ...: the order the symbolizer is asked in.
  std::vector<std::string> functions;
  for (size_t i = 0, more = 1; more; i++) {
    more = 0;
    for (const HookDescriptor* d : hooks)
      if (i < d->functions.size()) {
        functions.emplace_back(d->functions[i]);
        more = 1;
      }
  }
  for (const auto& a : sym::inlined_atomic_sites(bin, true, functions, /*out_of_line=*/true)) {
    const HookDescriptor* d = nullptr;
    for (const HookDescriptor* h : hooks)
      if (h->atomic == a.kind && std::find(h->functions.begin(), h->functions.end(), a.inlined) != h->functions.end())
        d = h;
    if (!d) continue;
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
    const HookReads reads = d->reads ? d->reads(bin.offsets().offsets) : HookReads{};
    const uint32_t slot = planner.slot(d->hook, GS_SITE_ATOMIC, d->flags, reads.entry);
    planner.add(d->hook, GS_SITE_ATOMIC, slot, a.after, inlined + " in " + a.caller, *reg, a.displacement);
    if (a.caller == "sync.(*RWMutex).Lock" || a.caller == "sync.(*RWMutex).Unlock")
      plan.sites.back().rwmutex_writer = true;
  }
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

  Planner planner(bin, plan);
  for (HookSet set : {HookSet::kDefault, HookSet::kAllOps, HookSet::kScheduler, HookSet::kLockHolders}) {
    if (!planned(set, opts)) continue;
    std::vector<const HookDescriptor*> atomic;
    for (const HookDescriptor& d : hook_table()) {
      if (d.set != set) continue;
      if (d.sites & kAtAtomic)
        atomic.push_back(&d);
      else
        plan_function_hook(d, bin, planner, plan);
    }
    plan_atomic_hooks(atomic, bin, planner, plan);
  }

  if (plan.configs.size() > GS_MAX_SLOTS) return make_error("too many probe site kinds (a goscope bug)");
  if (plan.sites.empty())
    return make_error(bin.elf().path() + ": none of the Go runtime functions goscope hooks is in it");
  return plan;
}

}  // namespace goscope::loader

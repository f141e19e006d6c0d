#include "symbolizer/probe_sites.h"

#include <capstone/capstone.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace goscope::sym {

namespace {

struct Insn {
  uint64_t addr = 0;
  uint16_t size = 0;
  unsigned id = 0;
  bool lock = false;
  bool mem = false;  // has a memory operand
  x86_reg mem_base = X86_REG_INVALID;
  int64_t mem_disp = 0;
  uint64_t call_target = 0;  // a CALL with an immediate target: where it goes
};

class Disassembler {
 public:
  Disassembler() {
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h_) != CS_ERR_OK) return;
    cs_option(h_, CS_OPT_DETAIL, CS_OPT_ON);
    ok_ = true;
  }
  ~Disassembler() {
    if (ok_) cs_close(&h_);
  }
  Disassembler(const Disassembler&) = delete;
  Disassembler& operator=(const Disassembler&) = delete;
  bool ok() const { return ok_; }
  const char* reg_name(x86_reg r) const { return cs_reg_name(h_, r); }

  // Linear sweep of [addr, addr+code.size()): Go text holds no data between instructions.
  // Stops at the first byte Capstone cannot decode (some AVX-512 forms in assembly
  // functions); `complete` says whether the sweep reached the end (INT3 padding decodes).
  std::vector<Insn> decode(std::span<const uint8_t> code, uint64_t addr, bool* complete = nullptr) const {
    std::vector<Insn> out;
    cs_insn* insn = cs_malloc(h_);
    if (!insn) return out;
    const uint8_t* p = code.data();
    size_t left = code.size();
    uint64_t a = addr;
    while (left > 0 && cs_disasm_iter(h_, &p, &left, &a, insn)) {
      Insn i;
      i.addr = insn->address;
      i.size = insn->size;
      i.id = insn->id;
      const cs_x86& x = insn->detail->x86;
      i.lock = x.prefix[0] == X86_PREFIX_LOCK;
      if (i.id == X86_INS_CALL && x.op_count == 1 && x.operands[0].type == X86_OP_IMM)
        i.call_target = static_cast<uint64_t>(x.operands[0].imm);
      for (uint8_t k = 0; k < x.op_count; k++) {
        if (x.operands[k].type != X86_OP_MEM) continue;
        i.mem = true;
        i.mem_base = x.operands[k].mem.base;
        i.mem_disp = x.operands[k].mem.disp;
        break;
      }
      out.push_back(i);
    }
    cs_free(insn, 1);
    if (complete) *complete = left == 0;
    return out;
  }

 private:
  csh h_ = 0;
  bool ok_ = false;
};

std::vector<Insn> decode_function(const Disassembler& d, const GoBinary& b, uint64_t entry, uint64_t end,
                                  bool* complete = nullptr) {
  auto code = b.elf().vaddr_bytes(entry, end - entry);
  if (complete) *complete = false;
  if (code.empty()) return {};
  return d.decode(code, entry, complete);
}

}  // namespace

Expected<FunctionProbeSites> function_probe_sites(const GoBinary& b, std::string_view function) {
  const Pclntab& t = b.pclntab();
  auto idx = t.function_named(function);
  if (!idx)
    return make_error(std::string(function) + " is not in " + b.elf().path() +
                      " (the linker drops functions the program never uses)");
  Disassembler d;
  if (!d.ok()) return make_error("cannot initialise the Capstone disassembler");
  FunctionProbeSites s;
  s.function = function;
  s.entry = t.function_entry(*idx);
  s.end = t.function_end(*idx);
  s.after_prologue = s.entry;
  bool complete = false;
  auto insns = decode_function(d, b, s.entry, s.end, &complete);
  if (insns.empty())
    return make_error("cannot disassemble " + std::string(function) + " in " + b.elf().path());
  // A RET after an undecodable instruction would be missed, and a missed RET means
  // unbalanced entry/return events: refuse rather than return a partial list.
  if (!complete) {
    char at[32];
    std::snprintf(at, sizeof at, "0x%lx", static_cast<unsigned long>(insns.back().addr + insns.back().size));
    return make_error("cannot fully disassemble " + std::string(function) +
                      " (Capstone does not know the instruction at " + at +
                      "); its RET sites would be incomplete");
  }

  // The stack check compares against g.stackguard0 (0x10(R14)) within the first few
  // instructions, then JBE to the morestack block at the end of the function.
  for (size_t i = 0; i < insns.size() && i < 8; i++) {
    const Insn& in = insns[i];
    if (in.id != X86_INS_CMP || !in.mem || in.mem_base != X86_REG_R14 || in.mem_disp != 0x10) continue;
    for (size_t j = i + 1; j < insns.size() && j <= i + 2; j++) {
      if (insns[j].id == X86_INS_JBE) {
        s.has_stack_check = true;
        s.after_prologue = insns[j].addr + insns[j].size;
        break;
      }
    }
    break;
  }
  for (const Insn& in : insns)
    if (in.id == X86_INS_RET) s.returns.push_back(in.addr);
  return s;
}

std::vector<DirectCall> direct_calls(const GoBinary& b, uint64_t entry, uint64_t end) {
  Disassembler d;
  if (!d.ok() || end <= entry) return {};
  std::vector<DirectCall> out;
  for (const Insn& in : decode_function(d, b, entry, end))
    if (in.call_target) out.push_back({in.addr, in.call_target});
  return out;
}

std::vector<InlinedAtomicSite> inlined_atomic_sites(const GoBinary& b, bool prefer_dwarf,
                                                    std::vector<std::string> functions, bool out_of_line) {
  if (functions.empty())
    functions = {"sync.(*Mutex).Lock", "sync.(*Mutex).Unlock", "sync.(*RWMutex).RLock",
                 "sync.(*RWMutex).RUnlock"};
  struct Instance {
    std::string inlined;
    size_t caller_idx;
    uint64_t lo = UINT64_MAX, hi = 0;
  };
  std::vector<Instance> instances;
  const Pclntab& t = b.pclntab();
  std::string from;
  if (prefer_dwarf && b.dwarf()) {
    from = "DWARF";
    for (auto& call : b.dwarf()->inlined_calls(functions)) {
      Instance in{call.function, 0};
      for (auto [lo, hi] : call.ranges) {
        in.lo = std::min(in.lo, lo);
        in.hi = std::max(in.hi, hi);
      }
      auto ci = t.function_at(in.lo);
      if (in.lo >= in.hi || !ci) continue;
      in.caller_idx = *ci;
      instances.push_back(std::move(in));
    }
  } else {
    from = "pclntab";
    for (size_t f = 0; f < t.function_count(); f++) {
      std::map<int32_t, Instance> by_index;  // one inline-tree index = one inlined call
      for (const auto& r : t.inlined_ranges(f)) {
        for (size_t k = 0; k < r.chain.size(); k++) {
          if (std::find(functions.begin(), functions.end(), r.chain[k]) == functions.end()) continue;
          auto [it, fresh] = by_index.try_emplace(r.chain_index[k], Instance{std::string(r.chain[k]), f});
          it->second.lo = std::min(it->second.lo, r.start);
          it->second.hi = std::max(it->second.hi, r.end);
          break;
        }
      }
      for (auto& [ix, in] : by_index) instances.push_back(std::move(in));
    }
  }
  // The out-of-line copies (called through interfaces such as sync.Locker, or where
  // the caller was not inlined into) hold the same atomic in their own body.
  for (const auto& name : functions) {
    if (!out_of_line) break;
    auto f = t.function_named(name);
    if (!f) continue;
    Instance in{name, *f};
    in.lo = t.function_entry(*f);
    in.hi = t.function_end(*f);
    if (in.lo < in.hi) instances.push_back(std::move(in));
  }

  std::vector<InlinedAtomicSite> out;
  Disassembler d;
  if (!d.ok()) return out;
  std::map<size_t, std::vector<Insn>> decoded;  // per caller function
  for (const Instance& in : instances) {
    auto& insns = decoded[in.caller_idx];
    if (insns.empty())
      insns = decode_function(d, b, t.function_entry(in.caller_idx), t.function_end(in.caller_idx));
    // The atomic is normally inside the inlined range; its position is sometimes attributed
    // to the call line, just before or between the ranges: allow a few bytes around.
    constexpr uint64_t kSlack = 16;
    const Insn* best = nullptr;
    for (const Insn& i : insns) {
      if (!i.lock || !i.mem || (i.id != X86_INS_CMPXCHG && i.id != X86_INS_XADD)) continue;
      if (i.addr + kSlack < in.lo || i.addr >= in.hi + kSlack) continue;
      const bool inside = i.addr >= in.lo && i.addr < in.hi;
      if (!best || (inside && !(best->addr >= in.lo && best->addr < in.hi))) best = &i;
      if (inside) break;
    }
    if (!best) continue;
    InlinedAtomicSite s;
    s.inlined = in.inlined;
    s.caller = t.function_name(in.caller_idx);
    s.instruction = best->addr;
    s.after = best->addr + best->size;
    s.kind = best->id == X86_INS_CMPXCHG ? AtomicKind::kLockCmpxchg : AtomicKind::kLockXadd;
    const char* reg = best->mem_base == X86_REG_INVALID ? nullptr : d.reg_name(best->mem_base);
    s.base_register = reg ? reg : "";
    s.displacement = best->mem_disp;
    s.from = from;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& c) { return a.instruction < c.instruction; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const auto& a, const auto& c) { return a.instruction == c.instruction; }),
            out.end());
  return out;
}

}  // namespace goscope::sym

namespace goscope::sym {

ResolvedFunction resolve_function(const GoBinary& b, std::span<const std::string_view> names) {
  ResolvedFunction r;
  for (auto name : names) {
    if (!b.pclntab().function_named(name)) continue;
    r.symbol = name;
    if (auto s = function_probe_sites(b, name)) r.sites = std::move(*s);
    break;
  }
  return r;
}

}  // namespace goscope::sym

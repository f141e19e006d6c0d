#include "symbolizer/go_offsets.h"

#include "symbolizer/offsets_table.h"

namespace goscope::sym {

const std::vector<OffsetField>& offset_fields() {
  static const std::vector<OffsetField> fields = {
      {"g.goid", &GoOffsets::g_goid, {{"runtime.g", "goid"}}},
      {"g.atomicstatus", &GoOffsets::g_atomicstatus, {{"runtime.g", "atomicstatus"}}},
      {"g.waitreason", &GoOffsets::g_waitreason, {{"runtime.g", "waitreason"}}},
      {"g.waiting", &GoOffsets::g_waiting, {{"runtime.g", "waiting"}}},
      {"g.m", &GoOffsets::g_m, {{"runtime.g", "m"}}},
      {"g.sched", &GoOffsets::g_sched, {{"runtime.g", "sched"}}},
      {"g.sched.sp", &GoOffsets::g_sched_sp, {{"runtime.g", "sched.sp"}}},
      {"g.sched.pc", &GoOffsets::g_sched_pc, {{"runtime.g", "sched.pc"}}},
      {"g.sched.bp", &GoOffsets::g_sched_bp, {{"runtime.g", "sched.bp"}}},
      {"g.gopc", &GoOffsets::g_gopc, {{"runtime.g", "gopc"}}},
      {"g.startpc", &GoOffsets::g_startpc, {{"runtime.g", "startpc"}}},
      {"g.parentGoid", &GoOffsets::g_parent_goid, {{"runtime.g", "parentGoid"}}},
      {"g.waitsince", &GoOffsets::g_waitsince, {{"runtime.g", "waitsince"}}},
      {"g.stack.lo", &GoOffsets::g_stack_lo, {{"runtime.g", "stack.lo"}}},
      {"g.stack.hi", &GoOffsets::g_stack_hi, {{"runtime.g", "stack.hi"}}},
      {"g.sched.ctxt", &GoOffsets::g_sched_ctxt, {{"runtime.g", "sched.ctxt"}}},
      {"g._defer", &GoOffsets::g_defer, {{"runtime.g", "_defer"}}},
      {"m.curg", &GoOffsets::m_curg, {{"runtime.m", "curg"}}},
      {"m.procid", &GoOffsets::m_procid, {{"runtime.m", "procid"}}},
      {"hchan.qcount", &GoOffsets::hchan_qcount, {{"runtime.hchan", "qcount"}}},
      {"hchan.dataqsiz", &GoOffsets::hchan_dataqsiz, {{"runtime.hchan", "dataqsiz"}}},
      {"hchan.buf", &GoOffsets::hchan_buf, {{"runtime.hchan", "buf"}}},
      {"hchan.elemsize", &GoOffsets::hchan_elemsize, {{"runtime.hchan", "elemsize"}}},
      {"hchan.closed", &GoOffsets::hchan_closed, {{"runtime.hchan", "closed"}}},
      {"hchan.elemtype", &GoOffsets::hchan_elemtype, {{"runtime.hchan", "elemtype"}}},
      {"hchan.sendx", &GoOffsets::hchan_sendx, {{"runtime.hchan", "sendx"}}},
      {"hchan.recvx", &GoOffsets::hchan_recvx, {{"runtime.hchan", "recvx"}}},
      {"hchan.recvq", &GoOffsets::hchan_recvq, {{"runtime.hchan", "recvq"}}},
      {"hchan.sendq", &GoOffsets::hchan_sendq, {{"runtime.hchan", "sendq"}}},
      {"hchan.lock", &GoOffsets::hchan_lock, {{"runtime.hchan", "lock"}}},
      {"waitq.first", &GoOffsets::waitq_first, {{"runtime.waitq", "first"}}},
      {"waitq.last", &GoOffsets::waitq_last, {{"runtime.waitq", "last"}}},
      {"sudog.g", &GoOffsets::sudog_g, {{"runtime.sudog", "g"}}},
      {"sudog.next", &GoOffsets::sudog_next, {{"runtime.sudog", "next"}}},
      {"sudog.prev", &GoOffsets::sudog_prev, {{"runtime.sudog", "prev"}}},
      {"sudog.elem", &GoOffsets::sudog_elem, {{"runtime.sudog", "elem"}}},
      {"sudog.isSelect", &GoOffsets::sudog_is_select, {{"runtime.sudog", "isSelect"}}},
      {"sudog.waitlink", &GoOffsets::sudog_waitlink, {{"runtime.sudog", "waitlink"}}},
      {"sudog.c", &GoOffsets::sudog_c, {{"runtime.sudog", "c"}}},
      {"mutex.state",
       &GoOffsets::mutex_state,
       {{"sync.Mutex", "state"}, {"sync.Mutex", "mu.state"}, {"internal/sync.Mutex", "state"}}},
      {"mutex.sema",
       &GoOffsets::mutex_sema,
       {{"sync.Mutex", "sema"}, {"sync.Mutex", "mu.sema"}, {"internal/sync.Mutex", "sema"}}},
      {"rwmutex.w", &GoOffsets::rwmutex_w, {{"sync.RWMutex", "w"}}},
      {"rwmutex.writerSem", &GoOffsets::rwmutex_writer_sem, {{"sync.RWMutex", "writerSem"}}},
      {"rwmutex.readerSem", &GoOffsets::rwmutex_reader_sem, {{"sync.RWMutex", "readerSem"}}},
      {"rwmutex.readerCount", &GoOffsets::rwmutex_reader_count, {{"sync.RWMutex", "readerCount"}}},
      {"rwmutex.readerWait", &GoOffsets::rwmutex_reader_wait, {{"sync.RWMutex", "readerWait"}}},
      {"waitgroup.state",
       &GoOffsets::waitgroup_state,
       {{"sync.WaitGroup", "state"}, {"sync.WaitGroup", "state1"}}},
      {"waitgroup.sema",
       &GoOffsets::waitgroup_sema,
       {{"sync.WaitGroup", "sema"}, {"sync.WaitGroup", "state2"}}},
      {"cond.L", &GoOffsets::cond_l, {{"sync.Cond", "L"}}},
      {"cond.notify", &GoOffsets::cond_notify, {{"sync.Cond", "notify"}}},
      {"notifyList.wait",
       &GoOffsets::notifylist_wait,
       {{"runtime.notifyList", "wait"}, {"sync.notifyList", "wait"}}},
      {"notifyList.notify",
       &GoOffsets::notifylist_notify,
       {{"runtime.notifyList", "notify"}, {"sync.notifyList", "notify"}}},
      {"notifyList.head",
       &GoOffsets::notifylist_head,
       {{"runtime.notifyList", "head"}, {"sync.notifyList", "head"}}},
      {"notifyList.tail",
       &GoOffsets::notifylist_tail,
       {{"runtime.notifyList", "tail"}, {"sync.notifyList", "tail"}}},
      {"mheap.arenas", &GoOffsets::mheap_arenas, {{"runtime.mheap", "arenas"}}},
      {"heapArena.spans", &GoOffsets::heaparena_spans, {{"runtime.heapArena", "spans"}}},
      {"mspan.startAddr", &GoOffsets::mspan_start_addr, {{"runtime.mspan", "startAddr"}}},
      {"mspan.npages", &GoOffsets::mspan_npages, {{"runtime.mspan", "npages"}}},
      {"mspan.spanclass", &GoOffsets::mspan_spanclass, {{"runtime.mspan", "spanclass"}}},
      {"mspan.state", &GoOffsets::mspan_state, {{"runtime.mspan", "state"}}},
      {"mspan.elemsize", &GoOffsets::mspan_elemsize, {{"runtime.mspan", "elemsize"}}},
      {"mspan.limit", &GoOffsets::mspan_limit, {{"runtime.mspan", "limit"}}},
      {"p.timers", &GoOffsets::p_timers, {{"runtime.p", "timers.heap"}, {"runtime.p", "timers"}}},
  };
  return fields;
}

GoOffsets offsets_from_dwarf(const DwarfTypes& dwarf) {
  GoOffsets o;
  for (const auto& f : offset_fields()) {
    for (const auto& [st, path] : f.dwarf) {
      if (auto v = dwarf.member_path_offset(st, path)) {
        o.*f.member = static_cast<uint32_t>(*v);
        break;
      }
    }
  }
  return o;
}

std::optional<TableOffsets> offsets_from_table(const GoVersion& v) {
  const std::string want = v.major_minor();
  for (const auto& row : offsets_table()) {
    if (row.go_version != want) continue;
    TableOffsets t;
    t.go_version = want;
    for (const auto& e : row.offsets) {
      if (e.value < 0) continue;
      for (const auto& f : offset_fields())
        if (f.key == e.key) t.offsets.*f.member = static_cast<uint32_t>(e.value);
    }
    for (auto s : row.wait_reasons) t.wait_reasons.emplace_back(s);
    return t;
  }
  return std::nullopt;
}

namespace {

std::optional<std::vector<std::string>> read_string_array(const ElfFile& elf, uint64_t vaddr,
                                                          uint64_t bytes) {
  if (bytes == 0 || bytes % 16 != 0 || bytes > 16 * 4096) return std::nullopt;
  std::vector<std::string> out;
  for (uint64_t i = 0; i < bytes / 16; i++) {
    auto ptr = elf.read_pointer(vaddr + 16 * i);
    auto len = elf.read_pointer(vaddr + 16 * i + 8);
    if (!ptr || !len || *len > 4096) return std::nullopt;
    if (*len == 0) {
      out.emplace_back();
      continue;
    }
    auto b = elf.vaddr_bytes(*ptr, *len);
    if (b.size() != *len) return std::nullopt;
    out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  }
  return out;
}

}  // namespace

std::optional<std::vector<std::string>> read_wait_reasons(const ElfFile& elf, const DwarfTypes* dwarf,
                                                          std::string* source) {
  constexpr std::string_view kName = "runtime.waitReasonStrings";
  if (auto s = elf.find_symbol(kName); s && s->size) {
    if (auto v = read_string_array(elf, s->vaddr, s->size)) {
      if (source) *source = "symbol";
      return v;
    }
  }
  if (dwarf) {
    if (auto var = dwarf->variable(kName)) {
      if (auto v = read_string_array(elf, var->first, var->second)) {
        if (source) *source = "DWARF";
        return v;
      }
    }
  }
  return std::nullopt;
}

}  // namespace goscope::sym

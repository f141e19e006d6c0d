// The Go runtime structure offsets goscope reads in the target (BPF side and
// process-memory snapshot), from the binary's DWARF or, without DWARF, from the
// generated per-version table (offsets_table.h). Absent means: this Go version
// has no such field, or this binary never uses the type (the linker dropped it).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "symbolizer/buildinfo.h"
#include "symbolizer/dwarf_types.h"
#include "symbolizer/elf_file.h"

namespace goscope::sym {

using Offset = std::optional<uint32_t>;

struct GoOffsets {
  // runtime.g
  Offset g_goid, g_atomicstatus, g_waitreason, g_waiting, g_m, g_sched, g_sched_sp, g_sched_pc, g_sched_bp,
      g_gopc, g_startpc, g_parent_goid, g_waitsince, g_stack_lo, g_stack_hi, g_sched_ctxt, g_defer;
  // runtime.m
  Offset m_curg, m_procid;
  // runtime.hchan
  Offset hchan_qcount, hchan_dataqsiz, hchan_buf, hchan_elemsize, hchan_closed, hchan_elemtype, hchan_sendx,
      hchan_recvx, hchan_recvq, hchan_sendq, hchan_lock;
  // runtime.waitq
  Offset waitq_first, waitq_last;
  // runtime.sudog
  Offset sudog_g, sudog_next, sudog_prev, sudog_elem, sudog_is_select, sudog_waitlink, sudog_c;
  // sync.Mutex (its state lives in internal/sync.Mutex from Go 1.24 on: same offsets, through `mu`)
  Offset mutex_state, mutex_sema;
  // sync.RWMutex
  Offset rwmutex_w, rwmutex_writer_sem, rwmutex_reader_sem, rwmutex_reader_count, rwmutex_reader_wait;
  // sync.WaitGroup (state1/state2 before Go 1.20, state/sema after)
  Offset waitgroup_state, waitgroup_sema;
  // sync.Cond and runtime.notifyList
  Offset cond_l, cond_notify, notifylist_wait, notifylist_notify, notifylist_head, notifylist_tail;

  // The heap's span table (runtime/mheap.go): which object an address is in.
  Offset mheap_arenas, heaparena_spans, mspan_start_addr, mspan_npages, mspan_spanclass, mspan_state,
      mspan_elemsize, mspan_limit;
  // runtime.p: its timer heap (a slice: []*timer before Go 1.23, timers.heap []timerWhen after)
  Offset p_timers;

  bool operator==(const GoOffsets&) const = default;
};

// One offset: its stable key (used by the generated table and JSON), where it
// is in GoOffsets, and the DWARF (struct, member path) candidates, first match wins.
struct OffsetField {
  std::string_view key;
  Offset GoOffsets::*member;
  std::vector<std::pair<std::string_view, std::string_view>> dwarf;
};
const std::vector<OffsetField>& offset_fields();

// Offsets from DWARF. Fields whose type the binary lacks stay absent.
GoOffsets offsets_from_dwarf(const DwarfTypes& dwarf);

// Offsets and wait reasons of the generated table for this Go major.minor; nullopt if not in the table.
struct TableOffsets {
  std::string go_version;  // "1.22": the table row used
  GoOffsets offsets;
  std::vector<std::string> wait_reasons;
};
std::optional<TableOffsets> offsets_from_table(const GoVersion& v);

// runtime.waitReasonStrings read from the binary: via its symbol, else via DWARF.
// `source` says which ("symbol" or "DWARF").
std::optional<std::vector<std::string>> read_wait_reasons(const ElfFile& elf, const DwarfTypes* dwarf,
                                                          std::string* source);

}  // namespace goscope::sym

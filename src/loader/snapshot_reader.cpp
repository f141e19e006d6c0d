#include "loader/snapshot_reader.h"

#include "symbolizer/runtime_vars.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>

namespace goscope::loader {

namespace {

constexpr size_t kIovBatch = IOV_MAX < 1024 ? IOV_MAX : 1024;

int64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

template <typename T>
T load(std::span<const uint8_t> bytes, uint32_t offset) {
  T v{};
  if (offset + sizeof(T) <= bytes.size()) std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

std::optional<uint64_t> runtime_variable(const sym::GoBinary& binary, std::string_view name) {
  if (auto v = sym::find_runtime_variable(binary, name)) return v->vaddr;
  return std::nullopt;
}

uint32_t extent(std::initializer_list<sym::Offset> offsets) {
  uint32_t end = 0;
  for (const auto& o : offsets)
    if (o) end = std::max(end, *o + 8);
  return end;
}

// The fields of one g, decoded from its bytes.
struct GFields {
  uint64_t goid = 0;
  uint32_t raw_status = 0;
  uint64_t sched_sp = 0, sched_pc = 0, sched_bp = 0;
  uint64_t waiting = 0;
  bool operator==(const GFields&) const = default;
};

GFields decode_g(const sym::GoOffsets& o, std::span<const uint8_t> g) {
  GFields f;
  f.goid = load<uint64_t>(g, *o.g_goid);
  f.raw_status = load<uint32_t>(g, *o.g_atomicstatus);
  f.sched_sp = load<uint64_t>(g, *o.g_sched_sp);
  f.sched_pc = load<uint64_t>(g, *o.g_sched_pc);
  f.sched_bp = load<uint64_t>(g, *o.g_sched_bp);
  if (o.g_waiting) f.waiting = load<uint64_t>(g, *o.g_waiting);
  return f;
}

// Goroutines parked on a semaphore (sync.Mutex, RWMutex, WaitGroup: semacquire)
// are not on g.waiting: their sudogs sit in runtime.semtable, a hash of treaps keyed
// by semaphore address (sudog.prev / next the children, waitlink the other waiters
// on the same address, elem the address). g pointer -> semaphore address.
std::unordered_map<uint64_t, uint64_t> semaphore_waiters(const sym::GoBinary& binary,
                                                         const sym::ProcessImage& process,
                                                         MemoryReader& memory, size_t max_nodes) {
  std::unordered_map<uint64_t, uint64_t> out;
  const sym::GoOffsets& o = binary.offsets().offsets;
  if (!o.sudog_g || !o.sudog_prev || !o.sudog_next || !o.sudog_elem || !o.sudog_waitlink) return out;
  constexpr uint64_t kSemTabSize = 251;  // runtime/sema.go
  const auto var = sym::find_runtime_variable(binary, "runtime.semtable");
  if (!var) return out;
  const uint64_t table = var->vaddr, table_size = var->size;
  if (!table || table_size == 0 || table_size % kSemTabSize != 0) return out;
  const uint64_t entry = table_size / kSemTabSize;
  uint64_t treap_off = 8;  // semaRoot{lock mutex (one word); treap *sudog; nwait}
  if (const auto* d = binary.dwarf())
    if (auto t = d->member_offset("runtime.semaRoot", "treap")) treap_off = *t;
  if (treap_off + 8 > entry) return out;
  std::vector<uint8_t> tab(table_size);
  if (!memory.read(process.to_process(table), tab)) return out;

  const uint32_t sudog_size = extent({o.sudog_g, o.sudog_prev, o.sudog_next, o.sudog_elem, o.sudog_waitlink});
  std::vector<uint64_t> pending;
  for (uint64_t i = 0; i < kSemTabSize; i++)
    if (uint64_t root = load<uint64_t>(tab, static_cast<uint32_t>(i * entry + treap_off)))
      pending.push_back(root);
  std::unordered_map<uint64_t, bool> seen;
  std::vector<uint8_t> sg(sudog_size);
  while (!pending.empty() && seen.size() < max_nodes) {
    const uint64_t at = pending.back();
    pending.pop_back();
    if (!seen.emplace(at, true).second || !memory.read(at, sg)) continue;  // torn: a cycle or freed sudog
    const uint64_t g = load<uint64_t>(sg, *o.sudog_g), addr = load<uint64_t>(sg, *o.sudog_elem);
    if (g && addr) out.emplace(g, addr);
    for (uint32_t off : {*o.sudog_prev, *o.sudog_next, *o.sudog_waitlink})
      if (uint64_t next = load<uint64_t>(sg, off)) pending.push_back(next);
  }
  return out;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

bool ProcessMemory::read(uint64_t address, std::span<uint8_t> out) {
  if (out.empty()) return true;
  iovec local{out.data(), out.size()};
  iovec remote{reinterpret_cast<void*>(address), out.size()};  // NOLINT: a remote address
  const ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  if (n < 0) last_errno_ = errno;
  return n == static_cast<ssize_t>(out.size());
}

void ProcessMemory::read_batch(std::span<Request> requests) {
  size_t i = 0;
  while (i < requests.size()) {
    const size_t count = std::min(kIovBatch, requests.size() - i);
    std::vector<iovec> local(count), remote(count);
    for (size_t k = 0; k < count; k++) {
      local[k] = {requests[i + k].out.data(), requests[i + k].out.size()};
      remote[k] = {reinterpret_cast<void*>(requests[i + k].address), requests[i + k].out.size()};  // NOLINT
    }
    ssize_t n = process_vm_readv(pid_, local.data(), count, remote.data(), count, 0);
    if (n < 0) {
      last_errno_ = errno;
      n = 0;
    }
    // The kernel stops at the first remote range it cannot read: those before it are whole.
    size_t done = 0;
    auto left = static_cast<size_t>(n);
    while (done < count && requests[i + done].out.size() <= left) {
      requests[i + done].ok = true;
      left -= requests[i + done].out.size();
      done++;
    }
    if (done < count) {  // the failing one, alone; then go on after it
      requests[i + done].ok = read(requests[i + done].address, requests[i + done].out);
      done++;
    }
    i += done;
  }
}

std::optional<uint64_t> StackWindow::word(uint64_t address) const {
  if (address < base || address % 8 != 0 || address - base > bytes.size() ||
      bytes.size() - (address - base) < 8)
    return std::nullopt;
  uint64_t v;
  std::memcpy(&v, bytes.data() + (address - base), 8);
  return v;
}

StackWalk walk_frames(const StackWindow& stack, uint64_t pc, uint64_t bp, size_t max_depth) {
  StackWalk w;
  if (max_depth == 0) {
    w.state = model::StackState::kTruncated;
    return w;
  }
  w.pcs.push_back(pc);
  uint64_t previous_bp = 0;
  while (true) {
    if (bp == 0) return w;  // the goroutine's first frame: its caller is runtime.goexit or nothing
    const auto saved_bp = stack.word(bp);
    const auto ret = bp <= UINT64_MAX - 8 ? stack.word(bp + 8) : std::nullopt;
    if (!saved_bp || !ret || (previous_bp != 0 && bp <= previous_bp)) {
      const bool above_window = bp > previous_bp && bp - stack.base >= stack.bytes.size();
      w.state = stack.clipped && above_window ? model::StackState::kTruncated : model::StackState::kTorn;
      return w;
    }
    if (*ret == 0) return w;
    if (w.pcs.size() >= max_depth) {
      w.state = model::StackState::kTruncated;
      return w;
    }
    w.pcs.push_back(*ret);
    previous_bp = bp;
    bp = *saved_bp;
  }
}

Expected<model::ProcessSnapshot> read_snapshot(const sym::GoBinary& binary, const sym::ProcessImage& process,
                                               MemoryReader& memory, const SnapshotLimits& limits) {
  const sym::GoOffsets& o = binary.offsets().offsets;
  if (!o.g_goid || !o.g_atomicstatus || !o.g_sched_sp || !o.g_sched_pc || !o.g_sched_bp || !o.g_stack_lo ||
      !o.g_stack_hi)
    return make_error("the runtime.g offsets of this binary are unknown (offsets source: " +
                      binary.offsets().source + "); goscope cannot read its goroutines");

  model::ProcessSnapshot snap;
  snap.pid = process.pid();
  snap.taken_at_ns = monotonic_now_ns();

  // allgptr/allglen are what the runtime itself reads without its lock (atomicAllG):
  // the length first, then the pointer, so the pointer covers at least that many.
  const auto allglen_var = runtime_variable(binary, "runtime.allglen");
  const auto allgptr_var = runtime_variable(binary, "runtime.allgptr");
  const auto allgs_var = runtime_variable(binary, "runtime.allgs");
  if (!(allglen_var && allgptr_var) && !allgs_var)
    return make_error(
        std::string("cannot find runtime.allgs in this binary's ") +
        (binary.is_stripped() ? "code (it is stripped: no .symtab, no DWARF)" : "symbols or DWARF") +
        "; goscope cannot list its goroutines");

  auto read_u64 = [&](uint64_t vaddr) -> std::optional<uint64_t> {
    uint64_t v = 0;
    if (!memory.read(process.to_process(vaddr), {reinterpret_cast<uint8_t*>(&v), 8})) return std::nullopt;
    return v;
  };
  std::optional<uint64_t> len, base;
  if (allglen_var && allgptr_var) {
    len = read_u64(*allglen_var);
    base = read_u64(*allgptr_var);
  } else {  // the slice header in one read: pointer and length of the same moment
    uint64_t header[2];
    if (memory.read(process.to_process(*allgs_var), {reinterpret_cast<uint8_t*>(header), sizeof header})) {
      base = header[0];
      len = header[1];
    }
  }
  if (!len || !base) {
    const int err = memory.last_errno();
    std::string what = "cannot read the memory of process " + std::to_string(process.pid());
    if (err == ESRCH) return make_error(what + ": it has exited");
    if (err == EPERM || err == EACCES)
      return Error::from_errno(what + " (needs CAP_SYS_PTRACE, or run goscope as root)", err);
    return err ? Error::from_errno(what, err) : make_error(what);
  }
  if (*len > limits.max_goroutines)
    return make_error("runtime.allglen reads " + std::to_string(*len) +
                      ": not a plausible goroutine count; is this the right binary for the process?");
  snap.allglen = *len;

  std::vector<uint64_t> gptrs(*len);
  if (*len && !memory.read(*base, {reinterpret_cast<uint8_t*>(gptrs.data()), gptrs.size() * 8}))
    return make_error("cannot read runtime.allgs (" + std::to_string(*len) + " entries at " + hex(*base) +
                      ") of process " + std::to_string(process.pid()));

  const uint32_t g_size = extent({o.g_goid, o.g_atomicstatus, o.g_waitreason, o.g_waiting, o.g_sched_sp,
                                  o.g_sched_pc, o.g_sched_bp, o.g_gopc, o.g_startpc, o.g_parent_goid,
                                  o.g_waitsince, o.g_stack_lo, o.g_stack_hi});
  auto read_gs = [&](std::unique_ptr<uint8_t[]>& buf, std::vector<MemoryReader::Request>& reqs) {
    buf.reset(new uint8_t[gptrs.size() * g_size]);  // uninitialised: only read-back bytes are used
    reqs.clear();
    reqs.reserve(gptrs.size());
    for (size_t i = 0; i < gptrs.size(); i++) reqs.push_back({gptrs[i], {buf.get() + i * g_size, g_size}});
    memory.read_batch(reqs);
  };
  std::unique_ptr<uint8_t[]> gbuf;
  std::vector<MemoryReader::Request> greqs;
  read_gs(gbuf, greqs);

  const uint32_t sudog_size = extent({o.sudog_c, o.sudog_waitlink, o.sudog_is_select, o.sudog_elem});
  const auto& reasons = binary.offsets().wait_reasons;
  std::vector<size_t> kept;  // index into gptrs of each goroutine in snap.goroutines
  struct StackJob {
    size_t goroutine;  // index in snap.goroutines
    uint64_t sp, pc, bp;
    size_t size;   // bytes of stack to read, from sp up
    bool clipped;  // the stack is larger than what is read
  };
  std::vector<StackJob> stack_jobs;
  struct SudogJob {
    size_t goroutine;
    uint64_t address;
  };
  std::vector<SudogJob> sudog_jobs;
  snap.goroutines.reserve(gptrs.size());
  kept.reserve(gptrs.size());
  for (size_t i = 0; i < gptrs.size(); i++) {
    if (gptrs[i] != 0) snap.g_addresses.push_back(gptrs[i]);
    if (!greqs[i].ok || gptrs[i] == 0) {
      snap.unreadable_gs++;
      continue;
    }
    const std::span<const uint8_t> g(gbuf.get() + i * g_size, g_size);
    const GFields f = decode_g(o, g);
    const uint32_t status = f.raw_status & ~model::kGScanBit;
    if (status == static_cast<uint32_t>(model::GStatus::kDead) ||
        status == static_cast<uint32_t>(model::GStatus::kIdle)) {
      snap.dead_skipped++;
      continue;
    }
    const size_t k = snap.goroutines.size();
    model::GoroutineSnapshot s;
    s.goid = f.goid;
    s.g_address = gptrs[i];
    s.status = status;
    s.scan_bit = (f.raw_status & model::kGScanBit) != 0;
    s.stack_lo = load<uint64_t>(g, *o.g_stack_lo);
    s.stack_hi = load<uint64_t>(g, *o.g_stack_hi);
    s.sched_sp = f.sched_sp;
    s.sched_pc = f.sched_pc;
    s.sched_bp = f.sched_bp;
    if (o.g_waitreason && status == static_cast<uint32_t>(model::GStatus::kWaiting)) {
      s.wait_reason = load<uint8_t>(g, *o.g_waitreason);
      if (s.wait_reason < reasons.size()) s.wait_reason_name = reasons[s.wait_reason];
    }
    if (o.g_waitsince) {
      const auto since = load<int64_t>(g, *o.g_waitsince);
      if (since != 0) s.wait_since_ns = since;
    }
    if (o.g_gopc) s.go_pc = load<uint64_t>(g, *o.g_gopc);
    if (o.g_startpc) s.start_pc = load<uint64_t>(g, *o.g_startpc);
    if (o.g_parent_goid) s.parent_goid = load<uint64_t>(g, *o.g_parent_goid);

    // Waited-on channels: g.waiting is the sudog list of a channel operation or a
    // select (linked by waitlink), set while it is parked in one.
    if (f.waiting && o.sudog_c && o.sudog_waitlink &&
        status == static_cast<uint32_t>(model::GStatus::kWaiting))
      sudog_jobs.push_back({k, f.waiting});

    // The stack, from the registers the scheduler saved when it last switched away.
    if (status == static_cast<uint32_t>(model::GStatus::kRunning)) {
      s.stack_state = model::StackState::kRunning;
    } else {
      s.from_syscall = status == static_cast<uint32_t>(model::GStatus::kSyscall);
      const auto lo = load<uint64_t>(g, *o.g_stack_lo), hi = load<uint64_t>(g, *o.g_stack_hi);
      if (f.sched_sp < lo || f.sched_sp >= hi || f.sched_pc == 0)
        s.stack_state = model::StackState::kTorn;
      else
        stack_jobs.push_back(
            {k, f.sched_sp, f.sched_pc, f.sched_bp,
             static_cast<size_t>(std::min<uint64_t>(hi - f.sched_sp, limits.max_stack_bytes)),
             hi - f.sched_sp > limits.max_stack_bytes});
    }
    snap.goroutines.push_back(std::move(s));
    kept.push_back(i);
  }

  // Sudog lists, one link of every list per batch.
  std::vector<size_t> chain_length(snap.goroutines.size(), 0);
  while (!sudog_jobs.empty()) {
    std::vector<uint8_t> buf(sudog_jobs.size() * sudog_size);
    std::vector<MemoryReader::Request> reqs;
    reqs.reserve(sudog_jobs.size());
    for (size_t n = 0; n < sudog_jobs.size(); n++)
      reqs.push_back({sudog_jobs[n].address, {buf.data() + n * sudog_size, sudog_size}});
    memory.read_batch(reqs);
    std::vector<SudogJob> next;
    for (size_t n = 0; n < sudog_jobs.size(); n++) {
      model::GoroutineSnapshot& s = snap.goroutines[sudog_jobs[n].goroutine];
      if (!reqs[n].ok) {
        s.inconsistent = true;
        s.inconsistency = "its sudog list could not be read";
        continue;
      }
      const std::span<const uint8_t> sg(buf.data() + n * sudog_size, sudog_size);
      model::WaitedObject w;
      w.address = load<uint64_t>(sg, *o.sudog_c);
      if (o.sudog_is_select) w.in_select = load<uint8_t>(sg, *o.sudog_is_select) != 0;
      if (w.address) s.waiting_on.push_back(w);
      const uint64_t link = load<uint64_t>(sg, *o.sudog_waitlink);
      if (link && ++chain_length[sudog_jobs[n].goroutine] < limits.max_waiting)
        next.push_back({sudog_jobs[n].goroutine, link});
    }
    sudog_jobs = std::move(next);
  }

  // Stacks, batched into one reused buffer (bounded), then walked. `second` walks
  // them again after everything else was read: a stack that differs was torn.
  const size_t arena_size = std::max<size_t>(32 << 20, limits.max_stack_bytes);
  std::unique_ptr<uint8_t[]> arena;  // uninitialised: every byte used is read first
  std::vector<MemoryReader::Request> reqs;
  const uint64_t text_lo = process.to_process(binary.pclntab().text_start());
  const uint64_t text_hi = process.to_process(binary.pclntab().text_end());
  // Every frame is Go code: a return address outside the text is a torn read.
  auto walk_go = [&](const StackJob& job, std::span<const uint8_t> bytes) {
    StackWalk w = walk_frames({job.sp, bytes, job.clipped}, job.pc, job.bp, limits.max_depth);
    // Before Go 1.23 entering a syscall saves no frame pointer (sched.bp is 0):
    // the walk stops after the first frame, which is not the whole stack.
    if (job.bp == 0 && w.pcs.size() == 1 && snap.goroutines[job.goroutine].from_syscall)
      w.state = model::StackState::kTruncated;
    for (size_t f = 0; f < w.pcs.size(); f++) {
      if (w.pcs[f] < text_lo || w.pcs[f] >= text_hi) {
        w.pcs.resize(f);
        w.state = model::StackState::kTorn;
        break;
      }
    }
    return w;
  };
  auto walk_stacks = [&](bool second) {
    for (size_t first = 0; first < stack_jobs.size();) {
      size_t last = first, bytes = 0;
      reqs.clear();
      while (last < stack_jobs.size() && bytes + stack_jobs[last].size <= arena_size) {
        if (!arena) arena.reset(new uint8_t[arena_size]);
        reqs.push_back({stack_jobs[last].sp, {arena.get() + bytes, stack_jobs[last].size}});
        bytes += stack_jobs[last++].size;
      }
      memory.read_batch(reqs);
      for (size_t n = first; n < last; n++) {
        const StackJob& job = stack_jobs[n];
        model::GoroutineSnapshot& s = snap.goroutines[job.goroutine];
        const auto& r = reqs[n - first];
        if (!second) {
          if (!r.ok) {
            s.stack_state = model::StackState::kUnreadable;
          } else {
            StackWalk w = walk_go(job, r.out);
            s.stack = std::move(w.pcs);
            s.stack_state = w.state;
          }
        } else if (s.stack_state != model::StackState::kUnreadable && !s.inconsistent &&
                   (!r.ok || walk_go(job, r.out).pcs != s.stack)) {
          s.inconsistent = true;
          s.inconsistency = "its stack changed while being read";
        }
      }
      first = last;
    }
  };
  walk_stacks(false);

  // Semaphore waits: only where the goroutine itself says it is parked.
  const auto sema = semaphore_waiters(binary, process, memory, limits.max_goroutines);
  for (auto& s : snap.goroutines) {
    if (s.status != static_cast<uint32_t>(model::GStatus::kWaiting) || !s.waiting_on.empty()) continue;
    if (auto it = sema.find(s.g_address); it != sema.end())
      s.waiting_on.push_back({model::WaitedObject::Kind::kSemaphore, it->second, false});
  }

  // Read every g again: one that changed meanwhile is marked, never silently mixed.
  std::unique_ptr<uint8_t[]> gbuf2;
  std::vector<MemoryReader::Request> greqs2;
  read_gs(gbuf2, greqs2);
  for (size_t k = 0; k < kept.size(); k++) {
    const size_t i = kept[k];
    model::GoroutineSnapshot& s = snap.goroutines[k];
    if (!greqs2[i].ok) {
      s.inconsistent = true;
      s.inconsistency = "it could not be read a second time";
      continue;
    }
    const GFields a = decode_g(o, {gbuf.get() + i * g_size, g_size});
    const GFields b = decode_g(o, {gbuf2.get() + i * g_size, g_size});
    const bool running = s.status == static_cast<uint32_t>(model::GStatus::kRunning);
    const bool same =
        a.goid == b.goid && (a.raw_status & ~model::kGScanBit) == (b.raw_status & ~model::kGScanBit) &&
        (running || (a.sched_sp == b.sched_sp && a.sched_pc == b.sched_pc && a.waiting == b.waiting));
    if (!same) {
      s.inconsistent = true;
      s.inconsistency = "it ran while being read (status " + std::string(model::status_name(s.status)) +
                        " -> " + model::status_name(b.raw_status & ~model::kGScanBit) + ")";
    }
  }
  walk_stacks(true);
  return snap;
}

}  // namespace goscope::loader

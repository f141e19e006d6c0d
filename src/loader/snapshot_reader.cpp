#include "loader/snapshot_reader.h"

#include "symbolizer/runtime_vars.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>

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

namespace {

// One stack to read and walk.
struct StackJob {
  size_t goroutine;  // index in snap.goroutines
  uint64_t sp, pc, bp;
  size_t size;   // bytes of stack to read, from sp up
  bool clipped;  // the stack is larger than what is read
};

// One sudog of a goroutine's g.waiting list to read.
struct SudogJob {
  size_t goroutine;
  uint64_t address;
};

// The state of one read_snapshot() call, shared by its phases: the g pointers and the
// first copy of every g (compared with a second one at the end), the reads queued for
// sudogs and stacks, and the snapshot being filled. Each phase runs once, in the order
// read_snapshot calls them.
class SnapshotRead {
 public:
  SnapshotRead(const sym::GoBinary& binary, const sym::ProcessImage& process, MemoryReader& memory,
               const SnapshotLimits& limits)
      : binary_(binary),
        process_(process),
        memory_(memory),
        limits_(limits),
        o_(binary.offsets().offsets),
        g_size_(extent({o_.g_goid, o_.g_atomicstatus, o_.g_waitreason, o_.g_waiting, o_.g_sched_sp,
                        o_.g_sched_pc, o_.g_sched_bp, o_.g_gopc, o_.g_startpc, o_.g_parent_goid,
                        o_.g_waitsince, o_.g_stack_lo, o_.g_stack_hi})),
        text_lo_(process.to_process(binary.pclntab().text_start())),
        text_hi_(process.to_process(binary.pclntab().text_end())) {
    snap_.pid = process.pid();
    snap_.taken_at_ns = monotonic_now_ns();
  }

  Expected<void> read_allgs();
  void read_gs() { read_g_copy(gbuf_, greqs_); }
  void decode_goroutines();
  void read_sudog_lists();
  void walk_stacks(bool second);
  void add_semaphore_waits();
  void recheck_gs();
  model::ProcessSnapshot take() { return std::move(snap_); }

 private:
  void read_g_copy(std::unique_ptr<uint8_t[]>& buf, std::vector<MemoryReader::Request>& reqs);
  Expected<std::pair<uint64_t, uint64_t>> allg_slice();
  Error unreadable_process_error() const;
  model::GoroutineSnapshot decode_goroutine(size_t i, const GFields& f, uint32_t status);
  void queue_reads(size_t k, std::span<const uint8_t> g, const GFields& f, uint32_t status,
                   model::GoroutineSnapshot& s);
  void read_sudog_links();
  StackWalk walk_go(const StackJob& job, std::span<const uint8_t> bytes) const;

  const sym::GoBinary& binary_;
  const sym::ProcessImage& process_;
  MemoryReader& memory_;
  const SnapshotLimits& limits_;
  const sym::GoOffsets& o_;
  const uint32_t g_size_;
  const uint32_t sudog_size_ = extent({o_.sudog_c, o_.sudog_waitlink, o_.sudog_is_select, o_.sudog_elem});
  const uint64_t text_lo_, text_hi_;

  model::ProcessSnapshot snap_;
  std::vector<uint64_t> gptrs_;
  std::unique_ptr<uint8_t[]> gbuf_;  // the first copy of every g
  std::vector<MemoryReader::Request> greqs_;
  std::vector<size_t> kept_;  // index into gptrs_ of each goroutine in snap_.goroutines
  std::vector<StackJob> stack_jobs_;
  std::vector<SudogJob> sudog_jobs_;
  std::vector<size_t> chain_length_;
  // Stacks are batched into one reused buffer (bounded).
  const size_t arena_size_ = std::max<size_t>(32 << 20, limits_.max_stack_bytes);
  std::unique_ptr<uint8_t[]> arena_;  // uninitialised: every byte used is read first
  std::vector<MemoryReader::Request> reqs_;
};

// The pointer and length of allgs.
Expected<std::pair<uint64_t, uint64_t>> SnapshotRead::allg_slice() {
  // allgptr/allglen are what the runtime itself reads without its lock (atomicAllG):
  // the length first, then the pointer, so the pointer covers at least that many.
  const auto allglen_var = runtime_variable(binary_, "runtime.allglen");
  const auto allgptr_var = runtime_variable(binary_, "runtime.allgptr");
  const auto allgs_var = runtime_variable(binary_, "runtime.allgs");
  if (!(allglen_var && allgptr_var) && !allgs_var)
    return make_error(
        std::string("cannot find runtime.allgs in this binary's ") +
        (binary_.is_stripped() ? "code (it is stripped: no .symtab, no DWARF)" : "symbols or DWARF") +
        "; goscope cannot list its goroutines");

  auto read_u64 = [&](uint64_t vaddr) -> std::optional<uint64_t> {
    uint64_t v = 0;
    if (!memory_.read(process_.to_process(vaddr), {reinterpret_cast<uint8_t*>(&v), 8})) return std::nullopt;
    return v;
  };
  std::optional<uint64_t> len, base;
  if (allglen_var && allgptr_var) {
    len = read_u64(*allglen_var);
    base = read_u64(*allgptr_var);
  } else {  // the slice header in one read: pointer and length of the same moment
    uint64_t header[2];
    if (memory_.read(process_.to_process(*allgs_var), {reinterpret_cast<uint8_t*>(header), sizeof header})) {
      base = header[0];
      len = header[1];
    }
  }
  if (!len || !base) return unreadable_process_error();
  return std::make_pair(*base, *len);
}

Error SnapshotRead::unreadable_process_error() const {
  const int err = memory_.last_errno();
  std::string what = "cannot read the memory of process " + std::to_string(process_.pid());
  if (err == ESRCH) return make_error(what + ": it has exited");
  if (err == EPERM || err == EACCES)
    return Error::from_errno(what + " (needs CAP_SYS_PTRACE, or run goscope as root)", err);
  return err ? Error::from_errno(what, err) : make_error(what);
}

// The g pointers of allgs.
Expected<void> SnapshotRead::read_allgs() {
  GS_TRY(const auto slice, allg_slice());
  const auto [base, len] = slice;
  if (len > limits_.max_goroutines)
    return make_error("runtime.allglen reads " + std::to_string(len) +
                      ": not a plausible goroutine count; is this the right binary for the process?");
  snap_.allglen = len;
  gptrs_.resize(len);
  if (len && !memory_.read(base, {reinterpret_cast<uint8_t*>(gptrs_.data()), gptrs_.size() * 8}))
    return make_error("cannot read runtime.allgs (" + std::to_string(len) + " entries at " + hex(base) +
                      ") of process " + std::to_string(process_.pid()));
  return {};
}

void SnapshotRead::read_g_copy(std::unique_ptr<uint8_t[]>& buf, std::vector<MemoryReader::Request>& reqs) {
  buf.reset(new uint8_t[gptrs_.size() * g_size_]);  // uninitialised: only read-back bytes are used
  reqs.clear();
  reqs.reserve(gptrs_.size());
  for (size_t i = 0; i < gptrs_.size(); i++) reqs.push_back({gptrs_[i], {buf.get() + i * g_size_, g_size_}});
  memory_.read_batch(reqs);
}

// Every live g of the first copy into snap_.goroutines, queueing its sudog and stack reads.
void SnapshotRead::decode_goroutines() {
  snap_.goroutines.reserve(gptrs_.size());
  kept_.reserve(gptrs_.size());
  for (size_t i = 0; i < gptrs_.size(); i++) {
    if (gptrs_[i] != 0) snap_.g_addresses.push_back(gptrs_[i]);
    if (!greqs_[i].ok || gptrs_[i] == 0) {
      snap_.unreadable_gs++;
      continue;
    }
    const std::span<const uint8_t> g(gbuf_.get() + i * g_size_, g_size_);
    const GFields f = decode_g(o_, g);
    const uint32_t status = f.raw_status & ~model::kGScanBit;
    if (status == static_cast<uint32_t>(model::GStatus::kDead) ||
        status == static_cast<uint32_t>(model::GStatus::kIdle)) {
      snap_.dead_skipped++;
      continue;
    }
    model::GoroutineSnapshot s = decode_goroutine(i, f, status);
    queue_reads(snap_.goroutines.size(), g, f, status, s);
    snap_.goroutines.push_back(std::move(s));
    kept_.push_back(i);
  }
}

model::GoroutineSnapshot SnapshotRead::decode_goroutine(size_t i, const GFields& f, uint32_t status) {
  const std::span<const uint8_t> g(gbuf_.get() + i * g_size_, g_size_);
  const auto& reasons = binary_.offsets().wait_reasons;
  model::GoroutineSnapshot s;
  s.goid = f.goid;
  s.g_address = gptrs_[i];
  s.status = status;
  s.scan_bit = (f.raw_status & model::kGScanBit) != 0;
  s.stack_lo = load<uint64_t>(g, *o_.g_stack_lo);
  s.stack_hi = load<uint64_t>(g, *o_.g_stack_hi);
  s.sched_sp = f.sched_sp;
  s.sched_pc = f.sched_pc;
  s.sched_bp = f.sched_bp;
  if (o_.g_waitreason && status == static_cast<uint32_t>(model::GStatus::kWaiting)) {
    s.wait_reason = load<uint8_t>(g, *o_.g_waitreason);
    if (s.wait_reason < reasons.size()) s.wait_reason_name = reasons[s.wait_reason];
  }
  if (o_.g_waitsince) {
    const auto since = load<int64_t>(g, *o_.g_waitsince);
    if (since != 0) s.wait_since_ns = since;
  }
  if (o_.g_gopc) s.go_pc = load<uint64_t>(g, *o_.g_gopc);
  if (o_.g_startpc) s.start_pc = load<uint64_t>(g, *o_.g_startpc);
  if (o_.g_parent_goid) s.parent_goid = load<uint64_t>(g, *o_.g_parent_goid);
  return s;
}

// Goroutine k's sudog list and stack, to be read in batches with everyone else's.
void SnapshotRead::queue_reads(size_t k, std::span<const uint8_t> g, const GFields& f, uint32_t status,
                               model::GoroutineSnapshot& s) {
  // Waited-on channels: g.waiting is the sudog list of a channel operation or a
  // select (linked by waitlink), set while it is parked in one.
  if (f.waiting && o_.sudog_c && o_.sudog_waitlink &&
      status == static_cast<uint32_t>(model::GStatus::kWaiting))
    sudog_jobs_.push_back({k, f.waiting});

  // The stack, from the registers the scheduler saved when it last switched away.
  if (status == static_cast<uint32_t>(model::GStatus::kRunning)) {
    s.stack_state = model::StackState::kRunning;
  } else {
    s.from_syscall = status == static_cast<uint32_t>(model::GStatus::kSyscall);
    const auto lo = load<uint64_t>(g, *o_.g_stack_lo), hi = load<uint64_t>(g, *o_.g_stack_hi);
    if (f.sched_sp < lo || f.sched_sp >= hi || f.sched_pc == 0)
      s.stack_state = model::StackState::kTorn;
    else
      stack_jobs_.push_back(
          {k, f.sched_sp, f.sched_pc, f.sched_bp,
           static_cast<size_t>(std::min<uint64_t>(hi - f.sched_sp, limits_.max_stack_bytes)),
           hi - f.sched_sp > limits_.max_stack_bytes});
  }
}

// Sudog lists, one link of every list per batch.
void SnapshotRead::read_sudog_lists() {
  chain_length_.assign(snap_.goroutines.size(), 0);
  while (!sudog_jobs_.empty()) read_sudog_links();
}

void SnapshotRead::read_sudog_links() {
  std::vector<uint8_t> buf(sudog_jobs_.size() * sudog_size_);
  std::vector<MemoryReader::Request> reqs;
  reqs.reserve(sudog_jobs_.size());
  for (size_t n = 0; n < sudog_jobs_.size(); n++)
    reqs.push_back({sudog_jobs_[n].address, {buf.data() + n * sudog_size_, sudog_size_}});
  memory_.read_batch(reqs);
  std::vector<SudogJob> next;
  for (size_t n = 0; n < sudog_jobs_.size(); n++) {
    model::GoroutineSnapshot& s = snap_.goroutines[sudog_jobs_[n].goroutine];
    if (!reqs[n].ok) {
      s.inconsistent = true;
      s.inconsistency = "its sudog list could not be read";
      continue;
    }
    const std::span<const uint8_t> sg(buf.data() + n * sudog_size_, sudog_size_);
    model::WaitedObject w;
    w.address = load<uint64_t>(sg, *o_.sudog_c);
    if (o_.sudog_is_select) w.in_select = load<uint8_t>(sg, *o_.sudog_is_select) != 0;
    if (w.address) s.waiting_on.push_back(w);
    const uint64_t link = load<uint64_t>(sg, *o_.sudog_waitlink);
    if (link && ++chain_length_[sudog_jobs_[n].goroutine] < limits_.max_waiting)
      next.push_back({sudog_jobs_[n].goroutine, link});
  }
  sudog_jobs_ = std::move(next);
}

// Every frame is Go code: a return address outside the text is a torn read.
StackWalk SnapshotRead::walk_go(const StackJob& job, std::span<const uint8_t> bytes) const {
  StackWalk w = walk_frames({job.sp, bytes, job.clipped}, job.pc, job.bp, limits_.max_depth);
  // Before Go 1.23 entering a syscall saves no frame pointer (sched.bp is 0):
  // the walk stops after the first frame, which is not the whole stack.
  if (job.bp == 0 && w.pcs.size() == 1 && snap_.goroutines[job.goroutine].from_syscall)
    w.state = model::StackState::kTruncated;
  for (size_t f = 0; f < w.pcs.size(); f++) {
    if (w.pcs[f] < text_lo_ || w.pcs[f] >= text_hi_) {
      w.pcs.resize(f);
      w.state = model::StackState::kTorn;
      break;
    }
  }
  return w;
}

// Stacks, batched into one reused buffer (bounded), then walked. `second` walks
// them again after everything else was read: a stack that differs was torn.
void SnapshotRead::walk_stacks(bool second) {
  for (size_t first = 0; first < stack_jobs_.size();) {
    size_t last = first, bytes = 0;
    reqs_.clear();
    while (last < stack_jobs_.size() && bytes + stack_jobs_[last].size <= arena_size_) {
      if (!arena_) arena_.reset(new uint8_t[arena_size_]);
      reqs_.push_back({stack_jobs_[last].sp, {arena_.get() + bytes, stack_jobs_[last].size}});
      bytes += stack_jobs_[last++].size;
    }
    memory_.read_batch(reqs_);
    for (size_t n = first; n < last; n++) {
      const StackJob& job = stack_jobs_[n];
      model::GoroutineSnapshot& s = snap_.goroutines[job.goroutine];
      const auto& r = reqs_[n - first];
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
}

// Semaphore waits: only where the goroutine itself says it is parked.
void SnapshotRead::add_semaphore_waits() {
  const auto sema = semaphore_waiters(binary_, process_, memory_, limits_.max_goroutines);
  for (auto& s : snap_.goroutines) {
    if (s.status != static_cast<uint32_t>(model::GStatus::kWaiting) || !s.waiting_on.empty()) continue;
    if (auto it = sema.find(s.g_address); it != sema.end())
      s.waiting_on.push_back({model::WaitedObject::Kind::kSemaphore, it->second, false});
  }
}

// Read every g again: one that changed meanwhile is marked, never silently mixed.
void SnapshotRead::recheck_gs() {
  std::unique_ptr<uint8_t[]> gbuf2;
  std::vector<MemoryReader::Request> greqs2;
  read_g_copy(gbuf2, greqs2);
  for (size_t k = 0; k < kept_.size(); k++) {
    const size_t i = kept_[k];
    model::GoroutineSnapshot& s = snap_.goroutines[k];
    if (!greqs2[i].ok) {
      s.inconsistent = true;
      s.inconsistency = "it could not be read a second time";
      continue;
    }
    const GFields a = decode_g(o_, {gbuf_.get() + i * g_size_, g_size_});
    const GFields b = decode_g(o_, {gbuf2.get() + i * g_size_, g_size_});
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
}

}  // namespace

Expected<model::ProcessSnapshot> read_snapshot(const sym::GoBinary& binary, const sym::ProcessImage& process,
                                               MemoryReader& memory, const SnapshotLimits& limits) {
  const sym::GoOffsets& o = binary.offsets().offsets;
  if (!o.g_goid || !o.g_atomicstatus || !o.g_sched_sp || !o.g_sched_pc || !o.g_sched_bp || !o.g_stack_lo ||
      !o.g_stack_hi)
    return make_error("the runtime.g offsets of this binary are unknown (offsets source: " +
                      binary.offsets().source + "); goscope cannot read its goroutines");

  SnapshotRead read(binary, process, memory, limits);
  GS_CHECK(read.read_allgs());
  read.read_gs();
  read.decode_goroutines();
  read.read_sudog_lists();
  read.walk_stacks(false);
  read.add_semaphore_waits();
  read.recheck_gs();
  read.walk_stacks(true);
  return read.take();
}

}  // namespace goscope::loader

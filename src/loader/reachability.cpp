#include "loader/reachability.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "symbolizer/runtime_vars.h"

namespace goscope::loader {

namespace {

// linux/amd64 (runtime/malloc.go): arenaL1Bits = 0, so mheap_.arenas[0] is the one
// L2 array of 1 << 22 *heapArena, indexed by (addr - arenaBaseOffset) >> 26.
constexpr uint64_t kArenaBaseOffset = 0xffff800000000000ull;
constexpr uint64_t kLogHeapArenaBytes = 26;
constexpr uint64_t kArenaL2Entries = 1ull << 22;
constexpr uint64_t kPageSize = 8192;
constexpr uint64_t kPagesPerArena = (1ull << kLogHeapArenaBytes) / kPageSize;
constexpr uint8_t kSpanInUse = 1;  // mSpanInUse; stacks are mSpanManual (2) and never followed
// Addresses below this or at/above the user-space limit are never heap pointers.
constexpr uint64_t kMinPointer = 4096;
constexpr uint64_t kMaxUserAddress = 0x0000800000000000ull;
constexpr size_t kMaxFrames = 100'000;
constexpr uint64_t kMallocHeader = 8;  // Go 1.22+: objects > 512 bytes start with their type

using Clock = std::chrono::steady_clock;

std::optional<uint64_t> word_in(std::span<const uint8_t> bytes, uint64_t base, uint64_t address) {
  return StackWindow{base, bytes}.word(address);
}

template <typename T>
T load(std::span<const uint8_t> bytes, uint64_t offset) {
  T v{};
  if (offset + sizeof(T) <= bytes.size()) std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

uint32_t extent(std::initializer_list<sym::Offset> offsets) {
  uint32_t end = 0;
  for (const auto& o : offsets)
    if (o) end = std::max(end, *o + 8);
  return end;
}

}  // namespace

StackRoots scan_stack(const sym::GoBinary& binary, uint64_t bias, std::span<const uint8_t> bytes,
                      uint64_t base, uint64_t lo, uint64_t hi, uint64_t sp, uint64_t pc, bool precise) {
  StackRoots out;
  std::vector<std::string> names;
  std::unordered_map<std::string_view, uint32_t> name_ids;
  auto intern = [&](std::string_view name) {
    auto [it, fresh] = name_ids.emplace(name, static_cast<uint32_t>(names.size()));
    if (fresh) names.emplace_back(name);
    return it->second;
  };
  std::vector<std::pair<uint64_t, uint32_t>> found;  // word, frame function
  std::vector<uint64_t> into_stack;                  // words pointing into this very stack
  auto add = [&](uint64_t v, uint32_t fn) {
    if (v >= lo && v < hi)
      into_stack.push_back(v);
    else if (v >= kMinPointer && v < kMaxUserAddress)
      found.push_back({v, fn});
  };
  auto scan_range = [&](uint64_t from, uint64_t to, uint32_t fn) {
    for (uint64_t a = (from + 7) & ~uint64_t{7}; a + 8 <= to; a += 8)
      if (auto w = word_in(bytes, base, a)) add(*w, fn);
  };
  auto scan_bitmap = [&](uint64_t at, std::span<const uint8_t> bitmap, int32_t nbit, uint32_t fn) {
    for (int32_t i = 0; i < nbit; i++)
      if (bitmap[static_cast<size_t>(i) / 8] >> (i % 8) & 1)
        if (auto w = word_in(bytes, base, at + 8 * static_cast<uint64_t>(i))) add(*w, fn);
  };
  struct StackObject {
    uint64_t at, size;
    uint32_t fn;
    bool scanned = false;
  };
  std::vector<StackObject> objects;

  const sym::Pclntab& pt = binary.pclntab();
  const uint64_t end = base + bytes.size();
  uint64_t frame_sp = sp, frame_pc = pc;
  bool failed = !precise;
  bool conservative_next = false;  // the frame below was asyncPreempt: this one stopped anywhere
  for (size_t depth = 0; !failed; depth++) {
    const auto fn = depth < kMaxFrames ? pt.function_at(frame_pc - bias) : std::nullopt;
    const auto delta = fn ? pt.sp_delta(*fn, frame_pc - bias) : std::nullopt;
    if (!fn || !delta || frame_sp < base || frame_sp + *delta + 8 > std::min(hi, end)) {
      failed = true;
      break;
    }
    const std::string_view name = pt.function_name(*fn);
    const uint32_t id = intern(name);
    // runtime/traceback.go: fp is the caller's SP (above the return address); varp is
    // below the saved frame pointer; arguments (spill slots and stack arguments) are at fp.
    const uint64_t fp = frame_sp + static_cast<uint64_t>(*delta) + 8;
    uint64_t varp = fp - 8;
    if (varp > frame_sp) varp -= 8;
    const uint64_t argp = fp;
    const int32_t args = pt.args_size(*fn);
    const bool async = name == "runtime.asyncPreempt" || name == "runtime.debugCallV2";
    if (conservative_next || async) {
      // runtime/mgcmark.go scanframeworker: asyncPreempt saved every register of the
      // frame it interrupted, which stopped between safe points: both are scanned whole.
      scan_range(frame_sp, varp, id);
      if (args > 0) scan_range(argp, argp + static_cast<uint64_t>(args), id);
      conservative_next = async;
      out.frames_conservative++;
    } else {
      // runtime/stkframe.go getStackMap: the maps of the CALL instruction (the return
      // address minus one), the entry maps (index 0) at the entry or without an index.
      const uint64_t vaddr = frame_pc - bias;
      int32_t index = -1;
      if (vaddr != pt.function_entry(*fn)) index = pt.pcdata_value(*fn, sym::kPcdataStackMapIndex, vaddr - 1);
      if (index == -1) index = 0;
      bool conservative = false;
      if (varp > frame_sp) {
        const auto locals = pt.stack_map(*fn, sym::kFuncdataLocalsPointerMaps);
        if (!locals || locals->n <= 0) {
          scan_range(frame_sp, varp, id);  // no map (assembly): every word
          conservative = true;
        } else if (locals->nbit > 0) {
          const auto bitmap = locals->bitmap(index);
          if (bitmap.empty()) {
            scan_range(frame_sp, varp, id);
            conservative = true;
          } else {
            scan_bitmap(varp - 8 * static_cast<uint64_t>(locals->nbit), bitmap, locals->nbit, id);
          }
        }
      }
      if (args != sym::kArgsSizeUnknown && args > 0) {
        const auto in = pt.stack_map(*fn, sym::kFuncdataArgsPointerMaps);
        if (!in || in->n <= 0) {
          scan_range(argp, argp + static_cast<uint64_t>(args), id);
          conservative = true;
        } else if (in->nbit > 0) {
          const auto bitmap = in->bitmap(index);
          if (bitmap.empty()) {
            scan_range(argp, argp + static_cast<uint64_t>(args), id);
            conservative = true;
          } else {
            scan_bitmap(argp, bitmap, in->nbit, id);
          }
        }
      }
      for (const auto& r : pt.stack_objects(*fn)) {
        const uint64_t at = (r.off >= 0 ? argp : varp) + static_cast<uint64_t>(static_cast<int64_t>(r.off));
        if (at < frame_sp || r.size <= 0) continue;  // not allocated in the frame yet
        objects.push_back({at, static_cast<uint64_t>(r.size), id});
      }
      (conservative ? out.frames_conservative : out.frames_precise)++;
    }
    const uint8_t flags = pt.flags(*fn);
    if ((flags & sym::kFuncFlagTopFrame) || name == "runtime.goexit") break;
    if (flags & sym::kFuncFlagSpWrite) {  // the runtime cannot unwind through it either
      frame_sp = fp;
      failed = true;
      break;
    }
    const auto ret = word_in(bytes, base, fp - 8);
    if (!ret) {
      failed = true;
      break;
    }
    if (*ret == 0) break;
    frame_sp = fp;
    frame_pc = *ret;
  }
  if (failed) {
    // The rest of the stack, every word: safe, if imprecise.
    out.whole_stack_conservative = true;
    scan_range(std::max(frame_sp, base), std::min(hi, end),
               intern(precise ? "unwinding failed" : "conservative"));
  }

  // Stack objects (address-taken locals) are live only when a live pointer reaches
  // them, as in the runtime: otherwise a dead one (e.g. the argument array of an
  // earlier fmt call) would keep whatever it held.
  std::sort(objects.begin(), objects.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
  while (!into_stack.empty()) {
    const uint64_t p = into_stack.back();
    into_stack.pop_back();
    for (auto& o : objects) {
      if (o.at > p) break;
      if (p < o.at + o.size && !o.scanned) {
        o.scanned = true;
        scan_range(o.at, o.at + o.size, o.fn);
      }
    }
  }
  out.pointers.reserve(found.size());
  for (const auto& [w, fn] : found) out.pointers.emplace_back(w, names[fn]);
  return out;
}

// A runtime.g that is not in allgs: every M's g0 and gsignal (heap objects since
// newm/malg) and a g being created or freed. Its first words are its stack bounds
// (uintptrs, not references: the GC never scans them), and stack.hi is one past the
// stack's end, which is the first object of whatever span follows: followed, g0
// once made a leaked goroutine's channel look reachable through allm -> m -> g0.
// Recognised by shape: stack.lo < stack.hi, a power-of-two size between 2 KiB and
// 1 GiB, and stackguard0 (the word after stack.hi in every Go release: the assembly
// hard-codes offset 16) inside the stack or one of the runtime's poison values.
bool looks_like_g(std::span<const uint8_t> object, const sym::GoOffsets& off) {
  if (!off.g_stack_lo || !off.g_stack_hi || *off.g_stack_hi != *off.g_stack_lo + 8) return false;
  for (uint64_t at : {uint64_t{0}, kMallocHeader}) {
    if (at + *off.g_stack_lo + 24 > object.size()) continue;
    const uint64_t lo = load<uint64_t>(object, at + *off.g_stack_lo);
    const uint64_t hi = load<uint64_t>(object, at + *off.g_stack_hi);
    const uint64_t guard = load<uint64_t>(object, at + *off.g_stack_hi + 8);
    if (lo < kMinPointer || hi <= lo || hi >= kMaxUserAddress) continue;
    const uint64_t size = hi - lo;
    if (size < 2048 || size > (1ull << 30) || (size & (size - 1)) != 0) continue;
    // stackPreempt (uintptr(-1314)), stackFork (uintptr(-1234)) and their kin.
    constexpr uint64_t kPoison = ~uint64_t{0} - 0x1000;
    if ((guard >= lo && guard <= hi) || guard >= kPoison) return true;
  }
  return false;
}

// What does not change between scans: where things are.
struct ProcessReachability::Setup {
  std::string why_unsupported;
  uint64_t arenas_field = 0;  // process address of mheap_.arenas[0]
  struct Region {
    uint64_t start, size;  // process addresses
  };
  std::vector<Region> pointer_globals;  // .data, .bss: scanned
  std::vector<Region> all_globals;      // also .noptrdata, .noptrbss: targets there are globals
  std::vector<sym::ElfSymbol> symbols;  // data symbols by vaddr, for witnesses
  std::unordered_set<uint64_t> gs;      // every runtime.g: never followed
  std::optional<uint64_t> allp;         // process address of runtime.allp, when known
  uint32_t mspan_bytes = 0;
  uint32_t g_bytes = 0;
  uint32_t sudog_bytes = 0;

  std::string global_name(uint64_t address, uint64_t bias) const {
    const uint64_t vaddr = address - bias;
    auto it = std::upper_bound(symbols.begin(), symbols.end(), vaddr,
                               [](uint64_t v, const sym::ElfSymbol& s) { return v < s.vaddr; });
    if (it != symbols.begin()) {
      --it;
      if (vaddr < it->vaddr + std::max<uint64_t>(it->size, 1)) return "global " + it->name;
    }
    return "global at " + hex(address);
  }
};

// One traversal: memory read under a budget, the span table cached, objects visited.
struct ProcessReachability::Scan {
  Scan(MemoryReader& m, const sym::GoOffsets& o, const Setup& s, const ReachabilityLimits& l,
       ReachabilityStats& st)
      : memory(m), off(o), setup(s), limits(l), stats(st), deadline(Clock::now() + l.max_time) {}

  MemoryReader& memory;
  const sym::GoOffsets& off;
  const Setup& setup;
  const ReachabilityLimits& limits;
  ReachabilityStats& stats;
  Clock::time_point deadline;
  std::string exhausted;  // non-empty: the budget ran out, the answer is unknown

  bool charge(uint64_t bytes) {
    stats.bytes_read += bytes;
    if (exhausted.empty() && stats.bytes_read > limits.max_bytes)
      exhausted = "the scan read more than " + std::to_string(limits.max_bytes >> 20) + " MiB of memory";
    if (exhausted.empty() && Clock::now() > deadline)
      exhausted = "the scan took longer than " + std::to_string(limits.max_time.count()) + " ms";
    return exhausted.empty();
  }
  bool read(uint64_t address, std::span<uint8_t> out) {
    if (!charge(out.size())) return false;
    return memory.read(address, out);
  }

  // --- the span table
  struct Span {
    uint64_t start = 0, limit = 0, elemsize = 0;
    bool in_use = false, noscan = false;
  };
  uint64_t l2 = 0;                                             // mheap_.arenas[0]
  std::unordered_map<uint64_t, std::vector<uint64_t>> arenas;  // arena index -> its spans (empty: none)
  std::unordered_map<uint64_t, Span> spans;

  bool init() {
    uint64_t v = 0;
    if (!read(setup.arenas_field, {reinterpret_cast<uint8_t*>(&v), 8}) || v == 0) return false;
    l2 = v;
    for (uint64_t g : setup.gs)
      if (auto o = object_of(g)) g_objects.insert(o->start);
    return true;
  }
  const std::vector<uint64_t>& arena(uint64_t index) {
    auto [it, fresh] = arenas.try_emplace(index);
    if (!fresh) return it->second;
    uint64_t heap_arena = 0;
    if (!read(l2 + 8 * index, {reinterpret_cast<uint8_t*>(&heap_arena), 8}) || heap_arena == 0)
      return it->second;
    std::vector<uint64_t> table(kPagesPerArena);
    if (read(heap_arena + *off.heaparena_spans, {reinterpret_cast<uint8_t*>(table.data()), table.size() * 8}))
      it->second = std::move(table);
    return it->second;
  }
  const Span& span(uint64_t address) {
    auto [it, fresh] = spans.try_emplace(address);
    if (!fresh) return it->second;
    std::vector<uint8_t> b(setup.mspan_bytes);
    if (!read(address, b)) return it->second;
    Span& s = it->second;
    s.start = load<uint64_t>(b, *off.mspan_start_addr);
    s.limit = load<uint64_t>(b, *off.mspan_limit);
    s.elemsize = load<uint64_t>(b, *off.mspan_elemsize);
    s.in_use = load<uint8_t>(b, *off.mspan_state) == kSpanInUse;
    s.noscan = (load<uint8_t>(b, *off.mspan_spanclass) & 1) != 0;
    const uint64_t npages = load<uint64_t>(b, *off.mspan_npages);
    if (s.elemsize == 0 || s.limit < s.start || s.limit - s.start > npages * kPageSize) s.in_use = false;
    return s;
  }
  struct Object {
    uint64_t start, size;
    bool noscan;
  };
  // The in-use heap object `address` points into.
  std::optional<Object> object_of(uint64_t address) {
    if (address < kMinPointer || address >= kMaxUserAddress) return std::nullopt;
    const uint64_t index = (address - kArenaBaseOffset) >> kLogHeapArenaBytes;
    if (index >= kArenaL2Entries) return std::nullopt;
    const auto& table = arena(index);
    if (table.empty()) return std::nullopt;
    const uint64_t span_address = table[(address / kPageSize) % kPagesPerArena];
    if (span_address == 0) return std::nullopt;
    const Span& s = span(span_address);
    if (!s.in_use || address < s.start || address >= s.limit) return std::nullopt;
    const uint64_t start = s.start + (address - s.start) / s.elemsize * s.elemsize;
    return Object{start, s.elemsize, s.noscan};
  }

  // --- the traversal
  std::vector<std::string> witnesses;
  std::unordered_map<std::string, uint32_t> witness_ids;
  std::unordered_map<uint64_t, uint32_t> visited;  // object start -> witness
  std::vector<Object> pending;
  std::unordered_set<uint64_t> ps;          // every runtime.p (allp), object starts
  std::vector<uint64_t> p_pointers;         // the same Ps as allp has them (past a malloc header on 1.22+)
  std::unordered_set<uint64_t> g_objects;   // every runtime.g, object starts
  std::unordered_set<uint64_t> exact_hits;  // words seen anywhere (for targets outside the heap)
  const std::unordered_set<uint64_t>* outside_targets = nullptr;

  uint32_t witness(const std::string& w) {
    auto [it, fresh] = witness_ids.emplace(w, static_cast<uint32_t>(witnesses.size()));
    if (fresh) witnesses.push_back(w);
    return it->second;
  }
  void offer(uint64_t word, uint32_t why) {
    if (word < kMinPointer || word >= kMaxUserAddress) return;
    if (outside_targets && outside_targets->count(word)) exact_hits.insert(word);
    const auto o = object_of(word);
    if (!o || g_objects.count(o->start) || ps.count(o->start)) return;  // g and p are never followed
    if (!visited.emplace(o->start, why).second) return;
    stats.objects_reached++;
    if (stats.objects_reached > limits.max_objects && exhausted.empty())
      exhausted = "the scan reached more than " + std::to_string(limits.max_objects) + " heap objects";
    if (!o->noscan) pending.push_back(*o);
  }
  // A sudog (a goroutine's wait on a channel or semaphore): its g, elem (the waiter's
  // stack or the semaphore) and its links to other waiters are the runtime's, never
  // something a goroutine can use.
  bool is_sudog(std::span<const uint8_t> object) const {
    if (!off.sudog_g || object.size() > 2 * setup.sudog_bytes) return false;
    return setup.gs.count(load<uint64_t>(object, *off.sudog_g)) != 0;
  }
  bool is_g(std::span<const uint8_t> object) const { return looks_like_g(object, off); }
  void drain() {
    constexpr uint64_t kBatchBytes = 4 << 20;
    std::vector<uint8_t> buffer;
    std::vector<MemoryReader::Request> requests;
    std::vector<Object> batch;
    while (!pending.empty() && exhausted.empty()) {
      batch.clear();
      uint64_t bytes = 0;
      while (!pending.empty() && (batch.empty() || bytes + pending.back().size <= kBatchBytes)) {
        batch.push_back(pending.back());
        bytes += pending.back().size;
        pending.pop_back();
      }
      if (!charge(bytes)) return;
      buffer.resize(bytes);
      requests.clear();
      uint64_t at = 0;
      for (const auto& o : batch) {
        requests.push_back({o.start, {buffer.data() + at, o.size}});
        at += o.size;
      }
      memory.read_batch(requests);
      for (size_t i = 0; i < batch.size() && exhausted.empty(); i++) {
        if (!requests[i].ok) continue;  // freed meanwhile
        const std::span<const uint8_t> object = requests[i].out;
        stats.objects_scanned++;
        if (is_sudog(object) || is_g(object)) continue;
        const uint32_t why = visited[batch[i].start];
        for (uint64_t k = 0; k + 8 <= object.size(); k += 8) offer(load<uint64_t>(object, k), why);
      }
    }
  }
};

ProcessReachability::ProcessReachability(const sym::GoBinary& binary, uint64_t load_bias,
                                         model::ProcessSnapshot snapshot, MemoryReader& memory,
                                         ReachabilityLimits limits)
    : binary_(binary), bias_(load_bias), snapshot_(std::move(snapshot)), memory_(memory), limits_(limits) {}

ProcessReachability::ProcessReachability(const sym::GoBinary& binary, uint64_t load_bias,
                                         model::ProcessSnapshot snapshot, pid_t pid,
                                         ReachabilityLimits limits)
    : binary_(binary),
      bias_(load_bias),
      snapshot_(std::move(snapshot)),
      owned_memory_(std::make_unique<ProcessMemory>(pid)),
      memory_(*owned_memory_),
      limits_(limits) {}

ProcessReachability::~ProcessReachability() = default;

const std::string& ProcessReachability::unsupported() const {
  static const std::string kNotYet = "not set up yet";
  return setup_ ? setup_->why_unsupported : kNotYet;
}

bool ProcessReachability::set_up() {
  if (setup_) return setup_->why_unsupported.empty();
  setup_ = std::make_unique<Setup>();
  Setup& s = *setup_;
  const sym::GoOffsets& o = binary_.offsets().offsets;
  if (!o.mheap_arenas || !o.heaparena_spans || !o.mspan_start_addr || !o.mspan_npages || !o.mspan_spanclass ||
      !o.mspan_state || !o.mspan_elemsize || !o.mspan_limit || !o.g_goid || !o.g_atomicstatus ||
      !o.g_sched_sp || !o.g_sched_pc || !o.g_stack_lo || !o.g_stack_hi) {
    s.why_unsupported = "the runtime's heap structure offsets of this binary are unknown (offsets source: " +
                        binary_.offsets().source + ")";
    return false;
  }
  s.mspan_bytes = extent({o.mspan_start_addr, o.mspan_npages, o.mspan_spanclass, o.mspan_state,
                          o.mspan_elemsize, o.mspan_limit});
  s.g_bytes = extent({o.g_goid, o.g_atomicstatus, o.g_sched_sp, o.g_sched_pc, o.g_sched_ctxt, o.g_defer,
                      o.g_stack_lo, o.g_stack_hi});
  s.sudog_bytes = extent({o.sudog_g, o.sudog_next, o.sudog_prev, o.sudog_elem, o.sudog_waitlink, o.sudog_c});
  for (uint64_t g : snapshot_.g_addresses) s.gs.insert(g);
  for (const auto& g : snapshot_.goroutines) s.gs.insert(g.g_address);

  for (const auto& sec : binary_.elf().sections()) {
    if (sec.addr == 0 || sec.size == 0) continue;
    const Setup::Region r{sec.addr + bias_, sec.size};
    if (sec.name == ".data" || sec.name == ".bss") s.pointer_globals.push_back(r);
    if (sec.name == ".data" || sec.name == ".bss" || sec.name == ".noptrdata" || sec.name == ".noptrbss")
      s.all_globals.push_back(r);
  }
  if (s.pointer_globals.empty()) {
    s.why_unsupported =
        "the executable has no .data / .bss section headers: its global variables are unknown";
    return false;
  }
  if (auto v = sym::find_runtime_variable(binary_, "runtime.allp")) s.allp = v->vaddr + bias_;
  s.symbols = binary_.elf().object_symbols();
  // Section markers (runtime.bss, runtime.edata, ...) have no size: never a variable's name.
  std::erase_if(s.symbols, [](const sym::ElfSymbol& e) { return e.size == 0; });
  std::sort(s.symbols.begin(), s.symbols.end(),
            [](const auto& a, const auto& b) { return a.vaddr < b.vaddr; });

  // mheap_.arenas: from the symbol or DWARF; in a stripped binary, the one global
  // that runtime.spanOfHeap reads, checked against the process: every g must be a
  // heap object in an in-use span there.
  std::vector<uint64_t> candidates;
  if (auto v = sym::find_runtime_variable(binary_, "runtime.mheap_")) {
    candidates.push_back(v->vaddr + *o.mheap_arenas + bias_);
  } else {
    for (const char* fn : {"runtime.spanOfHeap", "runtime.findObject"})
      for (uint64_t t : sym::data_references(binary_, fn)) candidates.push_back(t + bias_);
  }
  std::vector<uint64_t> probes;
  for (const auto& g : snapshot_.goroutines) {
    if (probes.size() >= 4) break;
    probes.push_back(g.g_address);
  }
  ReachabilityStats scratch;
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  for (uint64_t c : candidates) {
    s.arenas_field = c;
    Scan scan(memory_, o, s, limits_, scratch);
    bool ok = scan.init() && !probes.empty();
    for (uint64_t g : probes) {
      const auto obj = ok ? scan.object_of(g) : std::nullopt;
      ok = obj && g - obj->start <= kMallocHeader && !obj->noscan;
    }
    if (ok) return true;
  }
  s.arenas_field = 0;
  s.why_unsupported =
      binary_.is_stripped()
          ? "cannot find the runtime's heap (runtime.mheap_) in the code of this stripped binary"
          : "cannot read the runtime's heap (runtime.mheap_) of process " + std::to_string(snapshot_.pid);
  return false;
}

// The scheduler's Ps: runtime.allp, a slice of *p. Without its symbol, the slice
// in the global variables whose elements are large heap objects numbered 0, 1, ...
// by their first field (p.id), which nothing else looks like.
void ProcessReachability::find_ps(Scan& scan, const std::vector<std::vector<uint8_t>>& globals) {
  constexpr uint64_t kMinPSize = 4096;  // a p holds its run queue and write-barrier buffer: several KiB
  constexpr uint64_t kMaxPs = 1 << 14;
  auto try_slice = [&](uint64_t ptr, uint64_t len, uint64_t cap) {
    if (len == 0 || len > cap || cap > kMaxPs) return false;
    // Objects of more than 512 bytes start with a malloc header from Go 1.22 on.
    const auto array = scan.object_of(ptr);
    if (!array || ptr - array->start > kMallocHeader || array->size < 8 * len) return false;
    std::vector<uint64_t> elems(len);
    if (!scan.read(ptr, {reinterpret_cast<uint8_t*>(elems.data()), elems.size() * 8})) return false;
    const std::vector<uint64_t> pointers = elems;
    for (uint64_t i = 0; i < len; i++) {
      const auto p = scan.object_of(elems[i]);
      int32_t id = -1;
      if (!p || elems[i] - p->start > kMallocHeader || p->size < kMinPSize ||
          !scan.read(elems[i], {reinterpret_cast<uint8_t*>(&id), 4}) || id != static_cast<int32_t>(i))
        return false;
      elems[i] = p->start;
    }
    scan.ps.insert(elems.begin(), elems.end());
    scan.p_pointers = pointers;
    return true;
  };
  const Setup& s = *setup_;
  if (s.allp) {
    uint64_t header[3] = {};
    if (scan.read(*s.allp, {reinterpret_cast<uint8_t*>(header), sizeof header}) &&
        try_slice(header[0], header[1], header[2]))
      return;
  }
  for (const auto& buf : globals)
    for (uint64_t k = 0; k + 24 <= buf.size(); k += 8) {
      const uint64_t len = load<uint64_t>(buf, k + 8), cap = load<uint64_t>(buf, k + 16);
      if (len != 0 && len <= cap && cap <= kMaxPs && try_slice(load<uint64_t>(buf, k), len, cap)) return;
    }
}

detect::ReachabilityOracle::Answer ProcessReachability::run(std::span<const uint64_t> targets,
                                                            const std::set<uint64_t>* excluded,
                                                            std::optional<uint64_t> only) {
  Answer answer;
  stats_ = {};
  const auto started = Clock::now();
  auto finish = [&]() -> Answer {
    stats_.elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count();
    return std::move(answer);
  };
  if (!set_up()) {
    answer.why_unknown = setup_->why_unsupported;
    return finish();
  }
  const Setup& s = *setup_;
  const sym::GoOffsets& o = binary_.offsets().offsets;
  Scan scan(memory_, o, s, limits_, stats_);
  if (!scan.init()) {
    answer.why_unknown = "cannot read the runtime's heap of process " + std::to_string(snapshot_.pid);
    return finish();
  }
  std::unordered_set<uint64_t> outside;  // targets that are not heap objects
  for (uint64_t t : targets)
    if (!scan.object_of(t)) outside.insert(t);
  scan.outside_targets = &outside;

  // The global variables, read whole (a few hundred KiB): the scheduler's Ps are found
  // there, and they are roots of the question about everyone.
  std::vector<std::vector<uint8_t>> globals;
  for (const auto& r : s.pointer_globals) {
    globals.emplace_back(r.size);
    if (!scan.read(r.start, globals.back())) {
      answer.why_unknown = "cannot read the global variables of process " + std::to_string(snapshot_.pid);
      return finish();
    }
  }
  find_ps(scan, globals);
  stats_.scheduler_ps = scan.ps.size();
  if (!only) {
    for (size_t i = 0; i < globals.size(); i++) {
      const auto& buf = globals[i];
      const uint64_t at = s.pointer_globals[i].start;
      for (uint64_t k = 0; k + 8 <= buf.size(); k += 8) {
        const uint64_t w = load<uint64_t>(buf, k);
        if (w < kMinPointer || w >= kMaxUserAddress) continue;
        if (!scan.object_of(w) && !outside.count(w)) continue;
        scan.offer(w, scan.witness(s.global_name(at + k, bias_)));
      }
    }
    // The Ps are not followed (their free-page caches and write-barrier buffers hold
    // addresses that are no references), but their timers are: a timer will send on
    // its channel or call its function.
    if (o.p_timers) {
      const uint32_t why = scan.witness("a timer of the scheduler");
      // Fields are at offsets from the p pointer itself, not from its object's start
      // (which is 8 bytes earlier when the object has a malloc header, Go 1.22+).
      for (uint64_t p : scan.p_pointers) {
        uint64_t heap = 0;
        if (scan.read(p + *o.p_timers, {reinterpret_cast<uint8_t*>(&heap), 8})) scan.offer(heap, why);
      }
    }
    scan.drain();
  }

  // The stacks of the goroutines that are roots, as they are now: read every g again.
  std::vector<const model::GoroutineSnapshot*> roots;
  for (const auto& g : snapshot_.goroutines)
    if (only ? g.goid == *only : !excluded->count(g.goid)) roots.push_back(&g);
  if (only && roots.empty()) {
    answer.why_unknown = "goroutine " + std::to_string(*only) + " is not in the snapshot";
    return finish();
  }
  std::vector<uint8_t> gbuf(roots.size() * s.g_bytes);
  std::vector<MemoryReader::Request> greqs;
  for (size_t i = 0; i < roots.size(); i++)
    greqs.push_back({roots[i]->g_address, {gbuf.data() + i * s.g_bytes, s.g_bytes}});
  scan.charge(gbuf.size());
  memory_.read_batch(greqs);
  struct StackRange {
    uint64_t lo, hi;
    std::string witness;
  };
  std::vector<StackRange> root_stacks;
  const auto& pt = binary_.pclntab();
  for (size_t i = 0; i < roots.size() && scan.exhausted.empty(); i++) {
    if (!greqs[i].ok) continue;  // freed: gone
    const std::span<const uint8_t> g = greqs[i].out;
    const uint64_t goid = load<uint64_t>(g, *o.g_goid);
    const uint32_t status = load<uint32_t>(g, *o.g_atomicstatus) & ~model::kGScanBit;
    if (status == static_cast<uint32_t>(model::GStatus::kDead) ||
        status == static_cast<uint32_t>(model::GStatus::kIdle))
      continue;                                                               // exited meanwhile
    if (goid != roots[i]->goid && (only || excluded->count(goid))) continue;  // reused by another goroutine
    const uint64_t lo = load<uint64_t>(g, *o.g_stack_lo), hi = load<uint64_t>(g, *o.g_stack_hi);
    const uint64_t sp = load<uint64_t>(g, *o.g_sched_sp), pc = load<uint64_t>(g, *o.g_sched_pc);
    if (lo == 0 || hi <= lo || hi - lo > (1ull << 30)) continue;
    std::string who = "stack of goroutine " + std::to_string(goid);
    std::string start_fn;
    if (auto fn = pt.function_at(roots[i]->start_pc - bias_)) start_fn = std::string(pt.function_name(*fn));
    root_stacks.push_back({lo, hi, who + (start_fn.empty() ? "" : " (" + start_fn + ")")});

    // Parked or runnable: the saved registers are where it stopped, unwound precisely.
    // Running, in a system call, or its stack moving: every word of the stack.
    const bool stopped = status == static_cast<uint32_t>(model::GStatus::kWaiting) ||
                         status == static_cast<uint32_t>(model::GStatus::kRunnable) ||
                         status == static_cast<uint32_t>(model::GStatus::kPreempted);
    const bool precise = stopped && pc != 0 && sp >= lo && sp < hi;
    const uint64_t from =
        precise || (status == static_cast<uint32_t>(model::GStatus::kSyscall) && sp >= lo && sp < hi) ? sp
                                                                                                      : lo;
    std::vector<uint8_t> stack(hi - from);
    stats_.stacks_scanned++;
    if (!scan.read(from, stack)) continue;
    const StackRoots sr = scan_stack(binary_, bias_, stack, from, lo, hi, sp, pc, precise);
    stats_.frames_precise += sr.frames_precise;
    stats_.frames_conservative += sr.frames_conservative;
    if (sr.whole_stack_conservative) stats_.stacks_conservative++;
    for (const auto& [w, fn] : sr.pointers) {
      const bool useful = scan.object_of(w) || outside.count(w);
      if (useful) scan.offer(w, scan.witness(who + " (" + (fn == "conservative" ? start_fn : fn) + ")"));
    }
    // A goroutine that has not started yet has its closure in sched.ctxt; defers
    // allocated on the heap hold their closures.
    for (const sym::Offset& field : {o.g_sched_ctxt, o.g_defer})
      if (field) scan.offer(load<uint64_t>(g, *field), scan.witness(root_stacks.back().witness));
    scan.drain();
  }
  scan.drain();
  if (!scan.exhausted.empty()) {
    answer.why_unknown = scan.exhausted;
    return finish();
  }

  answer.known = true;
  for (uint64_t t : targets) {
    std::optional<std::string> why;
    if (outside.count(t)) {
      const bool global = std::any_of(s.all_globals.begin(), s.all_globals.end(),
                                      [&](const auto& r) { return t >= r.start && t < r.start + r.size; });
      if (global && !only) why = s.global_name(t, bias_);
      for (const auto& st : root_stacks)
        if (!why && t >= st.lo && t < st.hi) why = st.witness;
      if (!why && scan.exact_hits.count(t))
        why = only && !root_stacks.empty() ? root_stacks.front().witness : "a pointer from a root";
    } else if (const auto obj = scan.object_of(t)) {
      if (auto it = scan.visited.find(obj->start); it != scan.visited.end()) why = scan.witnesses[it->second];
    }
    if (why) {
      answer.reachable.insert(t);
      answer.witness.emplace(t, std::move(*why));
    }
  }
  return finish();
}

detect::ReachabilityOracle::Answer ProcessReachability::reachable(std::span<const uint64_t> targets,
                                                                  const std::set<uint64_t>& excluded) {
  return run(targets, &excluded, std::nullopt);
}

std::optional<std::unordered_set<uint64_t>> ProcessReachability::reachable_from_goroutine(
    uint64_t goid, std::span<const uint64_t> targets) {
  Answer a = run(targets, nullptr, goid);
  if (!a.known) return std::nullopt;
  return std::move(a.reachable);
}

std::optional<uint64_t> ProcessReachability::read_word(uint64_t address) {
  uint64_t v = 0;
  if (address % 8 != 0 || !memory_.read(address, {reinterpret_cast<uint8_t*>(&v), 8})) return std::nullopt;
  return v;
}

}  // namespace goscope::loader

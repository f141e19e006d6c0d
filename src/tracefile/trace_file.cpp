#include "tracefile/trace_file.h"

#include "common/user_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string_view>
#include <unordered_map>

#include "tracefile/findings_codec.h"
#include "symbolizer/go_offsets.h"

namespace goscope::tracefile {

namespace {

constexpr std::array<uint8_t, 8> kFileSignature = {0x89, 'G', 'S', 'T', '\r', '\n', 0x1a, '\n'};
constexpr size_t kFileHeaderSize = 16;
constexpr std::array<uint8_t, 4> kBlockSignature = {'G', 'S', 'B', 'K'};
constexpr size_t kBlockHeaderSize = 24;
constexpr uint8_t kBlockDeflated = 1;
// Deflate cannot expand more than this (RFC 1951: 258 bytes out of a 2-bit code at best,
// about 1032:1); a raw size beyond it is a lie, refused before allocating for it.
constexpr uint64_t kMaxInflateRatio = 1032;
// A fuzzer's mutations would all stop at the checksums: its build reads past them
// (the macro is libFuzzer's convention for such builds).
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
constexpr bool kVerifyChecksums = false;
#else
constexpr bool kVerifyChecksums = true;
#endif

// Record types. Events are their EventKind (below kCount_), the rest stay clear of them.
enum Record : uint8_t {
  kRecordHeader = 0xE0,       // definitions: the file's header (block 0 only)
  kRecordCodeAddress = 0xE1,  // definitions: frames and function entry at an address
  kRecordLockLines = 0xE2,    // definitions: lock lines of a function entry
  kRecordStack = 0xE3,        // definitions: a stack id and its pcs
  kRecordSeed = 0xF0,         // items
  kRecordFinding = 0xF1,
  kRecordNote = 0xF2,
  kRecordEnd = 0xF3,
};
static_assert(static_cast<uint8_t>(model::EventKind::kCount_) < kRecordHeader);

// Which fields of an event differ from the previous event of its kind in the block
// (kBegin: begin_ns is set at all; it is stored as the duration time_ns - begin_ns).
// Ordered by how often they change, so a common event needs a one-byte mask. The
// thread id has no bit: it changes at random, and a random bit in the mask would
// break deflate's matches of otherwise repeating records.
enum EventField : uint32_t {
  kFieldGoid = 1 << 0,
  kFieldObject = 1 << 1,
  kFieldStack = 1 << 2,
  kFieldFlags = 1 << 3,
  kFieldBegin = 1 << 4,
  kFieldOtherGoid = 1 << 5,
  kFieldValue = 1 << 6,
  kFieldPc = 1 << 7,
  kFieldWaitReason = 1 << 8,
  kFieldObjectKind = 1 << 9,
  kFieldValue2 = 1 << 10,
  kFieldStartPc = 1 << 11,
  kFieldObjects = 1 << 12,
  kFieldAll_ = (1 << 13) - 1,
};

// Seed goroutine flags.
enum SeedFlag : uint8_t {
  kSeedScanBit = 1 << 0,
  kSeedWaitSince = 1 << 1,
  kSeedParent = 1 << 2,
  kSeedFromSyscall = 1 << 3,
  kSeedInconsistent = 1 << 4,
};

constexpr size_t kEventKinds = static_cast<size_t>(model::EventKind::kCount_);

uint64_t zigzag(int64_t x) {
  return (static_cast<uint64_t>(x) << 1) ^ static_cast<uint64_t>(x >> 63);
}
int64_t unzigzag(uint64_t x) {
  return static_cast<int64_t>(x >> 1) ^ -static_cast<int64_t>(x & 1);
}
// Deltas wrap around in 64 bits: every pair of values has one, and it reads back exactly.
uint64_t delta(uint64_t to, uint64_t from) {
  return zigzag(static_cast<int64_t>(to - from));
}
uint64_t undelta(uint64_t base, uint64_t d) {
  return base + static_cast<uint64_t>(unzigzag(d));
}

bool same_objects(const std::vector<model::ObjectRef>& a, const std::vector<model::ObjectRef>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const model::ObjectRef& x, const model::ObjectRef& y) {
                      return x.address == y.address && x.kind == y.kind && x.flags == y.flags;
                    });
}

void put_u32(uint8_t* p, uint32_t x) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(x >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint32_t crc(const uint8_t* data, size_t size) {
  return static_cast<uint32_t>(crc32(0, data, static_cast<uInt>(size)));
}

// ---- encoding

class Out {
 public:
  void u8(uint8_t x) { bytes_.push_back(x); }
  void varint(uint64_t x) {
    while (x >= 0x80) {
      bytes_.push_back(static_cast<uint8_t>(x) | 0x80);
      x >>= 7;
    }
    bytes_.push_back(static_cast<uint8_t>(x));
  }
  void signed_varint(int64_t x) { varint(zigzag(x)); }
  void text(std::string_view s) {
    varint(s.size());
    bytes_.insert(bytes_.end(), s.begin(), s.end());
  }
  void bytes(const std::vector<uint8_t>& b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void clear() { bytes_.clear(); }
  std::vector<uint8_t>& data() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

void write_meta(Out& o, const model::TraceMeta& m) {
  o.text(m.goscope_version);
  o.signed_varint(m.pid);
  o.text(m.exe_name);
  o.varint(m.command.size());
  for (const auto& arg : m.command) o.text(arg);
  o.u8(m.launched);
  o.text(m.build_id);
  o.text(m.probe_set);
  o.u8(m.scheduler);
  o.u8(m.lock_holders);
  o.u8(m.holders_traced);
  o.varint(m.stack_depth);
  o.signed_varint(m.start_ns);
  o.signed_varint(m.start_unix_ns);
  o.text(m.hostname);
  o.text(m.kernel);
}

void write_build_info(Out& o, const sym::BuildInfo& b) {
  o.text(b.go_version);
  o.signed_varint(b.version.major);
  o.signed_varint(b.version.minor);
  o.signed_varint(b.version.patch);
  o.text(b.main_path);
  o.text(b.main_module);
  o.text(b.module_version);
  o.varint(b.settings.size());
  for (const auto& [key, value] : b.settings) {
    o.text(key);
    o.text(value);
  }
  o.varint(b.deps.size());
  for (const auto& d : b.deps) o.text(d);
  o.u8(b.inline_strings);
}

void write_offsets(Out& o, const sym::GoOffsets& offsets) {
  size_t present = 0;
  for (const auto& f : sym::offset_fields()) present += (offsets.*f.member).has_value();
  o.varint(present);
  for (const auto& f : sym::offset_fields()) {
    if (!(offsets.*f.member)) continue;
    o.text(f.key);
    o.varint(*(offsets.*f.member));
  }
}

void write_end(Out& o, const model::TraceEnd& end) {
  o.signed_varint(end.end_ns);
  o.text(end.reason);
  o.u8(end.target_exited);
  const model::TraceCounters& c = end.counters;
  const uint64_t counters[] = {c.events_seen, c.events_printed,  c.ringbuf_full,     c.malformed,
                               c.unpaired,    c.goid_unreadable, c.field_unreadable, c.stack_cut};
  // Counted, so a later goscope may append counters and this one skips them.
  o.varint(std::size(counters));
  for (uint64_t x : counters) o.varint(x);
}

// ---- decoding: every read is bounded by the bytes left; the first failure sticks.

class In {
 public:
  In(const uint8_t* data, size_t size, size_t start = 0) : data_(data), size_(size), pos_(start) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }
  bool at_end() const { return pos_ >= size_; }
  void fail(std::string what) {
    if (error_.empty()) error_ = std::move(what) + " at payload byte " + std::to_string(pos_);
    pos_ = size_;
  }

  uint8_t u8() {
    if (pos_ >= size_) {
      fail("a record ends early");
      return 0;
    }
    return data_[pos_++];
  }
  bool boolean() {
    const uint8_t b = u8();
    if (b > 1) fail("a flag is neither 0 nor 1");
    return b == 1;
  }
  uint64_t varint() {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = u8();
      if (!ok()) return 0;
      if (shift == 63 && b > 1) break;
      x |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return x;
    }
    fail("a number is longer than 64 bits");
    return 0;
  }
  int64_t signed_varint() { return unzigzag(varint()); }
  template <typename T>
  T bounded(uint64_t max, const char* what) {
    const uint64_t x = varint();
    if (x > max) {
      fail(std::string(what) + " is out of range");
      return 0;
    }
    return static_cast<T>(x);
  }
  int32_t int32() {
    const int64_t x = signed_varint();
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      fail("a number is out of range");
      return 0;
    }
    return static_cast<int32_t>(x);
  }
  // A count of things that take at least `min_bytes` each: never more than the bytes left allow.
  size_t count(size_t min_bytes = 1) {
    const uint64_t n = varint();
    if (n > left() / min_bytes) {
      fail("a count exceeds the record");
      return 0;
    }
    return static_cast<size_t>(n);
  }
  std::string text() {
    const size_t n = count();
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string error_;
};

model::TraceMeta read_meta(In& in) {
  model::TraceMeta m;
  m.goscope_version = in.text();
  m.pid = in.int32();
  m.exe_name = in.text();
  for (size_t n = in.count(); n > 0 && in.ok(); n--) m.command.push_back(in.text());
  m.launched = in.boolean();
  m.build_id = in.text();
  m.probe_set = in.text();
  m.scheduler = in.boolean();
  m.lock_holders = in.boolean();
  m.holders_traced = in.boolean();
  m.stack_depth = in.bounded<uint32_t>(UINT32_MAX, "the stack depth");
  m.start_ns = in.signed_varint();
  m.start_unix_ns = in.signed_varint();
  m.hostname = in.text();
  m.kernel = in.text();
  return m;
}

sym::BuildInfo read_build_info(In& in) {
  sym::BuildInfo b;
  b.go_version = in.text();
  b.version.major = in.int32();
  b.version.minor = in.int32();
  b.version.patch = in.int32();
  b.main_path = in.text();
  b.main_module = in.text();
  b.module_version = in.text();
  for (size_t n = in.count(2); n > 0 && in.ok(); n--) {
    std::string key = in.text();
    b.settings.emplace_back(std::move(key), in.text());
  }
  for (size_t n = in.count(); n > 0 && in.ok(); n--) b.deps.push_back(in.text());
  b.inline_strings = in.boolean();
  return b;
}

sym::GoOffsets read_offsets(In& in) {
  sym::GoOffsets offsets;
  for (size_t n = in.count(2); n > 0 && in.ok(); n--) {
    const std::string key = in.text();
    const auto value = in.bounded<uint32_t>(UINT32_MAX, "an offset");
    // A key this goscope does not know (written by a later one) is skipped.
    for (const auto& f : sym::offset_fields())
      if (f.key == key) offsets.*f.member = value;
  }
  return offsets;
}

model::TraceEnd read_end(In& in) {
  model::TraceEnd end;
  end.end_ns = in.signed_varint();
  end.reason = in.text();
  end.target_exited = in.boolean();
  model::TraceCounters& c = end.counters;
  uint64_t* counters[] = {&c.events_seen, &c.events_printed,  &c.ringbuf_full,     &c.malformed,
                          &c.unpaired,    &c.goid_unreadable, &c.field_unreadable, &c.stack_cut};
  const size_t n = in.count();
  for (size_t i = 0; i < n && in.ok(); i++) {
    const uint64_t x = in.varint();
    if (i < std::size(counters)) *counters[i] = x;
  }
  return end;
}

// The fields of an event after its values: each present in `mask` is read (a delta from
// `last`, the previous event of its kind), the others are `last`'s. Returns the file's
// stack id.
uint64_t read_event_fields(In& c, uint64_t mask, const model::Event& last, model::Event& e) {
  e.goid = mask & kFieldGoid ? undelta(last.goid, c.varint()) : last.goid;
  e.object = mask & kFieldObject ? undelta(last.object, c.varint()) : last.object;
  // last.stack holds the file's stack id; e.stack gets the reader's below.
  const uint64_t file_stack = mask & kFieldStack ? undelta(last.stack, c.varint()) : last.stack;
  e.flags = mask & kFieldFlags ? c.bounded<uint16_t>(UINT16_MAX, "event flags") : last.flags;
  e.other_goid = mask & kFieldOtherGoid ? undelta(last.other_goid, c.varint()) : last.other_goid;
  e.value = mask & kFieldValue ? static_cast<int64_t>(undelta(static_cast<uint64_t>(last.value), c.varint()))
                               : last.value;
  e.pc = mask & kFieldPc ? undelta(last.pc, c.varint()) : last.pc;
  e.wait_reason =
      mask & kFieldWaitReason ? c.bounded<uint32_t>(UINT32_MAX, "a wait reason") : last.wait_reason;
  if (mask & kFieldObjectKind) {
    const uint8_t k = c.u8();
    if (k > static_cast<uint8_t>(model::ObjectKind::kOther)) c.fail("an object kind is out of range");
    e.object_kind = static_cast<model::ObjectKind>(k);
  } else {
    e.object_kind = last.object_kind;
  }
  e.value2 = mask & kFieldValue2
                 ? static_cast<int64_t>(undelta(static_cast<uint64_t>(last.value2), c.varint()))
                 : last.value2;
  e.start_pc = mask & kFieldStartPc ? undelta(last.start_pc, c.varint()) : last.start_pc;
  if (mask & kFieldObjects) {
    e.objects.resize(c.count(3));
    uint64_t base = e.object;
    for (auto& ref : e.objects) {
      ref.address = undelta(base, c.varint());
      base = ref.address;
      const uint8_t k = c.u8();
      if (k > static_cast<uint8_t>(model::ObjectKind::kOther)) c.fail("an object kind is out of range");
      ref.kind = static_cast<model::ObjectKind>(k);
      ref.flags = c.bounded<uint16_t>(UINT16_MAX, "object flags");
    }
  } else {
    e.objects = last.objects;
  }
  return file_stack;
}

// One goroutine of a seed snapshot.
void read_seed_goroutine(In& c, model::GoroutineSnapshot& g) {
  g.goid = c.varint();
  g.g_address = c.varint();
  g.status = c.bounded<uint32_t>(UINT32_MAX, "a goroutine status");
  const uint8_t flags = c.u8();
  g.scan_bit = flags & kSeedScanBit;
  g.from_syscall = flags & kSeedFromSyscall;
  g.inconsistent = flags & kSeedInconsistent;
  g.wait_reason = c.bounded<uint32_t>(UINT32_MAX, "a wait reason");
  g.wait_reason_name = c.text();
  if (flags & kSeedWaitSince) g.wait_since_ns = c.signed_varint();
  for (size_t w = c.count(2); w > 0 && c.ok(); w--) {
    const uint8_t kind = c.u8();
    if (kind >> 1 > static_cast<uint8_t>(model::WaitedObject::Kind::kSemaphore))
      c.fail("a waited object kind is out of range");
    g.waiting_on.push_back({static_cast<model::WaitedObject::Kind>(kind >> 1), c.varint(), (kind & 1) != 0});
  }
  g.go_pc = c.varint();
  g.start_pc = c.varint();
  if (flags & kSeedParent) g.parent_goid = c.varint();
  uint64_t last = 0;
  g.stack.resize(c.count());
  for (auto& pc : g.stack) pc = last = undelta(last, c.varint());
  const uint8_t state = c.u8();
  if (state > static_cast<uint8_t>(model::StackState::kUnreadable)) c.fail("a stack state is out of range");
  g.stack_state = static_cast<model::StackState>(state);
  g.stack_lo = c.varint();
  g.stack_hi = c.varint();
  g.sched_sp = c.varint();
  g.sched_pc = c.varint();
  g.sched_bp = c.varint();
  g.inconsistency = c.text();
}

model::ProcessSnapshot read_seed(In& c) {
  model::ProcessSnapshot s;
  s.pid = c.int32();
  s.taken_at_ns = c.signed_varint();
  s.allglen = c.varint();
  s.dead_skipped = c.varint();
  s.unreadable_gs = c.varint();
  // Each goroutine takes at least 17 bytes: the count cannot claim more than are there.
  for (size_t n = c.count(17); n > 0 && c.ok(); n--) read_seed_goroutine(c, s.goroutines.emplace_back());
  uint64_t last = 0;
  s.g_addresses.resize(c.count());
  for (auto& a : s.g_addresses) a = last = undelta(last, c.varint());
  return s;
}

}  // namespace

// ---- TraceWriter

// What the writer builds up for the current block, and the file-wide string table.
struct TraceWriter::Encoder {
  Out definitions;
  Out items;
  // What varies at random from event to event (times, durations, threads), apart from the
  // items, so that deflate finds the items' repetitions and codes these bytes by frequency.
  Out values;
  // Code addresses and stack pcs are written as deltas from the previous one in the block.
  uint64_t last_address = 0;
  std::array<model::Event, kEventKinds> last_event;
  int64_t last_time = 0;
  std::unordered_map<std::string, uint32_t> strings;  // index in the file's string table

  size_t size() const { return definitions.size() + items.size() + values.size(); }
  void start_block() {
    definitions.clear();
    items.clear();
    values.clear();
    last_address = 0;
    last_event = {};
    last_time = 0;
  }
  // A string of the code tables: a reference to one written before, or the string itself.
  void string_ref(std::string_view s) {
    auto [it, inserted] = strings.try_emplace(std::string(s), static_cast<uint32_t>(strings.size()));
    if (inserted) {
      definitions.varint(0);
      definitions.text(s);
    } else {
      definitions.varint(uint64_t(it->second) + 1);
    }
  }
  void address(uint64_t a) {
    definitions.varint(delta(a, last_address));
    last_address = a;
  }
};

TraceWriter::TraceWriter(std::string path, int fd, std::shared_ptr<const state::CodeInfo> code,
                         const model::StackTable& stacks)
    : path_(std::move(path)),
      fd_(fd),
      code_(std::move(code)),
      stacks_(stacks),
      enc_(std::make_unique<Encoder>()) {}

TraceWriter::~TraceWriter() {
  if (fd_ < 0) return;
  if (!failed_) (void)flush();
  ::close(fd_);
}

Expected<std::unique_ptr<TraceWriter>> TraceWriter::create(const std::string& path, const model::TraceMeta& meta,
                                                           std::shared_ptr<const state::CodeInfo> code,
                                                           const model::StackTable& stacks) {
  auto opened = open_user_file(path);
  if (!opened) return make_error("cannot create the trace file: " + opened.error().message);
  const int fd = opened->release();
  std::unique_ptr<TraceWriter> w(new TraceWriter(path, fd, std::move(code), stacks));

  std::vector<uint8_t> file_header(kFileHeaderSize, 0);
  std::copy(kFileSignature.begin(), kFileSignature.end(), file_header.begin());
  put_u32(&file_header[8], kTraceFormatVersion);
  size_t written = 0;
  while (written < file_header.size()) {
    const ssize_t n = ::write(fd, file_header.data() + written, file_header.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("cannot write the trace file " + path, n < 0 ? errno : EIO);
    written += static_cast<size_t>(n);
  }
  w->bytes_written_ = written;

  // Block 0: what a reader needs before anything else, written at once so that even a
  // recording killed in its first second opens.
  Out& d = w->enc_->definitions;
  d.u8(kRecordHeader);
  write_meta(d, meta);
  write_build_info(d, w->code_->build_info());
  write_offsets(d, w->code_->offsets());
  d.varint(w->code_->wait_reasons().size());
  for (const auto& r : w->code_->wait_reasons()) d.text(r);
  d.text(w->code_->goroot_src());
  GS_CHECK(w->flush());
  return w;
}

Expected<void> TraceWriter::check_open() const {
  if (failed_) return *failed_;
  if (fd_ < 0) return make_error("the trace file " + path_ + " is closed already");
  return {};
}

void TraceWriter::define_address(uint64_t vaddr) {
  if (vaddr == 0 || !addresses_defined_.insert(vaddr).second) return;
  const auto frames = code_->frames(vaddr);
  const auto entry = code_->function_entry(vaddr);
  if (!frames.empty() || entry) {
    Encoder& e = *enc_;
    e.definitions.u8(kRecordCodeAddress);
    e.address(vaddr);
    e.definitions.u8(entry.has_value());
    if (entry) e.definitions.varint(delta(*entry, vaddr));
    e.definitions.varint(frames.size());
    for (const auto& f : frames) {
      e.string_ref(f.function);
      e.string_ref(f.file);
      e.definitions.varint(zigzag(f.line) << 1 | (f.inlined ? 1 : 0));
    }
  }
  if (!entry || !entries_defined_.insert(*entry).second) return;
  define_address(*entry);
  const state::LockLines& lines = code_->lock_lines(*entry);
  if (lines.lock.empty() && lines.rlock.empty()) return;
  Encoder& e = *enc_;
  e.definitions.u8(kRecordLockLines);
  e.address(*entry);
  for (const auto* list : {&lines.lock, &lines.rlock}) {
    e.definitions.varint(list->size());
    for (int line : *list) e.definitions.signed_varint(line);
  }
}

void TraceWriter::define_code_address(uint64_t vaddr, bool return_address) {
  define_address(return_address && vaddr > 0 ? vaddr - 1 : vaddr);
}

void TraceWriter::define_stacks_up_to(model::StackId id) {
  while (stacks_defined_ < id) {
    const model::StackId next = stacks_defined_ + 1;
    const auto pcs = stacks_.get(next);
    for (size_t i = 0; i < pcs.size(); i++) define_code_address(pcs[i], i > 0);
    Encoder& e = *enc_;
    e.definitions.u8(kRecordStack);
    e.definitions.varint(next);
    e.definitions.varint(pcs.size());
    for (uint64_t pc : pcs) e.address(pc);
    stacks_defined_ = next;
  }
}

Expected<void> TraceWriter::after_item() {
  if (enc_->size() >= kTraceBlockTarget) return flush();
  return {};
}

Expected<void> TraceWriter::seed(const model::ProcessSnapshot& s, uint64_t load_bias) {
  GS_CHECK(check_open());
  // As StateModel::seed converts them: an address below the bias was not in the executable.
  auto vaddr = [&](uint64_t pc) { return pc >= load_bias ? pc - load_bias : pc; };
  for (const auto& g : s.goroutines) {
    for (size_t i = 0; i < g.stack.size(); i++) define_code_address(vaddr(g.stack[i]), i > 0);
    define_code_address(vaddr(g.go_pc), true);
    define_code_address(vaddr(g.go_pc), false);
    define_code_address(vaddr(g.start_pc), false);
  }
  Out& o = enc_->items;
  o.u8(kRecordSeed);
  o.signed_varint(s.pid);
  o.signed_varint(s.taken_at_ns);
  o.varint(s.allglen);
  o.varint(s.dead_skipped);
  o.varint(s.unreadable_gs);
  o.varint(s.goroutines.size());
  for (const auto& g : s.goroutines) {
    o.varint(g.goid);
    o.varint(g.g_address);
    o.varint(g.status);
    o.u8((g.scan_bit ? kSeedScanBit : 0) | (g.wait_since_ns ? kSeedWaitSince : 0) |
         (g.parent_goid ? kSeedParent : 0) | (g.from_syscall ? kSeedFromSyscall : 0) |
         (g.inconsistent ? kSeedInconsistent : 0));
    o.varint(g.wait_reason);
    o.text(g.wait_reason_name);
    if (g.wait_since_ns) o.signed_varint(*g.wait_since_ns);
    o.varint(g.waiting_on.size());
    for (const auto& w : g.waiting_on) {
      o.u8(static_cast<uint8_t>(static_cast<uint8_t>(w.kind) << 1 | (w.in_select ? 1 : 0)));
      o.varint(w.address);
    }
    o.varint(vaddr(g.go_pc));
    o.varint(vaddr(g.start_pc));
    if (g.parent_goid) o.varint(*g.parent_goid);
    o.varint(g.stack.size());
    uint64_t last = 0;
    for (uint64_t pc : g.stack) {
      o.varint(delta(vaddr(pc), last));
      last = vaddr(pc);
    }
    o.u8(static_cast<uint8_t>(g.stack_state));
    o.varint(g.stack_lo);
    o.varint(g.stack_hi);
    o.varint(g.sched_sp);
    o.varint(g.sched_pc);
    o.varint(g.sched_bp);
    o.text(g.inconsistency);
  }
  o.varint(s.g_addresses.size());
  uint64_t last = 0;
  for (uint64_t a : s.g_addresses) {
    o.varint(delta(a, last));
    last = a;
  }
  return after_item();
}

Expected<void> TraceWriter::event(const model::Event& e) {
  GS_CHECK(check_open());
  if (static_cast<size_t>(e.kind) >= kEventKinds)
    return make_error("an event of unknown kind cannot be stored");
  if (e.stack > stacks_.size())
    return make_error("an event refers to stack " + std::to_string(e.stack) +
                      ", which its stack table lacks");
  define_stacks_up_to(e.stack);
  define_code_address(e.pc, false);
  define_code_address(e.pc, true);
  define_code_address(e.start_pc, false);

  Encoder& enc = *enc_;
  model::Event& last = enc.last_event[static_cast<size_t>(e.kind)];
  uint32_t mask = 0;
  if (e.goid != last.goid) mask |= kFieldGoid;
  if (e.object != last.object) mask |= kFieldObject;
  if (e.stack != last.stack) mask |= kFieldStack;
  if (e.flags != last.flags) mask |= kFieldFlags;
  if (e.begin_ns != 0) mask |= kFieldBegin;
  if (e.other_goid != last.other_goid) mask |= kFieldOtherGoid;
  if (e.value != last.value) mask |= kFieldValue;
  if (e.pc != last.pc) mask |= kFieldPc;
  if (e.wait_reason != last.wait_reason) mask |= kFieldWaitReason;
  if (e.object_kind != last.object_kind) mask |= kFieldObjectKind;
  if (e.value2 != last.value2) mask |= kFieldValue2;
  if (e.start_pc != last.start_pc) mask |= kFieldStartPc;
  if (!same_objects(e.objects, last.objects)) mask |= kFieldObjects;

  Out& o = enc.items;
  o.u8(static_cast<uint8_t>(e.kind));
  o.varint(mask);
  Out& v = enc.values;
  v.varint(delta(static_cast<uint64_t>(e.time_ns), static_cast<uint64_t>(enc.last_time)));
  v.varint(delta(e.tid, last.tid));
  if (mask & kFieldBegin)
    v.varint(delta(static_cast<uint64_t>(e.time_ns), static_cast<uint64_t>(e.begin_ns)));
  if (mask & kFieldGoid) o.varint(delta(e.goid, last.goid));
  if (mask & kFieldObject) o.varint(delta(e.object, last.object));
  if (mask & kFieldStack) o.varint(delta(e.stack, last.stack));
  if (mask & kFieldFlags) o.varint(e.flags);
  if (mask & kFieldOtherGoid) o.varint(delta(e.other_goid, last.other_goid));
  if (mask & kFieldValue) o.varint(delta(static_cast<uint64_t>(e.value), static_cast<uint64_t>(last.value)));
  if (mask & kFieldPc) o.varint(delta(e.pc, last.pc));
  if (mask & kFieldWaitReason) o.varint(e.wait_reason);
  if (mask & kFieldObjectKind) o.u8(static_cast<uint8_t>(e.object_kind));
  if (mask & kFieldValue2)
    o.varint(delta(static_cast<uint64_t>(e.value2), static_cast<uint64_t>(last.value2)));
  if (mask & kFieldStartPc) o.varint(delta(e.start_pc, last.start_pc));
  if (mask & kFieldObjects) {
    o.varint(e.objects.size());
    uint64_t base = e.object;
    for (const auto& ref : e.objects) {
      o.varint(delta(ref.address, base));
      base = ref.address;
      o.u8(static_cast<uint8_t>(ref.kind));
      o.varint(ref.flags);
    }
  }
  enc.last_time = e.time_ns;
  last = e;
  events_written_++;
  return after_item();
}

Expected<void> TraceWriter::finding(const detect::Finding& f) {
  GS_CHECK(check_open());
  enc_->items.u8(kRecordFinding);
  enc_->items.text(finding_to_text(f));
  return after_item();
}

Expected<void> TraceWriter::note(const std::string& text) {
  GS_CHECK(check_open());
  enc_->items.u8(kRecordNote);
  enc_->items.text(text);
  return after_item();
}

Expected<void> TraceWriter::flush() {
  GS_CHECK(check_open());
  Encoder& e = *enc_;
  if (e.size() == 0) return {};
  Out raw;
  raw.varint(e.definitions.size());
  raw.varint(e.values.size());
  raw.bytes(e.definitions.data());
  raw.bytes(e.values.data());
  raw.bytes(e.items.data());
  auto written = write_block(raw.data());
  e.start_block();
  if (!written) failed_ = written.error();
  return written;
}

Expected<void> TraceWriter::write_block(const std::vector<uint8_t>& raw) {
  if (raw.size() > kTraceBlockLimit)
    return make_error("a trace block grew beyond " + std::to_string(kTraceBlockLimit) + " bytes");
  // Header first, then the payload: deflated when that is smaller.
  std::vector<uint8_t> block(kBlockHeaderSize);
  uint8_t flags = 0;
  z_stream z{};
  // The fastest level: on a ping-pong stream it is as small as level 9 (the values are
  // noise; the items repeat) at half the time, and the recorder must keep up with the ring buffer.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
    const uLong bound = deflateBound(&z, static_cast<uLong>(raw.size()));
    block.resize(kBlockHeaderSize + bound);
    z.next_in = const_cast<Bytef*>(raw.data());
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = block.data() + kBlockHeaderSize;
    z.avail_out = static_cast<uInt>(bound);
    if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < raw.size()) {
      flags |= kBlockDeflated;
      block.resize(kBlockHeaderSize + z.total_out);
    }
    deflateEnd(&z);
  }
  if (!(flags & kBlockDeflated)) {
    block.resize(kBlockHeaderSize);
    block.insert(block.end(), raw.begin(), raw.end());
  }
  const size_t stored = block.size() - kBlockHeaderSize;
  std::copy(kBlockSignature.begin(), kBlockSignature.end(), block.begin());
  block[4] = flags;
  put_u32(&block[8], static_cast<uint32_t>(stored));
  put_u32(&block[12], static_cast<uint32_t>(raw.size()));
  put_u32(&block[16], crc(block.data() + kBlockHeaderSize, stored));
  put_u32(&block[20], crc(block.data(), 20));

  size_t done = 0;
  while (done < block.size()) {
    const ssize_t n = ::write(fd_, block.data() + done, block.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::from_errno("cannot write the trace file " + path_, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
    bytes_written_ += static_cast<uint64_t>(n);
  }
  blocks_written_++;
  return {};
}

Expected<void> TraceWriter::close(const model::TraceEnd& end) {
  GS_CHECK(check_open());
  enc_->items.u8(kRecordEnd);
  write_end(enc_->items, end);
  GS_CHECK(flush());
  const int fd = fd_;
  fd_ = -1;
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return Error::from_errno("cannot write the trace file " + path_ + " to disk", err);
  }
  if (::close(fd) != 0) return Error::from_errno("cannot close the trace file " + path_, errno);
  return {};
}

// ---- TraceReader

class TraceReader::Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly `size` bytes at `offset` (the caller checked they are there).
  virtual Expected<void> read(uint64_t offset, uint8_t* out, size_t size) = 0;
};

namespace {

class FileSource final : public TraceReader::Source {
 public:
  FileSource(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  Expected<void> read(uint64_t offset, uint8_t* out, size_t size) override {
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pread(fd_, out + done, size - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::from_errno("cannot read " + path_, errno);
      if (n == 0) return make_error("cannot read " + path_ + ": it became shorter while being read");
      done += static_cast<size_t>(n);
    }
    return {};
  }

 private:
  int fd_;
  uint64_t size_;
  std::string path_;
};

class MemorySource final : public TraceReader::Source {
 public:
  explicit MemorySource(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Expected<void> read(uint64_t offset, uint8_t* out, size_t size) override {
    if (size > 0) std::memcpy(out, bytes_.data() + offset, size);
    return {};
  }

 private:
  std::string bytes_;
};

}  // namespace

struct TraceReader::Cursor : In {
  using In::In;
};

TraceReader::TraceReader(std::string name, std::unique_ptr<Source> source)
    : name_(std::move(name)), source_(std::move(source)), file_size_(source_->size()), last_(kEventKinds) {}

TraceReader::~TraceReader() = default;

Expected<std::unique_ptr<TraceReader>> TraceReader::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("cannot open the trace file " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Error::from_errno("cannot read " + path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(path + " is not a regular file (a goscope trace is one)");
  }
  std::unique_ptr<TraceReader> r(
      new TraceReader(path, std::make_unique<FileSource>(fd, static_cast<uint64_t>(st.st_size), path)));
  GS_CHECK(r->read_header());
  return r;
}

Expected<std::unique_ptr<TraceReader>> TraceReader::open_bytes(std::string bytes, const std::string& name) {
  std::unique_ptr<TraceReader> r(new TraceReader(name, std::make_unique<MemorySource>(std::move(bytes))));
  GS_CHECK(r->read_header());
  return r;
}

model::StreamInfo TraceReader::stream_info() const {
  model::StreamInfo info;
  info.wait_reasons = code_ ? code_->wait_reasons() : std::vector<std::string>{};
  info.stacks = &stacks_;
  return info;
}

void TraceReader::set_damage(std::string what) {
  if (damage_.empty()) damage_ = name_ + ": " + std::move(what);
  done_ = true;
}

Expected<void> TraceReader::read_header() {
  const std::string not_a_trace = name_ + " is not a goscope trace file";
  if (file_size_ == 0)
    return make_error(name_ + " is empty (not a goscope trace file; was the recorder killed at once?)");
  std::array<uint8_t, kFileHeaderSize> header{};
  const size_t have = static_cast<size_t>(std::min<uint64_t>(file_size_, header.size()));
  GS_CHECK(source_->read(0, header.data(), have));
  const size_t signature = std::min(have, kFileSignature.size());
  if (!std::equal(kFileSignature.begin(), kFileSignature.begin() + static_cast<long>(signature),
                  header.begin()))
    return make_error(not_a_trace + " (it does not start with goscope's trace signature)");
  if (have < kFileHeaderSize)
    return make_error(name_ + ": the file is cut short inside its " + std::to_string(kFileHeaderSize) +
                      "-byte header (" + std::to_string(have) + " bytes; was the recorder killed at once?)");
  const uint32_t version = get_u32(&header[8]);
  if (version > kTraceFormatVersion)
    return make_error(name_ + " was written by a newer goscope (trace format version " +
                      std::to_string(version) + "; this goscope reads up to version " +
                      std::to_string(kTraceFormatVersion) + "): open it with a newer goscope");
  if (version == 0 || get_u32(&header[12]) != 0)
    return make_error(name_ + ": the file header is damaged (format version " + std::to_string(version) +
                      ")");
  offset_ = kFileHeaderSize;
  if (file_size_ == kFileHeaderSize)
    return make_error(name_ + ": the file ends before its header block (was the recorder killed at once?)");
  if (!load_block())
    return make_error(damage_ + " (that is the header block: nothing in the file is readable)");
  if (!code_) return make_error(name_ + ": the header block has no header record: the file is damaged");
  return {};
}

bool TraceReader::load_block() {
  block_.clear();
  block_pos_ = values_pos_ = values_end_ = 0;
  if (done_) return false;
  const uint64_t index = blocks_read_;
  const uint64_t at = offset_;
  const std::string where = "block " + std::to_string(index) + " at byte " + std::to_string(at);
  if (end_ && at < file_size_) {
    set_damage(where + " follows the end record: the file is damaged from byte " + std::to_string(at) +
               " on");
    return false;
  }
  if (at >= file_size_) {
    if (!end_)
      set_damage("the recording did not end cleanly: the file ends after " + std::to_string(index) +
                 " blocks without an end record (was the recorder killed?); everything in it was read");
    done_ = true;
    return false;
  }
  const std::string damaged_from = ": the file is damaged from byte " + std::to_string(at) + " on";
  const uint64_t left = file_size_ - at;
  if (left < kBlockHeaderSize) {
    set_damage(where + " is cut short (the file ends inside its header, " +
               std::to_string(kBlockHeaderSize - left) + " bytes early at least; was the recorder killed?)");
    return false;
  }
  std::array<uint8_t, kBlockHeaderSize> h{};
  if (auto r = source_->read(at, h.data(), h.size()); !r) {
    set_damage(r.error().message);
    return false;
  }
  if (!std::equal(kBlockSignature.begin(), kBlockSignature.end(), h.begin()) ||
      (kVerifyChecksums && get_u32(&h[20]) != crc(h.data(), 20))) {
    set_damage(where + " has a damaged header (checksum mismatch)" + damaged_from);
    return false;
  }
  const uint8_t flags = h[4];
  const uint32_t stored = get_u32(&h[8]);
  const uint32_t raw_size = get_u32(&h[12]);
  if ((flags & ~kBlockDeflated) != 0 || h[5] != 0 || h[6] != 0 || h[7] != 0) {
    set_damage(where + " has flags this goscope does not know" + damaged_from);
    return false;
  }
  if (stored > kTraceBlockLimit || raw_size > kTraceBlockLimit) {
    set_damage(where + " declares " + std::to_string(std::max(stored, raw_size)) +
               " bytes, more than any goscope writes" + damaged_from);
    return false;
  }
  if (left - kBlockHeaderSize < stored) {
    set_damage(where + " is cut short (the file ends " + std::to_string(stored - (left - kBlockHeaderSize)) +
               " bytes early; was the recorder killed?)");
    return false;
  }
  std::vector<uint8_t> payload(stored);
  if (auto r = source_->read(at + kBlockHeaderSize, payload.data(), payload.size()); !r) {
    set_damage(r.error().message);
    return false;
  }
  if (kVerifyChecksums && crc(payload.data(), payload.size()) != get_u32(&h[16])) {
    set_damage(where + ": checksum mismatch" + damaged_from);
    return false;
  }
  if (flags & kBlockDeflated) {
    if (raw_size > uint64_t(stored) * kMaxInflateRatio + 64) {
      set_damage(where + " declares more inflated bytes than deflate can produce" + damaged_from);
      return false;
    }
    block_.resize(raw_size);
    z_stream z{};
    bool inflated = false;
    if (inflateInit2(&z, -MAX_WBITS) == Z_OK) {
      z.next_in = payload.data();
      z.avail_in = static_cast<uInt>(payload.size());
      z.next_out = block_.data();
      z.avail_out = static_cast<uInt>(block_.size());
      inflated = inflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out == raw_size && z.avail_in == 0;
      inflateEnd(&z);
    }
    if (!inflated) {
      block_.clear();
      set_damage(where + " does not inflate" + damaged_from);
      return false;
    }
  } else {
    if (raw_size != stored) {
      set_damage(where + " has inconsistent sizes" + damaged_from);
      return false;
    }
    block_ = std::move(payload);
  }
  offset_ = at + kBlockHeaderSize + stored;
  block_index_ = index;
  block_offset_ = at;
  blocks_read_++;

  Cursor c(block_.data(), block_.size());
  const size_t definitions = c.count();
  const size_t values = c.count();
  if (c.ok() && definitions + values > c.left()) c.fail("the sections exceed the block");
  Cursor d(block_.data() + c.pos(), c.ok() ? definitions : 0);
  auto read = c.ok() ? read_definitions(d) : Expected<void>(make_error(c.error()));
  if (!read) {
    block_.clear();
    set_damage(where + " holds a malformed definition (" + read.error().message + ")" + damaged_from);
    return false;
  }
  values_pos_ = c.pos() + definitions;
  values_end_ = values_pos_ + values;
  block_pos_ = values_end_;
  for (auto& e : last_) e = model::Event{};
  last_time_ = 0;
  return true;
}

Expected<void> TraceReader::read_definitions(Cursor& c) {
  uint64_t last_address = 0;
  auto address = [&] {
    last_address = undelta(last_address, c.varint());
    return last_address;
  };
  // A code-table string: a reference to an earlier one, or a new one.
  auto string_ref = [&]() -> uint32_t {
    const uint64_t ref = c.varint();
    if (ref == 0) return code_->add_string(c.text());
    if (ref > code_->string_count()) c.fail("a string reference is out of range");
    return c.ok() ? static_cast<uint32_t>(ref - 1) : 0;
  };
  while (!c.at_end() && c.ok()) {
    const uint8_t type = c.u8();
    if (!code_ && type != kRecordHeader) {
      c.fail("the file does not begin with its header record");
      break;
    }
    switch (type) {
      case kRecordHeader: {
        if (code_) {
          c.fail("a second header record");
          break;
        }
        meta_ = read_meta(c);
        sym::BuildInfo build_info = read_build_info(c);
        sym::GoOffsets offsets = read_offsets(c);
        std::vector<std::string> wait_reasons;
        for (size_t n = c.count(); n > 0 && c.ok(); n--) wait_reasons.push_back(c.text());
        std::string goroot_src = c.text();
        if (c.ok())
          code_ = std::make_shared<StoredCodeInfo>(std::move(build_info), offsets, std::move(wait_reasons),
                                                   std::move(goroot_src));
        break;
      }
      case kRecordCodeAddress: {
        const uint64_t vaddr = address();
        std::optional<uint64_t> entry;
        if (c.boolean()) entry = undelta(vaddr, c.varint());
        std::vector<StoredCodeInfo::StoredFrame> frames(c.count(3));
        for (auto& f : frames) {
          f.function = string_ref();
          f.file = string_ref();
          const uint64_t line = c.varint();
          f.inlined = line & 1;
          const int64_t l = unzigzag(line >> 1);
          if (l < std::numeric_limits<int>::min() || l > std::numeric_limits<int>::max())
            c.fail("a line is out of range");
          f.line = static_cast<int>(l);
        }
        if (c.ok()) code_->add_address(vaddr, std::move(frames), entry);
        break;
      }
      case kRecordLockLines: {
        const uint64_t entry = address();
        state::LockLines lines;
        for (auto* list : {&lines.lock, &lines.rlock})
          for (size_t n = c.count(); n > 0 && c.ok(); n--) list->push_back(c.int32());
        if (c.ok()) code_->add_lock_lines(entry, std::move(lines));
        break;
      }
      case kRecordStack: {
        const uint64_t id = c.varint();
        if (c.ok() && id != stack_ids_.size() + 1) {
          c.fail("stack " + std::to_string(id) + " is defined out of order");
          break;
        }
        std::vector<uint64_t> pcs(c.count());
        for (auto& pc : pcs) pc = address();
        if (pcs.empty()) c.fail("an empty stack");
        if (c.ok()) stack_ids_.push_back(stacks_.intern(pcs));
        break;
      }
      default:
        c.fail("a record of unknown type " + std::to_string(type));
    }
  }
  if (!c.ok()) return make_error(c.error());
  return {};
}

Expected<bool> TraceReader::read_item(Cursor& c, Cursor& v) {
  const uint8_t type = c.u8();
  Item& item = item_;
  if (type < kEventKinds) {
    model::Event& last = last_[type];
    model::Event& e = item.event;
    item.kind = Item::Kind::kEvent;
    e = model::Event{};
    e.kind = static_cast<model::EventKind>(type);
    const uint64_t mask = c.varint();
    if (mask & ~uint64_t(kFieldAll_)) c.fail("an event has fields this goscope does not know");
    e.time_ns = static_cast<int64_t>(undelta(static_cast<uint64_t>(last_time_), v.varint()));
    const uint64_t tid = undelta(last.tid, v.varint());
    if (tid > UINT32_MAX) v.fail("a thread id is out of range");
    e.tid = static_cast<uint32_t>(tid);
    // begin_ns is stored as the duration up to time_ns.
    if (mask & kFieldBegin)
      e.begin_ns = static_cast<int64_t>(e.time_ns - static_cast<uint64_t>(unzigzag(v.varint())));
    if (!v.ok()) c.fail("the block's values end early (" + v.error() + ")");
    const uint64_t file_stack = read_event_fields(c, mask, last, e);
    if (file_stack > stack_ids_.size())
      c.fail("an event refers to stack " + std::to_string(file_stack) + ", never defined");
    if (!c.ok()) return make_error(c.error());
    last_time_ = e.time_ns;
    last = e;
    last.stack = static_cast<model::StackId>(file_stack);
    e.stack = file_stack == 0 ? 0 : stack_ids_[file_stack - 1];
    events_read_++;
    return true;
  }
  switch (type) {
    case kRecordSeed:
      item.kind = Item::Kind::kSeed;
      item.seed = read_seed(c);
      break;
    case kRecordFinding: {
      item.kind = Item::Kind::kFinding;
      const std::string text = c.text();
      if (!c.ok()) break;
      auto f = finding_from_text(text);
      if (!f) return make_error(f.error().message);
      item.finding = std::move(*f);
      break;
    }
    case kRecordNote:
      item.kind = Item::Kind::kNote;
      item.note = c.text();
      break;
    case kRecordEnd: {
      model::TraceEnd end = read_end(c);
      if (!c.ok()) break;
      end_ = std::move(end);
      return false;
    }
    default:
      c.fail("a record of unknown type " + std::to_string(type));
  }
  if (!c.ok()) return make_error(c.error());
  return true;
}

const TraceReader::Item* TraceReader::next() {
  while (!done_) {
    const std::string where =
        "block " + std::to_string(block_index_) + " at byte " + std::to_string(block_offset_);
    const std::string damaged_from =
        ": the file is damaged from byte " + std::to_string(block_offset_) + " on";
    if (block_pos_ >= block_.size()) {
      if (values_pos_ != values_end_) {
        set_damage(where + " has values no record used" + damaged_from);
        return nullptr;
      }
      if (!load_block()) return nullptr;
      continue;
    }
    if (end_) {
      set_damage(where + " has more after the end record" + damaged_from);
      return nullptr;
    }
    Cursor c(block_.data(), block_.size(), block_pos_);
    Cursor v(block_.data(), values_end_, values_pos_);
    auto item = read_item(c, v);
    if (!item) {
      set_damage(where + " holds a malformed record (" + item.error().message + ")" + damaged_from);
      return nullptr;
    }
    block_pos_ = c.pos();
    values_pos_ = v.pos();
    if (*item) return &item_;
  }
  return nullptr;
}

}  // namespace goscope::tracefile

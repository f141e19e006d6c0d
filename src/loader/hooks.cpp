#include "loader/hooks.h"

#include <array>

#include "loader/event_decoder.h"

namespace goscope::loader {

using model::Event;
using model::EventKind;
using model::ObjectKind;
using model::ObjectRef;

namespace {

constexpr uint64_t kZeroFlag = 1u << 6;  // ZF in eflags
constexpr uint64_t kSignFlag = 1u << 7;  // SF in eflags

gs_deref deref(uint32_t offset) {
  gs_deref d{};
  d.base = 0;  // RAX
  d.offset = offset;
  return d;
}

// ---- What BPF reads (make_plan has already required g.goid) ----

HookReads goid_of_rax(const sym::GoOffsets& o) {
  return {{deref(*o.g_goid)}, {}};
}

HookReads newproc1_reads(const sym::GoOffsets& o) {
  // RAX is the new g: its id, the go statement, its function, its parent (1.21+).
  HookReads r;
  r.ret.push_back(deref(*o.g_goid));
  if (o.g_gopc && o.g_startpc) {
    r.ret.push_back(deref(*o.g_gopc));
    r.ret.push_back(deref(*o.g_startpc));
    if (o.g_parent_goid) r.ret.push_back(deref(*o.g_parent_goid));
  }
  return r;
}

HookReads makechan_reads(const sym::GoOffsets& o) {
  HookReads r;
  if (o.hchan_dataqsiz && o.hchan_elemsize) r.ret = {deref(*o.hchan_dataqsiz), deref(*o.hchan_elemsize)};
  return r;
}

// ---- Decoding: one function per hook (or per family sharing its logic) ----

void decode_newproc1(DecodeContext& c, Event& e) {
  e.kind = EventKind::kGoCreate;
  const uint64_t creator = e.goid;
  e.goid = c.word(0);
  e.other_goid = c.ndata() >= 4 ? c.word(3) : creator;
  if (c.ndata() >= 3) {
    e.pc = c.word(1) - c.bias();
    e.start_pc = c.word(2) - c.bias();
  }
  c.emit(std::move(e));
}

void decode_goexit1(DecodeContext& c, Event& e) {
  e.kind = EventKind::kGoExit;
  c.forget(e.goid);
  c.emit(std::move(e));
}

void decode_gopark(DecodeContext& c, Event& e) {
  e.kind = EventKind::kPark;
  e.wait_reason = static_cast<uint8_t>(c.reg(2));
  for (unsigned i = 0; i < c.ndata(); i++) {
    const uint64_t w = c.word(i);
    ObjectRef o;
    o.address = w & ~uint64_t{1};
    o.kind = ObjectKind::kChannel;
    if (w & 1) o.flags |= model::kInSelect;
    if (o.address) e.objects.push_back(o);
  }
  if (auto it = c.sync_wait.find(e.goid); it != c.sync_wait.end()) {
    // The semaphore / Cond / WaitGroup it announced just before parking, if it parks
    // inside the announcing function: semacquire1 and notifyListWait often return
    // at once, and a later park (a sleep, a read) is not about that object.
    // Without frames there is nothing to contradict the announcement.
    const bool same_wait = e.stack == 0 || c.stack_has(e.stack, it->second.function);
    if (e.objects.empty() && same_wait) e.objects.push_back(it->second.object);
    c.sync_wait.erase(it);
  }
  if (e.objects.empty() && c.reg(1)) {
    // What gopark's lock argument points to, by what the runtime says it waits for.
    const std::string_view reason = c.wait_reason(e.wait_reason);
    ObjectKind kind = ObjectKind::kOther;
    if (reason == "IO wait") kind = ObjectKind::kNetwork;  // the pollDesc's rg/wg word
    if (reason == "sleep" || reason.starts_with("timer")) kind = ObjectKind::kTimer;
    e.objects.push_back({c.reg(1), kind, 0});
  }
  if (!e.objects.empty()) {
    e.object = e.objects.front().address;
    e.object_kind = e.objects.front().kind;
  }
  c.emit(std::move(e));
}

void decode_ready(DecodeContext& c, Event& e) {
  e.kind = EventKind::kReady;
  e.other_goid = c.word(0);
  c.emit(std::move(e));
}

void decode_makechan(DecodeContext& c, Event& e) {
  e.kind = EventKind::kChanMake;
  e.object = c.reg(0);
  e.object_kind = ObjectKind::kChannel;
  e.value = static_cast<int64_t>(c.word(0));
  e.value2 = static_cast<int64_t>(c.word(1) & 0xffff);
  c.emit(std::move(e));
}

void decode_closechan(DecodeContext& c, Event& e) {
  e.kind = EventKind::kChanClose;
  e.object = c.reg(0);
  e.object_kind = ObjectKind::kChannel;
  c.emit(std::move(e));
}

// chansend / chanrecv: entry RAX = c, RCX = block; RET RAX = sent / selected, RBX = received.
void decode_chan_op(DecodeContext& c, Event& e) {
  const bool send = c.site().hook == Hook::kChansend;
  if (!c.ret()) {
    Pending p;
    p.time_ns = e.time_ns;
    p.object = c.reg(0);
    p.flags = (c.reg(2) & 0xff) ? model::kBlocking : 0;
    p.stack = e.stack;
    c.pend(e.goid, std::move(p));
    return;
  }
  Pending p;
  if (!c.take(e.goid, p)) return;
  e.kind = send ? EventKind::kChanSend : EventKind::kChanRecv;
  e.object = p.object;
  e.object_kind = ObjectKind::kChannel;
  e.begin_ns = p.time_ns;
  e.stack = p.stack;
  e.flags |= p.flags;
  if (c.reg(0) & 0xff) e.flags |= model::kOk;
  if (!send && (c.reg(1) & 0xff)) e.flags |= model::kReceived;
  c.emit(std::move(e));
}

void decode_selectgo(DecodeContext& c, Event& e) {
  if (!c.ret()) {
    Pending p;
    p.time_ns = e.time_ns;
    p.flags = (c.reg(5) & 0xff) ? model::kBlocking : 0;
    p.flags |= e.flags & model::kMoreObjects;
    p.stack = e.stack;
    const uint64_t nsends = c.reg(3);
    for (unsigned i = 0; i < c.ndata(); i++)
      p.objects.push_back(
          {c.word(i), ObjectKind::kChannel, i >= nsends ? uint16_t(model::kRecvCase) : uint16_t(0)});
    c.pend(e.goid, std::move(p));
    return;
  }
  Pending p;
  if (!c.take(e.goid, p)) return;
  e.kind = EventKind::kSelect;
  e.begin_ns = p.time_ns;
  e.stack = p.stack;
  e.flags |= p.flags;
  e.objects = std::move(p.objects);
  e.value = static_cast<int64_t>(c.reg(0));
  if (c.reg(1) & 0xff) e.flags |= model::kReceived;
  if (e.value >= 0 && static_cast<size_t>(e.value) < e.objects.size()) {
    e.object = e.objects[e.value].address;
    e.object_kind = ObjectKind::kChannel;
  }
  c.emit(std::move(e));
}

// semacquire1 / semrelease1: RAX = the semaphore, named by the stack that touched it.
void decode_sema(DecodeContext& c, Event& e) {
  const bool acquire = c.site().hook == Hook::kSemacquire;
  const ObjectRef g = c.sync_object(c.reg(0), e.stack);
  e.kind = acquire ? EventKind::kSyncBlock : EventKind::kSyncRelease;
  e.object = g.address;
  e.object_kind = g.kind;
  e.flags |= g.flags;
  if (acquire) c.sync_wait[e.goid] = {g, c.site().function};
  c.emit(std::move(e));
}

// Mutex.lockSlow / RWMutex.Lock: entry RAX = the lock; RET: held.
void decode_lock(DecodeContext& c, Event& e) {
  const bool slow = c.site().hook == Hook::kMutexLockSlow;
  const sym::GoOffsets& o = c.offsets();
  if (!c.ret()) {
    Pending p;
    p.time_ns = e.time_ns;
    p.object = c.reg(0);
    p.kind = ObjectKind::kMutex;
    if (!slow || c.stack_has(e.stack, "sync.(*RWMutex).Lock")) {
      p.kind = ObjectKind::kRWMutex;
      if (slow && o.rwmutex_w) p.object -= *o.rwmutex_w;
    }
    p.stack = e.stack;
    c.pend(e.goid, std::move(p));
    return;
  }
  Pending p;
  if (!c.take(e.goid, p)) return;
  // RWMutex.Lock's own writers' mutex is reported by the RWMutex.Lock hook when present.
  if (slow && p.kind == ObjectKind::kRWMutex && c.plan().count(Hook::kRWMutexLock) > 0) return;
  e.kind = EventKind::kMutexLock;
  e.object = p.object;
  e.object_kind = p.kind;
  e.begin_ns = p.time_ns;
  e.stack = p.stack;
  if (slow) e.flags |= model::kContended;
  c.emit(std::move(e));
}

void decode_mutex_unlock_slow(DecodeContext& c, Event& e) {
  if (auto it = c.inline_unlock.find(e.goid); it != c.inline_unlock.end()) {
    const bool same = it->second == c.reg(0);
    c.inline_unlock.erase(it);
    if (same) return;  // the release was reported at its atomic; this is its wake-up half
  }
  e.kind = EventKind::kMutexUnlock;
  e.object = c.reg(0);
  e.object_kind = ObjectKind::kMutex;
  if (c.stack_has(e.stack, "sync.(*RWMutex).Unlock")) {
    if (c.plan().count(Hook::kRWMutexUnlock)) return;  // reported by that hook
    e.object_kind = ObjectKind::kRWMutex;
    if (c.offsets().rwmutex_w) e.object -= *c.offsets().rwmutex_w;
  }
  e.flags |= model::kContended;  // there were waiters
  c.emit(std::move(e));
}

void decode_rwmutex_unlock(DecodeContext& c, Event& e) {
  e.kind = EventKind::kMutexUnlock;
  e.object = c.reg(0);
  e.object_kind = ObjectKind::kRWMutex;
  c.emit(std::move(e));
}

void decode_waitgroup_wait(DecodeContext& c, Event& e) {
  e.kind = EventKind::kWaitGroupWait;
  e.object = c.reg(0);
  e.object_kind = ObjectKind::kWaitGroup;
  c.emit(std::move(e));
}

// notifyListWait / NotifyOne / NotifyAll: RAX = &cond.notify.
void decode_notify(DecodeContext& c, Event& e) {
  const Hook h = c.site().hook;
  e.object = c.reg(0) - c.offsets().cond_notify.value_or(0);
  e.object_kind = ObjectKind::kCond;
  if (h == Hook::kNotifyListWait) {
    e.kind = EventKind::kCondWait;
    c.sync_wait[e.goid] = {{e.object, ObjectKind::kCond, 0}, c.site().function};
  } else {
    e.kind = EventKind::kCondSignal;
    e.value = h == Hook::kNotifyOne ? 1 : 0;
  }
  c.emit(std::move(e));
}

void decode_stop_the_world(DecodeContext& c, Event& e) {
  e.kind = EventKind::kStopTheWorld;
  e.value = c.has_stw_reason() ? static_cast<int64_t>(c.reg(0) & 0xff) : -1;
  c.emit(std::move(e));
}

void decode_start_the_world(DecodeContext& c, Event& e) {
  e.kind = EventKind::kStartTheWorld;
  c.emit(std::move(e));
}

void decode_casgstatus(DecodeContext& c, Event& e) {
  e.kind = EventKind::kStatus;
  e.other_goid = e.goid;
  e.goid = c.word(0);
  e.value = static_cast<int64_t>(((c.reg(1) & 0xffffffff) << 32) | (c.reg(2) & 0xffffffff));
  c.emit(std::move(e));
}

// After an inlined Mutex.Lock CMPXCHG / Mutex.Unlock XADD: operand address, eflags.
void decode_inline_mutex(DecodeContext& c, Event& e) {
  const bool lock = c.site().hook == Hook::kInlineLock;
  const bool zero = c.word(1) & kZeroFlag;
  const uint64_t mutex = c.word(0) - c.offsets().mutex_state.value_or(0);
  if (lock && !zero) return;  // not acquired: lockSlow follows and reports it
  e.kind = lock ? EventKind::kMutexLock : EventKind::kMutexUnlock;
  e.object = mutex;
  e.object_kind = ObjectKind::kMutex;
  // An Unlock with ZF clear leaves the state non-zero (waiters, or the woken / starving
  // bits): unlockSlow follows at once and its record is the wake-up half of this release.
  // With ZF set nothing follows, and remembering the mutex would swallow a later unlockSlow.
  if (!lock && !zero) {
    c.inline_unlock[e.goid] = mutex;
    e.flags |= model::kContended;
  }
  if (c.site().rwmutex_writer) {
    // The writers' mutex inside RWMutex.Lock / Unlock: the same lock as the RWMutex (at
    // the same address when `w` comes first). With the RWMutex hooks planned, they report it.
    if (c.plan().count(lock ? Hook::kRWMutexLock : Hook::kRWMutexUnlock)) return;
    e.object = mutex - c.offsets().rwmutex_w.value_or(0);
    e.object_kind = ObjectKind::kRWMutex;
  }
  c.emit(std::move(e));
}

// After an inlined RWMutex.RLock / RUnlock XADD on readerCount.
void decode_inline_rw(DecodeContext& c, Event& e) {
  const bool rlock = c.site().hook == Hook::kInlineRLock;
  e.kind = rlock ? EventKind::kRLock : EventKind::kRUnlock;
  e.object = c.word(0) - c.offsets().rwmutex_reader_count.value_or(0);
  e.object_kind = ObjectKind::kRWMutex;
  // RLock's XADD leaving readerCount negative (SF set) means a writer is pending:
  // this reader sleeps on readerSem before it really holds the lock.
  if (rlock && (c.word(1) & kSignFlag)) e.flags |= model::kContended;
  c.emit(std::move(e));
}

constexpr uint8_t kEntry = kAtEntry;
constexpr uint8_t kRet = kAtReturn;
constexpr uint8_t kBoth = kAtEntry | kAtReturn;
using S = HookSet;
using sym::AtomicKind;

// From Go 1.24 on sync.Mutex's fast paths are internal/sync's, inlined into sync's: a build
// without inlining (or a caller the compiler did not inline into) executes the atomic in
// internal/sync's own body, hence both names for the Mutex hooks.
const std::vector<HookDescriptor>& table() {
  static const std::vector<HookDescriptor> t = {
      {Hook::kNewproc1, "newproc1", {"runtime.newproc1"}, kRet, S::kDefault, 0, newproc1_reads,
       AtomicKind::kLockCmpxchg, decode_newproc1},
      {Hook::kGoexit1, "goexit1", {"runtime.goexit1"}, kEntry, S::kDefault, 0, nullptr, AtomicKind::kLockCmpxchg,
       decode_goexit1},
      {Hook::kGopark, "gopark", {"runtime.gopark"}, kEntry, S::kDefault, GS_SITE_WALK_WAITING, nullptr,
       AtomicKind::kLockCmpxchg, decode_gopark},
      {Hook::kGoready, "goready", {"runtime.goready"}, 0, S::kNever, 0, nullptr, AtomicKind::kLockCmpxchg,
       nullptr},
      // goready is inlined from Go 1.21 on; ready() does the work on the system stack
      // (R14 is g0 there: the waker is g.m.curg, the wakee is RAX).
      {Hook::kReady, "ready", {"runtime.ready"}, kEntry, S::kDefault, 0, goid_of_rax, AtomicKind::kLockCmpxchg,
       decode_ready},
      {Hook::kMakechan, "makechan", {"runtime.makechan"}, kRet, S::kDefault, 0, makechan_reads,
       AtomicKind::kLockCmpxchg, decode_makechan},
      {Hook::kChansend, "chansend", {"runtime.chansend"}, kBoth, S::kAllOps, 0, nullptr, AtomicKind::kLockCmpxchg,
       decode_chan_op},
      {Hook::kChanrecv, "chanrecv", {"runtime.chanrecv"}, kBoth, S::kAllOps, 0, nullptr, AtomicKind::kLockCmpxchg,
       decode_chan_op},
      {Hook::kClosechan, "closechan", {"runtime.closechan"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_closechan},
      {Hook::kSelectgo, "selectgo", {"runtime.selectgo"}, kBoth, S::kAllOps, GS_SITE_READ_SCASES, nullptr,
       AtomicKind::kLockCmpxchg, decode_selectgo},
      {Hook::kSemacquire, "semacquire1", {"runtime.semacquire1"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_sema},
      {Hook::kSemrelease, "semrelease1", {"runtime.semrelease1"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_sema},
      {Hook::kMutexLockSlow, "mutex_lockslow", {"internal/sync.(*Mutex).lockSlow", "sync.(*Mutex).lockSlow"},
       kBoth, S::kDefault, 0, nullptr, AtomicKind::kLockCmpxchg, decode_lock},
      {Hook::kMutexUnlockSlow, "mutex_unlockslow",
       {"internal/sync.(*Mutex).unlockSlow", "sync.(*Mutex).unlockSlow"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_mutex_unlock_slow},
      {Hook::kRWMutexRLock, "rwmutex_rlock", {"sync.(*RWMutex).RLock"}, 0, S::kNever, 0, nullptr,
       AtomicKind::kLockCmpxchg, nullptr},
      {Hook::kRWMutexRUnlock, "rwmutex_runlock", {"sync.(*RWMutex).RUnlock"}, 0, S::kNever, 0, nullptr,
       AtomicKind::kLockCmpxchg, nullptr},
      {Hook::kRWMutexLock, "rwmutex_lock", {"sync.(*RWMutex).Lock"}, kBoth, S::kAllOps, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_lock},
      {Hook::kRWMutexUnlock, "rwmutex_unlock", {"sync.(*RWMutex).Unlock"}, kEntry, S::kAllOps, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_rwmutex_unlock},
      {Hook::kWaitGroupWait, "waitgroup_wait", {"sync.(*WaitGroup).Wait"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_waitgroup_wait},
      {Hook::kNotifyListWait, "notifylist_wait", {"sync.runtime_notifyListWait", "runtime.notifyListWait"},
       kEntry, S::kDefault, 0, nullptr, AtomicKind::kLockCmpxchg, decode_notify},
      {Hook::kNotifyOne, "notifylist_notify_one",
       {"sync.runtime_notifyListNotifyOne", "runtime.notifyListNotifyOne"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_notify},
      {Hook::kNotifyAll, "notifylist_notify_all",
       {"sync.runtime_notifyListNotifyAll", "runtime.notifyListNotifyAll"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_notify},
      {Hook::kStopTheWorld, "stop_the_world", {"runtime.stopTheWorldWithSema"}, kEntry, S::kDefault, 0, nullptr,
       AtomicKind::kLockCmpxchg, decode_stop_the_world},
      {Hook::kStartTheWorld, "start_the_world", {"runtime.startTheWorldWithSema"}, kEntry, S::kDefault, 0,
       nullptr, AtomicKind::kLockCmpxchg, decode_start_the_world},
      {Hook::kCasgstatus, "casgstatus", {"runtime.casgstatus"}, kEntry, S::kScheduler, GS_SITE_NO_STACK,
       goid_of_rax, AtomicKind::kLockCmpxchg, decode_casgstatus},
      {Hook::kInlineLock, "inlined Mutex.Lock", {"sync.(*Mutex).Lock", "internal/sync.(*Mutex).Lock"}, kAtAtomic,
       S::kLockHolders, GS_SITE_READ_ATOMIC, nullptr, AtomicKind::kLockCmpxchg, decode_inline_mutex},
      {Hook::kInlineUnlock, "inlined Mutex.Unlock", {"sync.(*Mutex).Unlock", "internal/sync.(*Mutex).Unlock"},
       kAtAtomic, S::kLockHolders, GS_SITE_READ_ATOMIC, nullptr, AtomicKind::kLockXadd, decode_inline_mutex},
      {Hook::kInlineRLock, "inlined RWMutex.RLock", {"sync.(*RWMutex).RLock"}, kAtAtomic, S::kLockHolders,
       GS_SITE_READ_ATOMIC, nullptr, AtomicKind::kLockXadd, decode_inline_rw},
      {Hook::kInlineRUnlock, "inlined RWMutex.RUnlock", {"sync.(*RWMutex).RUnlock"}, kAtAtomic, S::kLockHolders,
       GS_SITE_READ_ATOMIC, nullptr, AtomicKind::kLockXadd, decode_inline_rw},
  };
  return t;
}

}  // namespace

std::span<const HookDescriptor> hook_table() {
  return table();
}

const HookDescriptor* hook_descriptor(Hook h) {
  static const auto by_hook = [] {
    std::array<const HookDescriptor*, static_cast<size_t>(Hook::kCount_)> a{};
    for (const HookDescriptor& d : table()) a[static_cast<size_t>(d.hook)] = &d;
    return a;
  }();
  const auto i = static_cast<size_t>(h);
  return i < by_hook.size() ? by_hook[i] : nullptr;
}

const char* hook_name(Hook h) {
  if (h == Hook::kNone) return "none";
  const HookDescriptor* d = hook_descriptor(h);
  return d ? d->name : "?";
}

}  // namespace goscope::loader

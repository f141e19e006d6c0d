#include "loader/event_decoder.h"

#include <algorithm>
#include <cstring>

namespace goscope::loader {

using model::Event;
using model::EventKind;
using model::ObjectKind;
using model::ObjectRef;

namespace {

constexpr uint64_t kZeroFlag = 1u << 6;  // ZF in eflags
constexpr uint64_t kSignFlag = 1u << 7;  // SF in eflags

}  // namespace

EventDecoder::EventDecoder(const sym::GoBinary& binary, const Plan& plan, model::StackTable& stacks)
    : bin_(binary), plan_(plan), offsets_(binary.offsets().offsets), stacks_(stacks) {
  has_stw_reason_ = binary.build_info().version.at_least(1, 21);
  wait_reasons_ = binary.offsets().wait_reasons;
}

void EventDecoder::pend(PendingByGoid& map, uint64_t goid, Pending p) {
  auto [it, inserted] = map.try_emplace(goid);
  if (!inserted) stats_.unpaired++;  // the previous entry never returned while we watched
  it->second = std::move(p);
}

void EventDecoder::forget(uint64_t goid) {
  // An exited goroutine never returns from what it entered: those halves stay unpaired.
  for (PendingByGoid* m : {&send_, &recv_, &select_, &lock_slow_, &rw_lock_})
    stats_.unpaired += m->erase(goid);
  sync_wait_.erase(goid);
  inline_unlock_.erase(goid);
}

bool EventDecoder::take(PendingByGoid& map, uint64_t goid, Pending& out) {
  auto it = map.find(goid);
  if (it == map.end()) {
    stats_.unpaired++;
    return false;
  }
  out = std::move(it->second);
  map.erase(it);
  return true;
}

const std::vector<std::string>& EventDecoder::functions_of(model::StackId stack) {
  auto [it, inserted] = functions_.try_emplace(stack);
  if (!inserted) return it->second;
  auto pcs = stacks_.get(stack);
  // Return addresses point after the call: look up address - 1 (not for the probe's own pc).
  std::vector<uint64_t> lookup(pcs.begin(), pcs.end());
  for (size_t i = 1; i < lookup.size(); i++) lookup[i] -= 1;
  for (const auto& s : bin_.symbolize_vaddrs(lookup))
    for (const auto& f : s.frames) it->second.emplace_back(f.function);
  return it->second;
}

bool EventDecoder::stack_has(model::StackId stack, std::string_view function) {
  for (const auto& f : functions_of(stack))
    if (f == function) return true;
  return false;
}

model::ObjectRef EventDecoder::sync_object(uint64_t semaphore, model::StackId stack) {
  const auto& fns = functions_of(stack);
  std::vector<std::string_view> views(fns.begin(), fns.end());
  return sym::semaphore_object(semaphore, views, offsets_);
}

void EventDecoder::decode_sample(std::span<const uint8_t> record, const model::EventSink& sink) {
  gs_cpu_sample s;
  if (record.size() < GS_CPU_SAMPLE_FIXED) {
    stats_.malformed++;
    return;
  }
  std::memset(&s, 0, sizeof s);
  std::memcpy(&s, record.data(), std::min(record.size(), sizeof s));
  const size_t frames = std::min<size_t>((record.size() - GS_CPU_SAMPLE_FIXED) / 8, GS_MAX_SAMPLE_FRAMES);
  if (s.nframes > frames) {
    stats_.malformed++;
    return;
  }
  std::vector<uint64_t> pcs(s.frames, s.frames + s.nframes);
  for (uint64_t& pc : pcs)
    if (pc >= bias_) pc -= bias_;
  // The kernel's frame-pointer walk does not know where a stack begins: past a goroutine's
  // first function (runtime.goexit) or a thread's (runtime.mstart, runtime.rt0_go) it reads
  // whatever the words above hold. Cut there, and at the first return address outside the
  // program's code. The sampled pc itself may be outside (the vDSO, a cgo library).
  const sym::Pclntab& tab = bin_.pclntab();
  for (size_t i = 0; i < pcs.size(); i++) {
    const auto idx = tab.function_at(i ? pcs[i] - 1 : pcs[i]);
    if (!idx) {
      if (i == 0) continue;
      pcs.resize(i);
      break;
    }
    const std::string_view fn = tab.function_name(*idx);
    if (fn == "runtime.goexit" || fn == "runtime.mstart" || fn == "runtime.rt0_go") {
      pcs.resize(i + 1);
      break;
    }
  }
  // Nothing of the program's code at all (a tick during exec): no stack rather than a wild pc.
  if (pcs.size() == 1 && !tab.function_at(pcs[0])) pcs.clear();
  Event e;
  e.kind = model::EventKind::kCpuSample;
  e.tid = s.hdr.tid;
  e.time_ns = static_cast<int64_t>(s.hdr.ktime_ns);
  e.goid = s.hdr.goid;
  if (s.flags & GS_SAMPLE_KERNEL) e.flags |= model::kInKernel;
  if (s.flags & GS_SAMPLE_SYSTEM_STACK) e.flags |= model::kSystemStack;
  e.value = sample_period_ns_ > 0 ? sample_period_ns_ : static_cast<int64_t>(s.period);
  e.value2 = s.cpu;
  e.stack = stacks_.intern(pcs);
  stats_.events++;
  sink(e);
}

void EventDecoder::decode(std::span<const uint8_t> record, const model::EventSink& sink) {
  stats_.records++;
  if (record.size() >= sizeof(gs_event_header)) {
    uint32_t type = 0;
    std::memcpy(&type, record.data(), sizeof type);
    if (type == GS_EV_CPU_SAMPLE) return decode_sample(record, sink);
  }
  gs_hook_event r;
  if (record.size() < GS_HOOK_EVENT_FIXED) {
    stats_.malformed++;
    return;
  }
  std::memset(&r, 0, sizeof r);
  std::memcpy(&r, record.data(), std::min(record.size(), sizeof r));
  // Words the record really carries: never more than r.words holds, whatever its size says.
  const size_t words =
      std::min<size_t>((record.size() - GS_HOOK_EVENT_FIXED) / 8, GS_MAX_DATA + GS_MAX_FRAMES);
  const uint32_t site_index = GS_COOKIE_SITE(r.cookie);
  if (r.hdr.type != GS_EV_HOOK || site_index >= plan_.sites.size() || r.ndata > GS_MAX_DATA ||
      r.nframes > GS_MAX_FRAMES || size_t(r.ndata) + r.nframes > words) {
    stats_.malformed++;
    return;
  }
  const PlannedSite& site = plan_.sites[site_index];
  if (static_cast<uint16_t>(site.hook) != r.hook || site.site != r.site) {
    stats_.malformed++;
    return;
  }
  bias_ = r.ip - site.vaddr;
  if (r.flags & GS_REC_DATA_FAULT) stats_.data_faults++;

  const auto* data = r.words;
  std::vector<uint64_t> pcs(r.words + r.ndata, r.words + r.ndata + r.nframes);
  for (uint64_t& pc : pcs) pc -= bias_;

  Event e;
  e.tid = r.hdr.tid;
  e.time_ns = static_cast<int64_t>(r.hdr.ktime_ns);
  e.goid = r.hdr.goid;
  if (r.flags & GS_REC_SYSTEM_STACK) e.flags |= model::kSystemStack;
  if (r.flags & GS_REC_STACK_CUT) e.flags |= model::kStackCut;
  if (r.flags & GS_REC_DATA_FAULT) e.flags |= model::kDataFault;
  if (r.flags & GS_REC_MORE_DATA) e.flags |= model::kMoreObjects;
  const auto* regs = r.regs;  // RAX RBX RCX RDI RSI R8
  auto word = [&](unsigned i) -> uint64_t { return i < r.ndata ? data[i] : 0; };
  const bool ret = site.site == GS_SITE_RET;
  // The RET half of a paired operation reports the stack of its entry: interning the
  // RET's own stack would only fill the table with stacks no event refers to.
  const bool paired = site.hook == Hook::kChansend || site.hook == Hook::kChanrecv ||
                      site.hook == Hook::kSelectgo || site.hook == Hook::kMutexLockSlow ||
                      site.hook == Hook::kRWMutexLock;
  if (!(ret && paired)) e.stack = stacks_.intern(pcs);

  auto emit = [&](Event&& ev) {
    stats_.events++;
    sink(ev);
  };

  switch (site.hook) {
    case Hook::kNewproc1: {
      e.kind = EventKind::kGoCreate;
      const uint64_t creator = e.goid;
      e.goid = word(0);
      e.other_goid = r.ndata >= 4 ? word(3) : creator;
      if (r.ndata >= 3) {
        e.pc = word(1) - bias_;
        e.start_pc = word(2) - bias_;
      }
      emit(std::move(e));
      return;
    }
    case Hook::kGoexit1:
      e.kind = EventKind::kGoExit;
      forget(e.goid);
      emit(std::move(e));
      return;
    case Hook::kGopark: {
      e.kind = EventKind::kPark;
      e.wait_reason = static_cast<uint8_t>(regs[2]);
      for (unsigned i = 0; i < r.ndata; i++) {
        ObjectRef o;
        o.address = data[i] & ~uint64_t{1};
        o.kind = ObjectKind::kChannel;
        if (data[i] & 1) o.flags |= model::kInSelect;
        if (o.address) e.objects.push_back(o);
      }
      if (auto it = sync_wait_.find(e.goid); it != sync_wait_.end()) {
        // The semaphore / Cond / WaitGroup it announced just before parking, if it parks
        // inside the announcing function: semacquire1 and notifyListWait often return
        // at once, and a later park (a sleep, a read) is not about that object.
        // Without frames there is nothing to contradict the announcement.
        const bool same_wait = e.stack == 0 || stack_has(e.stack, it->second.function);
        if (e.objects.empty() && same_wait) e.objects.push_back(it->second.object);
        sync_wait_.erase(it);
      }
      if (e.objects.empty() && regs[1]) {
        // What gopark's lock argument points to, by what the runtime says it waits for.
        const std::string_view reason =
            e.wait_reason < wait_reasons_.size() ? std::string_view(wait_reasons_[e.wait_reason]) : "";
        ObjectKind kind = ObjectKind::kOther;
        if (reason == "IO wait") kind = ObjectKind::kNetwork;  // the pollDesc's rg/wg word
        if (reason == "sleep" || reason.starts_with("timer")) kind = ObjectKind::kTimer;
        e.objects.push_back({regs[1], kind, 0});
      }
      if (!e.objects.empty()) {
        e.object = e.objects.front().address;
        e.object_kind = e.objects.front().kind;
      }
      emit(std::move(e));
      return;
    }
    case Hook::kReady:
      e.kind = EventKind::kReady;
      e.other_goid = word(0);
      emit(std::move(e));
      return;
    case Hook::kMakechan:
      e.kind = EventKind::kChanMake;
      e.object = regs[0];
      e.object_kind = ObjectKind::kChannel;
      e.value = static_cast<int64_t>(word(0));
      e.value2 = static_cast<int64_t>(word(1) & 0xffff);
      emit(std::move(e));
      return;
    case Hook::kClosechan:
      e.kind = EventKind::kChanClose;
      e.object = regs[0];
      e.object_kind = ObjectKind::kChannel;
      emit(std::move(e));
      return;
    case Hook::kChansend:
    case Hook::kChanrecv: {
      auto& pending = site.hook == Hook::kChansend ? send_ : recv_;
      if (!ret) {
        Pending p;
        p.time_ns = e.time_ns;
        p.object = regs[0];
        p.flags = (regs[2] & 0xff) ? model::kBlocking : 0;
        p.stack = e.stack;
        pend(pending, e.goid, std::move(p));
        return;
      }
      Pending p;
      if (!take(pending, e.goid, p)) return;
      e.kind = site.hook == Hook::kChansend ? EventKind::kChanSend : EventKind::kChanRecv;
      e.object = p.object;
      e.object_kind = ObjectKind::kChannel;
      e.begin_ns = p.time_ns;
      e.stack = p.stack;
      e.flags |= p.flags;
      if (regs[0] & 0xff) e.flags |= model::kOk;
      if (site.hook == Hook::kChanrecv && (regs[1] & 0xff)) e.flags |= model::kReceived;
      emit(std::move(e));
      return;
    }
    case Hook::kSelectgo: {
      if (!ret) {
        Pending p;
        p.time_ns = e.time_ns;
        p.flags = (regs[5] & 0xff) ? model::kBlocking : 0;
        p.flags |= e.flags & model::kMoreObjects;
        p.stack = e.stack;
        const uint64_t nsends = regs[3];
        for (unsigned i = 0; i < r.ndata; i++)
          p.objects.push_back(
              {data[i], ObjectKind::kChannel, i >= nsends ? uint16_t(model::kRecvCase) : uint16_t(0)});
        pend(select_, e.goid, std::move(p));
        return;
      }
      Pending p;
      if (!take(select_, e.goid, p)) return;
      e.kind = EventKind::kSelect;
      e.begin_ns = p.time_ns;
      e.stack = p.stack;
      e.flags |= p.flags;
      e.objects = std::move(p.objects);
      e.value = static_cast<int64_t>(regs[0]);
      if (regs[1] & 0xff) e.flags |= model::kReceived;
      if (e.value >= 0 && static_cast<size_t>(e.value) < e.objects.size()) {
        e.object = e.objects[e.value].address;
        e.object_kind = ObjectKind::kChannel;
      }
      emit(std::move(e));
      return;
    }
    case Hook::kSemacquire:
    case Hook::kSemrelease: {
      const model::ObjectRef g = sync_object(regs[0], e.stack);
      e.kind = site.hook == Hook::kSemacquire ? EventKind::kSyncBlock : EventKind::kSyncRelease;
      e.object = g.address;
      e.object_kind = g.kind;
      e.flags |= g.flags;
      if (site.hook == Hook::kSemacquire) sync_wait_[e.goid] = {g, site.function};
      emit(std::move(e));
      return;
    }
    case Hook::kMutexLockSlow:
    case Hook::kRWMutexLock: {
      auto& pending = site.hook == Hook::kMutexLockSlow ? lock_slow_ : rw_lock_;
      if (!ret) {
        Pending p;
        p.time_ns = e.time_ns;
        p.object = regs[0];
        p.kind = ObjectKind::kMutex;
        if (site.hook == Hook::kRWMutexLock || stack_has(e.stack, "sync.(*RWMutex).Lock")) {
          p.kind = ObjectKind::kRWMutex;
          if (site.hook == Hook::kMutexLockSlow && offsets_.rwmutex_w) p.object -= *offsets_.rwmutex_w;
        }
        p.stack = e.stack;
        pend(pending, e.goid, std::move(p));
        return;
      }
      Pending p;
      if (!take(pending, e.goid, p)) return;
      // RWMutex.Lock's own writers' mutex is reported by the RWMutex.Lock hook when present.
      if (site.hook == Hook::kMutexLockSlow && p.kind == ObjectKind::kRWMutex &&
          plan_.count(Hook::kRWMutexLock) > 0)
        return;
      e.kind = EventKind::kMutexLock;
      e.object = p.object;
      e.object_kind = p.kind;
      e.begin_ns = p.time_ns;
      e.stack = p.stack;
      if (site.hook == Hook::kMutexLockSlow) e.flags |= model::kContended;
      emit(std::move(e));
      return;
    }
    case Hook::kMutexUnlockSlow:
      if (auto it = inline_unlock_.find(e.goid); it != inline_unlock_.end()) {
        const bool same = it->second == regs[0];
        inline_unlock_.erase(it);
        if (same) return;  // the release was reported at its atomic; this is its wake-up half
      }
      e.kind = EventKind::kMutexUnlock;
      e.object = regs[0];
      e.object_kind = ObjectKind::kMutex;
      if (stack_has(e.stack, "sync.(*RWMutex).Unlock")) {
        if (plan_.count(Hook::kRWMutexUnlock)) return;  // reported by that hook
        e.object_kind = ObjectKind::kRWMutex;
        if (offsets_.rwmutex_w) e.object -= *offsets_.rwmutex_w;
      }
      e.flags |= model::kContended;  // there were waiters
      emit(std::move(e));
      return;
    case Hook::kRWMutexUnlock:
      e.kind = EventKind::kMutexUnlock;
      e.object = regs[0];
      e.object_kind = ObjectKind::kRWMutex;
      emit(std::move(e));
      return;
    case Hook::kWaitGroupWait:
      e.kind = EventKind::kWaitGroupWait;
      e.object = regs[0];
      e.object_kind = ObjectKind::kWaitGroup;
      emit(std::move(e));
      return;
    case Hook::kNotifyListWait:
    case Hook::kNotifyOne:
    case Hook::kNotifyAll:
      e.object = regs[0] - offsets_.cond_notify.value_or(0);
      e.object_kind = ObjectKind::kCond;
      if (site.hook == Hook::kNotifyListWait) {
        e.kind = EventKind::kCondWait;
        sync_wait_[e.goid] = {{e.object, ObjectKind::kCond, 0}, site.function};
      } else {
        e.kind = EventKind::kCondSignal;
        e.value = site.hook == Hook::kNotifyOne ? 1 : 0;
      }
      emit(std::move(e));
      return;
    case Hook::kStopTheWorld:
      e.kind = EventKind::kStopTheWorld;
      e.value = has_stw_reason_ ? static_cast<int64_t>(regs[0] & 0xff) : -1;
      emit(std::move(e));
      return;
    case Hook::kStartTheWorld:
      e.kind = EventKind::kStartTheWorld;
      emit(std::move(e));
      return;
    case Hook::kCasgstatus:
      e.kind = EventKind::kStatus;
      e.other_goid = e.goid;
      e.goid = word(0);
      e.value = static_cast<int64_t>(((regs[1] & 0xffffffff) << 32) | (regs[2] & 0xffffffff));
      emit(std::move(e));
      return;
    case Hook::kInlineLock:
    case Hook::kInlineUnlock: {
      const bool lock = site.hook == Hook::kInlineLock;
      const bool zero = word(1) & kZeroFlag;
      const uint64_t mutex = word(0) - offsets_.mutex_state.value_or(0);
      if (lock && !zero) return;  // not acquired: lockSlow follows and reports it
      e.kind = lock ? EventKind::kMutexLock : EventKind::kMutexUnlock;
      e.object = mutex;
      e.object_kind = ObjectKind::kMutex;
      // An Unlock with ZF clear leaves the state non-zero (waiters, or the woken / starving
      // bits): unlockSlow follows at once and its record is the wake-up half of this release.
      // With ZF set nothing follows, and remembering the mutex would swallow a later unlockSlow.
      if (!lock && !zero) {
        inline_unlock_[e.goid] = mutex;
        e.flags |= model::kContended;
      }
      if (site.rwmutex_writer) {
        // The writers' mutex inside RWMutex.Lock / Unlock: the same lock as the RWMutex (at
        // the same address when `w` comes first). With the RWMutex hooks planned, they report it.
        if (plan_.count(lock ? Hook::kRWMutexLock : Hook::kRWMutexUnlock)) return;
        e.object = mutex - offsets_.rwmutex_w.value_or(0);
        e.object_kind = ObjectKind::kRWMutex;
      }
      emit(std::move(e));
      return;
    }
    case Hook::kInlineRLock:
    case Hook::kInlineRUnlock:
      e.kind = site.hook == Hook::kInlineRLock ? EventKind::kRLock : EventKind::kRUnlock;
      e.object = word(0) - offsets_.rwmutex_reader_count.value_or(0);
      e.object_kind = ObjectKind::kRWMutex;
      // RLock's XADD leaving readerCount negative (SF set) means a writer is pending:
      // this reader sleeps on readerSem before it really holds the lock.
      if (site.hook == Hook::kInlineRLock && (word(1) & kSignFlag)) e.flags |= model::kContended;
      emit(std::move(e));
      return;
    case Hook::kNone:
    case Hook::kCount_:
      break;
  }
  stats_.malformed++;
}

}  // namespace goscope::loader

#include "state/state_model.h"

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>

#include "symbolizer/sync_objects.h"

namespace goscope::state {

using model::Event;
using model::EventKind;
using model::GStatus;
using model::ObjectKind;
using model::ObjectRef;

namespace {

void add_interval(BlockingTotals& t, int64_t duration_ns, bool ongoing) {
  t.count++;
  if (ongoing) t.ongoing++;
  t.total_ns += duration_ns;
  t.max_ns = std::max(t.max_ns, duration_ns);
}

void insert_sorted(std::vector<uint64_t>& v, uint64_t x) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it == v.end() || *it != x) v.insert(it, x);
}

void erase_sorted(std::vector<uint64_t>& v, uint64_t x) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it != v.end() && *it == x) v.erase(it);
}

// A semaphore of the snapshot, named after the sync object that contains it, as
// the event decoder names the ones it sees.
ObjectRef semaphore_object(uint64_t semaphore, const SymbolizedStack& stack, const sym::GoOffsets& offsets) {
  std::vector<std::string_view> functions;
  for (const auto& f : stack.frames)
    if (f.known()) functions.push_back(f.function);
  return sym::semaphore_object(semaphore, functions, offsets);
}

}  // namespace

const char* goroutine_state_name(GoroutineState s) {
  switch (s) {
    case GoroutineState::kUnknown:
      return "unknown";
    case GoroutineState::kRunning:
      return "running";
    case GoroutineState::kRunnable:
      return "runnable";
    case GoroutineState::kBlocked:
      return "blocked";
    case GoroutineState::kExited:
      return "exited";
  }
  return "?";
}

size_t StateModel::SiteKeyHash::operator()(const SiteKey& k) const noexcept {
  const size_t h = std::hash<std::string_view>()(k.function) * 31 + std::hash<std::string_view>()(k.file);
  return (h * 31 + static_cast<size_t>(k.line)) * 31 + k.wait_reason;
}

StateModel::StateModel(std::shared_ptr<const StackSymbolizer> symbols) : symbols_(std::move(symbols)) {}

StateModel::Record& StateModel::record(uint64_t goid, int64_t t) {
  auto [it, inserted] = goroutines_.try_emplace(goid);
  Record& r = it->second;
  if (inserted) {
    seen_++;
    r.info.goid = goid;
    r.info.first_seen_ns = r.info.last_seen_ns = r.info.since_ns = t;
  } else {
    r.info.first_seen_ns = std::min(r.info.first_seen_ns, t);
    r.info.last_seen_ns = std::max(r.info.last_seen_ns, t);
  }
  return r;
}

StateModel::Record& StateModel::act(uint64_t goid, int64_t t) {
  Record& r = record(goid, t);
  if (r.info.state == GoroutineState::kExited) return r;  // a straggler from another CPU
  unblock(r, t);
  set_state(r, GoroutineState::kRunning, t);
  return r;
}

void StateModel::set_state(Record& r, GoroutineState s, int64_t t) {
  if (r.info.state == s) return;
  r.info.state = s;
  r.info.since_ns = std::max(t, r.info.since_ns);  // another CPU's clock may be a little behind
  r.info.since_exact = true;
}

void StateModel::block(Record& r, int64_t t, uint32_t reason, std::vector<ObjectRef> objects,
                       model::StackId stack) {
  unblock(r, t);  // blocked again without a wake-up in between: that one was lost
  r.info.wait_reason = reason;
  r.info.waiting_on = std::move(objects);
  r.info.park_stack = stack;
  set_state(r, GoroutineState::kBlocked, t);
  for (const auto& o : r.info.waiting_on)
    if (o.address) insert_sorted(waiters_[o.address], r.info.goid);

  SiteKey key;
  key.wait_reason = reason;
  if (const CodeFrame* site = symbols_->stack(stack).site_frame()) {
    key.function = site->function;
    key.file = site->file;
    key.line = site->line;
  }
  r.blocking = {true, r.info.since_ns, key, stack};
}

void StateModel::unblock(Record& r, int64_t t) {
  if (r.info.state != GoroutineState::kBlocked) return;
  for (const auto& o : r.info.waiting_on) {
    auto it = waiters_.find(o.address);
    if (it == waiters_.end()) continue;
    erase_sorted(it->second, r.info.goid);
    if (it->second.empty()) waiters_.erase(it);
  }
  r.info.waiting_on.clear();
  r.info.wait_reason = 0;
  if (r.blocking.open) {
    const int64_t duration = std::max<int64_t>(0, t - r.blocking.start_ns);
    auto [it, inserted] = by_site_.try_emplace(r.blocking.site);
    if (inserted) {
      it->second.example_stack = r.blocking.stack;
      if (const CodeFrame* site = symbols_->stack(r.blocking.stack).site_frame()) it->second.site = *site;
    }
    add_interval(it->second.totals, duration, false);
    add_interval(by_reason_[r.blocking.site.wait_reason], duration, false);
    r.blocking.open = false;
  }
  // The caller sets the new state; until then it is not blocked on anything.
  r.info.state = GoroutineState::kUnknown;
}

void StateModel::exit(Record& r, int64_t t) {
  if (r.info.state == GoroutineState::kExited) return;
  unblock(r, t);
  set_state(r, GoroutineState::kExited, t);
  exited_++;
  exited_order_.push_back(r.info.goid);
  while (exited_order_.size() > kKeepExited) {
    auto it = goroutines_.find(exited_order_.front());
    if (it != goroutines_.end() && it->second.info.state == GoroutineState::kExited) goroutines_.erase(it);
    exited_order_.pop_front();
  }
}

void StateModel::classify(Record& r, model::StackId stack) {
  if (r.classified) return;
  std::string_view start;
  if (r.info.start_pc)
    start = symbols_->function_at(r.info.start_pc);
  else if (stack)
    start = symbols_->stack(stack).start_function;
  if (start.empty()) return;
  r.info.runtime = is_system_goroutine(start);
  r.classified = true;
}

void StateModel::use_channel(uint64_t channel, uint64_t goid) {
  if (!channel) return;
  auto [it, inserted] = channels_.try_emplace(channel);
  ChannelInfo& c = it->second;
  if (inserted) c.address = channel;
  if (!goid) return;
  if (c.users.size() >= ChannelInfo::kMaxUsers && !std::binary_search(c.users.begin(), c.users.end(), goid)) {
    c.users_truncated = true;
    return;
  }
  insert_sorted(c.users, goid);
}

MutexInfo& StateModel::mutex(uint64_t address, ObjectKind kind) {
  auto [it, inserted] = mutexes_.try_emplace(address);
  if (inserted) it->second.address = address;
  if (kind == ObjectKind::kRWMutex) it->second.kind = kind;  // the decoder may tell only later
  return it->second;
}

void StateModel::apply(const Event& e) {
  events_++;
  const int64_t t = e.time_ns;
  if (first_event_ns_ == 0 || t < first_event_ns_) first_event_ns_ = t;
  last_event_ns_ = std::max(last_event_ns_, t);

  switch (e.kind) {
    case EventKind::kGoCreate: {
      if (e.other_goid) act(e.other_goid, t);
      if (!e.goid) return;
      Record& r = record(e.goid, t);
      if (!r.info.creation_seen) created_++;
      r.info.creation_seen = true;
      if (e.pc) r.info.created_pc = e.pc;
      if (e.start_pc) r.info.start_pc = e.start_pc;
      r.info.parent_goid = e.other_goid;
      r.classified = false;
      classify(r, 0);
      // Its own first events may have been read first (another CPU): they know better.
      if (r.info.state == GoroutineState::kUnknown) set_state(r, GoroutineState::kRunnable, t);
      return;
    }
    case EventKind::kGoExit: {
      if (!e.goid) return;
      Record& r = record(e.goid, t);
      classify(r, e.stack);
      exit(r, t);
      return;
    }
    case EventKind::kPark: {
      if (!e.goid) return;
      Record& r = act(e.goid, t);
      if (r.info.state == GoroutineState::kExited) return;
      std::vector<ObjectRef> objects = e.objects;
      if (objects.empty() && e.object) objects.push_back({e.object, e.object_kind, 0});
      classify(r, e.stack);
      block(r, t, e.wait_reason, std::move(objects), e.stack);
      apply_objects(e);
      return;
    }
    case EventKind::kReady: {
      if (e.goid) act(e.goid, t);
      if (!e.other_goid) return;
      Record& r = record(e.other_goid, t);
      if (r.info.state == GoroutineState::kExited) return;
      unblock(r, t);
      set_state(r, GoroutineState::kRunnable, t);
      return;
    }
    case EventKind::kStatus:
      apply_status(e);
      return;
    case EventKind::kCpuSample:
      // A tick may land between gopark's probe and the switch away: it says nothing
      // about blocking, and must not make a parked goroutine look awake.
      return;
    default:
      if (e.goid) classify(act(e.goid, t), e.stack);
      apply_objects(e);
      return;
  }
}

void StateModel::apply_status(const Event& e) {
  const int64_t t = e.time_ns;
  if (e.other_goid && e.other_goid != e.goid) act(e.other_goid, t);
  if (!e.goid) return;
  Record& r = record(e.goid, t);
  if (r.info.state == GoroutineState::kExited) return;
  const auto to = static_cast<GStatus>(static_cast<uint32_t>(e.value) & ~model::kGScanBit);
  switch (to) {
    case GStatus::kRunning:
    case GStatus::kSyscall:
      unblock(r, t);
      set_state(r, GoroutineState::kRunning, t);
      return;
    case GStatus::kRunnable:
    case GStatus::kPreempted:
      unblock(r, t);
      set_state(r, GoroutineState::kRunnable, t);
      return;
    case GStatus::kWaiting:
      // Normally the park came first with the reason and objects; without it, all that is known is this.
      if (r.info.state != GoroutineState::kBlocked) set_state(r, GoroutineState::kBlocked, t);
      return;
    case GStatus::kDead:
      exit(r, t);
      return;
    default:
      return;  // idle, copystack: no change a reader of the model cares about
  }
}

void StateModel::apply_objects(const Event& e) {
  const int64_t t = e.time_ns;
  switch (e.kind) {
    case EventKind::kChanMake: {
      ChannelInfo& c = channels_[e.object];
      c = ChannelInfo{};  // the address of a collected channel can come back as a new one
      c.address = e.object;
      c.capacity = e.value;
      c.elem_size = e.value2;
      c.made_at = e.stack;
      use_channel(e.object, e.goid);
      return;
    }
    case EventKind::kChanSend:
      use_channel(e.object, e.goid);
      if (e.object && (e.flags & model::kOk)) channels_[e.object].sends++;
      return;
    case EventKind::kChanRecv:
      use_channel(e.object, e.goid);
      if (e.object && (e.flags & model::kOk)) {
        ChannelInfo& c = channels_[e.object];
        if (e.flags & model::kReceived)
          c.recvs++;
        else
          c.recvs_closed++;
      }
      return;
    case EventKind::kChanClose:
      use_channel(e.object, e.goid);
      if (e.object) {
        channels_[e.object].closes++;
        channels_[e.object].closed = true;
      }
      return;
    case EventKind::kSelect: {
      for (const auto& c : e.objects) use_channel(c.address, e.goid);
      if (e.value < 0 || static_cast<size_t>(e.value) >= e.objects.size())
        return;  // default, or not recorded
      const ObjectRef& chosen = e.objects[e.value];
      if (!chosen.address) return;
      ChannelInfo& c = channels_[chosen.address];
      if (!(chosen.flags & model::kRecvCase))
        c.sends++;
      else if (e.flags & model::kReceived)
        c.recvs++;
      else
        c.recvs_closed++;
      return;
    }
    case EventKind::kPark:
      for (const auto& o : e.objects)
        if (o.kind == ObjectKind::kChannel) use_channel(o.address, e.goid);
      return;
    case EventKind::kSyncBlock:
      if (e.object && (e.object_kind == ObjectKind::kMutex || e.object_kind == ObjectKind::kRWMutex))
        mutex(e.object, e.object_kind);
      return;
    case EventKind::kMutexLock: {
      if (!e.object) return;
      MutexInfo& m = mutex(e.object, e.object_kind);
      m.acquisitions++;
      m.holder = e.goid;
      if (e.flags & model::kContended) {
        m.contended++;
        if (e.begin_ns > 0) {
          const int64_t wait = std::max<int64_t>(0, t - e.begin_ns);
          m.wait_total_ns += wait;
          m.wait_max_ns = std::max(m.wait_max_ns, wait);
        }
      }
      return;
    }
    case EventKind::kMutexUnlock:
      // Go lets any goroutine unlock a Mutex, not only the one that locked it.
      if (e.object) mutex(e.object, e.object_kind).holder = 0;
      return;
    case EventKind::kRLock:
      if (e.object && e.goid) {
        MutexInfo& m = mutex(e.object, ObjectKind::kRWMutex);
        m.acquisitions++;
        m.readers[e.goid]++;
      }
      return;
    case EventKind::kRUnlock: {
      if (!e.object) return;
      MutexInfo& m = mutex(e.object, ObjectKind::kRWMutex);
      auto it = m.readers.find(e.goid);
      // Locked before the trace began, or released by another goroutine: nothing to take back.
      if (it != m.readers.end() && --it->second == 0) m.readers.erase(it);
      return;
    }
    default:
      return;
  }
}

void StateModel::seed(const model::ProcessSnapshot& snapshot, uint64_t load_bias, model::StackTable& stacks) {
  const int64_t t = snapshot.taken_at_ns;
  auto vaddr = [&](uint64_t pc) { return pc >= load_bias ? pc - load_bias : pc; };
  for (const auto& g : snapshot.goroutines) {
    if (g.goid == 0 || g.status == static_cast<uint32_t>(GStatus::kDead)) continue;
    std::vector<uint64_t> pcs;
    pcs.reserve(g.stack.size());
    for (uint64_t pc : g.stack) pcs.push_back(vaddr(pc));
    const model::StackId stack = stacks.intern(pcs);

    const auto known = goroutines_.find(g.goid);
    const bool events_know_better =
        known != goroutines_.end() &&
        (known->second.info.state == GoroutineState::kExited || known->second.info.last_seen_ns > t);
    Record& r = record(g.goid, t);
    r.info.from_snapshot = true;
    if (!r.info.created_pc && g.go_pc) r.info.created_pc = vaddr(g.go_pc);
    if (!r.info.start_pc && g.start_pc) r.info.start_pc = vaddr(g.start_pc);
    if (!r.info.parent_goid && g.parent_goid) r.info.parent_goid = *g.parent_goid;
    classify(r, stack);
    if (events_know_better) continue;

    switch (static_cast<GStatus>(g.status)) {
      case GStatus::kWaiting: {
        std::vector<ObjectRef> objects;
        for (const auto& w : g.waiting_on) {
          if (w.kind == model::WaitedObject::Kind::kChannel)
            objects.push_back(
                {w.address, ObjectKind::kChannel, w.in_select ? uint16_t(model::kInSelect) : uint16_t(0)});
          else
            objects.push_back(
                semaphore_object(w.address, symbols_->stack(stack), symbols_->code().offsets()));
        }
        for (const auto& o : objects)
          if (o.kind == ObjectKind::kChannel) use_channel(o.address, g.goid);
        // Blocked time is counted from the attach (what the trace saw); how long it has
        // really been blocked is since_ns when the runtime recorded it.
        block(r, t, g.wait_reason, std::move(objects), stack);
        r.blocking.start_ns = t;
        r.info.since_ns = g.wait_since_ns ? std::min(*g.wait_since_ns, t) : t;
        r.info.since_exact = g.wait_since_ns.has_value();
        break;
      }
      case GStatus::kRunnable:
      case GStatus::kPreempted:
        unblock(r, t);
        set_state(r, GoroutineState::kRunnable, t);
        r.info.since_exact = false;
        break;
      case GStatus::kRunning:
      case GStatus::kSyscall:
        unblock(r, t);
        set_state(r, GoroutineState::kRunning, t);
        r.info.since_exact = false;
        break;
      default:
        break;
    }
  }
}

const GoroutineInfo* StateModel::goroutine(uint64_t goid) const {
  auto it = goroutines_.find(goid);
  return it == goroutines_.end() ? nullptr : &it->second.info;
}

std::vector<const GoroutineInfo*> StateModel::goroutines() const {
  std::vector<const GoroutineInfo*> out;
  out.reserve(goroutines_.size());
  for (const auto& [goid, r] : goroutines_) out.push_back(&r.info);
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->goid < b->goid; });
  return out;
}

std::vector<uint64_t> StateModel::waiters(uint64_t object) const {
  auto it = waiters_.find(object);
  return it == waiters_.end() ? std::vector<uint64_t>{} : it->second;
}

GoroutineCounts StateModel::counts() const {
  GoroutineCounts c;
  c.seen = seen_;
  c.created = created_;
  c.exited = exited_;
  for (const auto& [goid, r] : goroutines_) {
    if (r.info.state == GoroutineState::kExited) continue;
    c.alive++;
    if (r.info.runtime) c.runtime++;
  }
  return c;
}

std::vector<SiteBlocking> StateModel::blocking_by_site(int64_t now_ns) const {
  std::unordered_map<SiteKey, SiteBlocking, SiteKeyHash> merged;
  for (const auto& [key, s] : by_site_) merged[key] = {s.site, key.wait_reason, s.example_stack, s.totals};
  for (const auto& [goid, r] : goroutines_) {
    if (!r.blocking.open) continue;
    auto [it, inserted] = merged.try_emplace(r.blocking.site);
    if (inserted) {
      it->second.wait_reason = r.blocking.site.wait_reason;
      it->second.example_stack = r.blocking.stack;
      if (const CodeFrame* site = symbols_->stack(r.blocking.stack).site_frame()) it->second.site = *site;
    }
    add_interval(it->second.totals, std::max<int64_t>(0, now_ns - r.blocking.start_ns), true);
  }
  std::vector<SiteBlocking> out;
  out.reserve(merged.size());
  for (const auto& [key, s] : merged) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const SiteBlocking& a, const SiteBlocking& b) {
    if (a.totals.total_ns != b.totals.total_ns) return a.totals.total_ns > b.totals.total_ns;
    if (a.totals.count != b.totals.count) return a.totals.count > b.totals.count;
    return std::tie(a.site.function, a.site.line, a.wait_reason) <
           std::tie(b.site.function, b.site.line, b.wait_reason);
  });
  return out;
}

std::vector<ReasonBlocking> StateModel::blocking_by_reason(int64_t now_ns) const {
  std::map<uint32_t, BlockingTotals> merged = by_reason_;
  for (const auto& [goid, r] : goroutines_)
    if (r.blocking.open)
      add_interval(merged[r.blocking.site.wait_reason], std::max<int64_t>(0, now_ns - r.blocking.start_ns),
                   true);
  std::vector<ReasonBlocking> out;
  out.reserve(merged.size());
  for (const auto& [reason, totals] : merged) out.push_back({reason, totals});
  std::stable_sort(out.begin(), out.end(), [](const ReasonBlocking& a, const ReasonBlocking& b) {
    return a.totals.total_ns > b.totals.total_ns;
  });
  return out;
}

}  // namespace goscope::state

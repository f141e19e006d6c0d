#include "detect/deadlock.h"
#include "common/duration.h"
#include "common/hex.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "detect/locations.h"

namespace goscope::detect {

using model::ObjectKind;
using model::ObjectRef;

namespace {

std::string hex(uint64_t v) {
  return hex_text(v);
}

std::string goroutine_list(const std::vector<uint64_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); i++) {
    if (i) s += i + 1 == ids.size() ? " and " : ", ";
    s += std::to_string(ids[i]);
  }
  return s;
}

// What a suspect waits for.
enum class WaitKind : uint8_t {
  kLockWrite,  // Mutex.Lock, or the write side of an RWMutex
  kLockRead,   // RWMutex.RLock queued behind a writer
  kChannel,    // channel operation or select over channels
  kWaitGroup,
  kCond,
  kForever,  // nil channel: nothing can ever end it
};

// "sync.Mutex", "chan", ... as the event stream names kinds; "object" when unknown.
std::string object_word(ObjectKind k) {
  const std::string name = model::object_kind_name(k);
  return name.empty() ? "object" : name;
}

struct Suspect {
  const state::GoroutineInfo* g = nullptr;
  WaitKind kind = WaitKind::kChannel;
  ObjectRef lock;                 // the lock waited on (lock kinds)
  std::vector<uint64_t> targets;  // objects that whoever wakes it must reach (channel, WaitGroup, Cond)
};

struct Edge {
  uint64_t to = 0;
  uint64_t object = 0;
  std::string relation;
  bool inferred = false;
};

// Who holds a lock, as far as anyone can tell.
struct Holders {
  std::vector<uint64_t> goids;
  bool inferred = false;
  bool unknown = false;  // anyone could: no verdict
};

// Who could end one lock wait (computed once: it does not depend on the set).
struct LockWakers {
  std::vector<Edge> edges;  // every possible waker
  bool unknown = false;
};

// One connected part of the stuck set, with what its finding says about it.
struct Part {
  const std::vector<uint64_t>& members;
  std::vector<WaitEdge> cycle;
  bool inferred = false;                        // some edge is an inferred lock holder
  std::map<uint64_t, std::vector<Edge>> holds;  // goid -> lock edges pointing at it
  std::map<uint64_t, FindingObject> objects;
};

// Leaks of one site are one finding however many goroutines leaked there:
// (function, file, line, wait reason) -> goids.
using LeakSites = std::map<std::tuple<std::string, std::string, int, uint32_t>, std::vector<uint64_t>>;

// The state of one detect() call, shared by its phases. The phases share the suspects,
// the stuck set and the graph, and memoise across each other (lock holders inferred once
// per lock), so they are member functions of one object rather than functions passing a
// dozen maps around. Each phase runs once, in the order DeadlockDetector::detect calls them.
class DetectionRun {
 public:
  DetectionRun(const state::StateModel& model, const model::StreamInfo& stream, const LockSites* lock_sites,
               ReachabilityOracle* oracle, std::vector<std::string>& notes, int64_t now_ns,
               const DeadlockOptions& opt)
      : model_(model),
        stream_(stream),
        lock_sites_(lock_sites),
        oracle_(oracle),
        notes_(notes),
        symbols_(model.symbols()),
        now_ns_(now_ns),
        opt_(opt) {}

  void collect_alive();
  bool find_suspects();
  bool only_all_asleep_is_judged() const { return opt_.target_exited && suspects_.size() != alive_.size(); }
  void find_lock_wakers();
  bool keep_unwakeable();
  void build_graph();
  void split_into_parts();
  std::vector<Finding> findings();

 private:
  bool is_timer_channel(uint64_t address) const;
  std::optional<Suspect> suspect_of(const state::GoroutineInfo* g) const;
  bool still_blocked_in_memory(const state::GoroutineInfo* g) const;

  std::span<const uint64_t> stack_of(const state::GoroutineInfo* g) const;
  bool stack_takes(const state::GoroutineInfo* g, LockAction action);
  Holders infer(LockAction action, uint64_t lock);
  Holders write_holders(uint64_t lock);
  Holders read_holders(uint64_t lock);
  std::vector<uint64_t> writer_waiters(uint64_t lock, uint64_t except) const;
  LockWakers lock_wakers_of(uint64_t goid, const Suspect& s);

  bool drop_wakeable_once();
  ReachabilityOracle::Answer reach_from_outside();
  bool can_be_woken(uint64_t goid, const ReachabilityOracle::Answer& reach, size_t& unjudged);

  std::map<uint64_t, std::unordered_set<uint64_t>> scan_reaches();
  std::vector<WaitEdge> shortest_cycle(const std::vector<uint64_t>& members);

  std::optional<Location> site_of(const state::GoroutineInfo* g) const;
  FindingGoroutine describe_goroutine(uint64_t goid, const std::vector<Edge>& held);
  FindingObject object_of(uint64_t address, ObjectKind kind) const;
  Part gather_part(const std::vector<uint64_t>& members);
  Rule rule_of(const Part& part);
  std::string title_of(Rule rule, const Part& part) const;
  std::string story(Part& part, Rule rule, const std::vector<uint64_t>& order);
  Finding part_finding(Part& part);
  Finding leak_finding(const LeakSites::key_type& site, std::vector<uint64_t>& goids);

  const state::StateModel& model_;
  const model::StreamInfo& stream_;
  const LockSites* lock_sites_;
  ReachabilityOracle* oracle_;
  std::vector<std::string>& notes_;
  const state::StackSymbolizer& symbols_;
  const int64_t now_ns_;
  const DeadlockOptions& opt_;

  std::vector<const state::GoroutineInfo*> alive_;
  std::set<uint64_t> alive_ids_;
  std::unordered_map<uint64_t, const model::GoroutineSnapshot*> confirm_;
  std::map<uint64_t, Suspect> suspects_;  // by goid
  // Inferring holders looks at every goroutine's stack: once per (lock, action), and
  // once per distinct stack (thousands of goroutines waiting on one mutex share both;
  // without the memos a dump of 100,000 goroutines took minutes, quadratically).
  std::map<std::pair<model::StackId, LockAction>, bool> takes_memo_;
  std::map<std::pair<LockAction, uint64_t>, Holders> infer_memo_;
  std::map<uint64_t, LockWakers> lock_wakers_;
  std::set<uint64_t> stuck_;
  std::string oracle_unknown_;
  std::map<uint64_t, std::vector<Edge>> graph_;
  std::map<uint64_t, std::vector<uint64_t>> parts_;  // smallest goid -> members
  bool all_asleep_ = false;
};

// Alive goroutines of the program (the runtime's own never take the program's locks
// nor use its channels; their stacks still count as roots for the oracle).
void DetectionRun::collect_alive() {
  for (const state::GoroutineInfo* g : model_.goroutines())
    if (g->state != state::GoroutineState::kExited && !g->runtime) alive_.push_back(g);
  for (const state::GoroutineInfo* g : alive_) alive_ids_.insert(g->goid);
  if (opt_.confirm)
    for (const auto& g : opt_.confirm->goroutines) confirm_[g.goid] = &g;
}

bool DetectionRun::is_timer_channel(uint64_t address) const {
  auto it = model_.channels().find(address);
  if (it == model_.channels().end() || !it->second.made_at) return false;
  for (const state::CodeFrame& f : symbols_.stack(it->second.made_at).frames)
    if (f.function.starts_with("time.")) return true;
  return false;
}

// 1. Suspects: blocked long enough on something only another goroutine can end.
// Returns false when there is none.
bool DetectionRun::find_suspects() {
  for (const state::GoroutineInfo* g : alive_) {
    if (g->state != state::GoroutineState::kBlocked) continue;
    if (now_ns_ - g->since_ns < opt_.min_blocked_ns) continue;
    std::optional<Suspect> s = suspect_of(g);
    if (!s) continue;
    if (opt_.confirm && !still_blocked_in_memory(g)) continue;
    suspects_.emplace(g->goid, std::move(*s));
  }
  return !suspects_.empty();
}

// What a blocked goroutine waits for, or nullopt when someone else will end it (or it
// is unknown).
std::optional<Suspect> DetectionRun::suspect_of(const state::GoroutineInfo* g) const {
  const std::string_view reason = stream_.wait_reason_name(g->wait_reason);
  Suspect s;
  s.g = g;
  if (reason == "chan receive (nil chan)" || reason == "chan send (nil chan)") {
    s.kind = WaitKind::kForever;
    return s;
  }
  if (g->waiting_on.empty())
    return std::nullopt;  // sleeping, I/O, timers, GC, or an object nobody could name
  const ObjectRef& o = g->waiting_on.front();
  bool ok = true;
  switch (o.kind) {
    case ObjectKind::kChannel:
      s.kind = WaitKind::kChannel;
      for (const ObjectRef& c : g->waiting_on) {
        const auto ch = model_.channels().find(c.address);
        if (c.kind != ObjectKind::kChannel || !c.address || is_timer_channel(c.address) ||
            (ch != model_.channels().end() && ch->second.closed))
          ok = false;
        s.targets.push_back(c.address);
      }
      break;
    case ObjectKind::kMutex:
      s.kind = WaitKind::kLockWrite;
      s.lock = o;
      break;
    case ObjectKind::kRWMutex:
      s.kind = (o.flags & model::kReaderRole) ? WaitKind::kLockRead : WaitKind::kLockWrite;
      s.lock = o;
      break;
    case ObjectKind::kWaitGroup:
      s.kind = WaitKind::kWaitGroup;
      s.targets.push_back(o.address);
      break;
    case ObjectKind::kCond:
      s.kind = WaitKind::kCond;
      s.targets.push_back(o.address);
      break;
    default:
      ok = false;  // network, timers, an unattributed semaphore: someone else will end it, or unknown
  }
  if (!ok) return std::nullopt;
  return s;
}

// False when memory says it moved on (or is gone): the events are behind.
bool DetectionRun::still_blocked_in_memory(const state::GoroutineInfo* g) const {
  auto it = confirm_.find(g->goid);
  return it != confirm_.end() && it->second->status == static_cast<uint32_t>(model::GStatus::kWaiting) &&
         it->second->wait_reason == g->wait_reason;
}

// 2. Lock holders: traced, or inferred from stacks.
void DetectionRun::find_lock_wakers() {
  for (auto& [goid, s] : suspects_) {
    if (s.kind != WaitKind::kLockWrite && s.kind != WaitKind::kLockRead) continue;
    lock_wakers_[goid] = lock_wakers_of(goid, s);
  }
}

LockWakers DetectionRun::lock_wakers_of(uint64_t goid, const Suspect& s) {
  LockWakers w;
  const uint64_t m = s.lock.address;
  auto add = [&](const Holders& h, const char* relation) {
    if (h.unknown) w.unknown = true;
    for (uint64_t to : h.goids) w.edges.push_back({to, m, relation, h.inferred});
  };
  if (s.kind == WaitKind::kLockRead) {
    // Queued behind a writer: the writer that holds or waits for the lock ends it.
    Holders writers;
    writers.goids = writer_waiters(m, goid);
    if (opt_.holders_traced) {
      auto it = model_.mutexes().find(m);
      if (it != model_.mutexes().end() && it->second.holder) writers.goids.push_back(it->second.holder);
    }
    if (writers.goids.empty()) writers = infer(LockAction::kLock, m);
    add(writers, "queued behind writer");
  } else if (s.lock.kind == ObjectKind::kRWMutex) {
    add(read_holders(m), "read-locked by");
    const Holders wh = write_holders(m);
    if (!wh.unknown) add(wh, "write-locked by");
    for (uint64_t other : writer_waiters(m, goid)) w.edges.push_back({other, m, "writer ahead:", false});
  } else {
    add(write_holders(m), "held by");
  }
  return w;
}

std::span<const uint64_t> DetectionRun::stack_of(const state::GoroutineInfo* g) const {
  return symbols_.stacks().get(g->park_stack);
}

bool DetectionRun::stack_takes(const state::GoroutineInfo* g, LockAction action) {
  auto [it, fresh] = takes_memo_.try_emplace({g->park_stack, action}, false);
  if (fresh) it->second = lock_sites_->stack_takes(stack_of(g), action);
  return it->second;
}

Holders DetectionRun::infer(LockAction action, uint64_t lock) {
  if (auto it = infer_memo_.find({action, lock}); it != infer_memo_.end()) return it->second;
  Holders h;
  h.inferred = true;
  if (!lock_sites_) {
    h.unknown = true;
    return h;
  }
  for (const state::GoroutineInfo* g : alive_) {
    if (g->state != state::GoroutineState::kBlocked || !g->park_stack) {
      h.unknown = true;  // running, runnable or never seen blocked: could hold anything
      break;
    }
    // Another goroutine waiting to take the same lock for writing does not hold it.
    auto s = suspects_.find(g->goid);
    const bool waits_for_write = s != suspects_.end() && s->second.kind == WaitKind::kLockWrite &&
                                 s->second.lock.address == lock && action == LockAction::kLock;
    if (waits_for_write) continue;
    if (stack_takes(g, action)) h.goids.push_back(g->goid);
  }
  if (h.goids.empty()) h.unknown = true;  // the holder's lock left no trace on its stack
  infer_memo_.emplace(std::make_pair(action, lock), h);
  return h;
}

Holders DetectionRun::write_holders(uint64_t lock) {
  if (opt_.holders_traced) {
    auto it = model_.mutexes().find(lock);
    if (it != model_.mutexes().end() && it->second.holder) return Holders{{it->second.holder}, false, false};
  }
  return infer(LockAction::kLock, lock);
}

Holders DetectionRun::read_holders(uint64_t lock) {
  if (opt_.holders_traced) {
    auto it = model_.mutexes().find(lock);
    if (it != model_.mutexes().end() && !it->second.readers.empty()) {
      Holders h;
      for (const auto& [goid, n] : it->second.readers) h.goids.push_back(goid);
      return h;
    }
  }
  return infer(LockAction::kRLock, lock);
}

std::vector<uint64_t> DetectionRun::writer_waiters(uint64_t lock, uint64_t except) const {
  std::vector<uint64_t> out;
  for (const auto& [goid, s] : suspects_)
    if (goid != except && s.kind == WaitKind::kLockWrite && s.lock.address == lock) out.push_back(goid);
  return out;
}

// 3. The greatest fixpoint: drop every suspect someone outside the set could wake.
// Returns false when nobody is left.
bool DetectionRun::keep_unwakeable() {
  for (const auto& [goid, s] : suspects_) stuck_.insert(goid);
  while (!stuck_.empty() && drop_wakeable_once()) {
  }
  return !stuck_.empty();
}

// One round of the fixpoint; true when it dropped someone.
bool DetectionRun::drop_wakeable_once() {
  bool changed = false;
  const ReachabilityOracle::Answer reach = reach_from_outside();
  size_t unjudged = 0;
  for (auto it = stuck_.begin(); it != stuck_.end();) {
    if (can_be_woken(*it, reach, unjudged)) {
      it = stuck_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (unjudged)
    notes_.push_back("the channel, WaitGroup and Cond waits of " + std::to_string(unjudged) +
                     (unjudged == 1 ? " goroutine were" : " goroutines were") +
                     " not judged: " + oracle_unknown_);
  return changed;
}

// Which of the stuck set's channels, WaitGroups and Conds a root outside the set reaches.
ReachabilityOracle::Answer DetectionRun::reach_from_outside() {
  std::vector<uint64_t> targets;
  for (uint64_t goid : stuck_)
    for (uint64_t t : suspects_[goid].targets) targets.push_back(t);
  ReachabilityOracle::Answer reach;
  if (!targets.empty() && !opt_.target_exited) {
    if (oracle_) reach = oracle_->reachable(targets, stuck_);
    if (!oracle_) reach.why_unknown = "no process memory to tell who can reach channels and WaitGroups";
    if (!reach.known) oracle_unknown_ = reach.why_unknown;
  }
  return reach;
}

bool DetectionRun::can_be_woken(uint64_t goid, const ReachabilityOracle::Answer& reach, size_t& unjudged) {
  const Suspect& s = suspects_[goid];
  bool free = false;
  switch (s.kind) {
    case WaitKind::kForever:
      break;
    case WaitKind::kLockWrite:
    case WaitKind::kLockRead: {
      const LockWakers& w = lock_wakers_[goid];
      free = w.unknown;
      for (const Edge& e : w.edges)
        if (!stuck_.count(e.to) && alive_ids_.count(e.to)) free = true;
      break;
    }
    default:
      if (opt_.target_exited) break;  // all asleep: nobody is left to reach anything
      if (!reach.known) {
        free = true;
        unjudged++;
        break;
      }
      for (uint64_t t : s.targets)
        if (reach.reachable.count(t)) free = true;
  }
  return free;
}

// 4. The wait-for graph inside the set.
void DetectionRun::build_graph() {
  std::map<uint64_t, std::unordered_set<uint64_t>> reaches = scan_reaches();
  for (uint64_t goid : stuck_) {
    const Suspect& s = suspects_[goid];
    auto& out = graph_[goid];
    if (s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead) {
      for (const Edge& e : lock_wakers_[goid].edges)
        if (stuck_.count(e.to) && (e.to != goid || s.kind == WaitKind::kLockWrite)) out.push_back(e);
    } else if (s.kind != WaitKind::kForever) {
      for (uint64_t other : stuck_) {
        if (other == goid) continue;
        for (uint64_t t : s.targets)
          if (reaches.count(other) && reaches[other].count(t)) {
            out.push_back({other, t,
                           s.kind == WaitKind::kChannel ? "can only be used by" : "can only be reached by",
                           false});
            break;
          }
      }
    }
  }
}

// goid -> the stuck set's targets its stack reaches.
std::map<uint64_t, std::unordered_set<uint64_t>> DetectionRun::scan_reaches() {
  std::map<uint64_t, std::unordered_set<uint64_t>> reaches;
  std::vector<uint64_t> all_targets;
  for (uint64_t goid : stuck_)
    for (uint64_t t : suspects_[goid].targets) all_targets.push_back(t);
  // One scan per stuck goroutine: bounded, or thousands of leaked goroutines would cost
  // thousands of heap scans. Past the bound, channel waiters are judged one by one (each
  // still stuck for good), without the edges between them.
  constexpr size_t kMaxEdgeScans = 64;
  if (!all_targets.empty() && oracle_ && !opt_.target_exited) {
    if (stuck_.size() <= kMaxEdgeScans) {
      for (uint64_t goid : stuck_)
        if (auto r = oracle_->reachable_from_goroutine(goid, all_targets)) reaches[goid] = std::move(*r);
    } else {
      notes_.push_back(
          "who-waits-for-whom between channel, WaitGroup and Cond waiters was not worked out for " +
          std::to_string(stuck_.size()) + " stuck goroutines (more than " + std::to_string(kMaxEdgeScans) +
          "): they are reported per site");
    }
  }
  return reaches;
}

// Connected parts (ignoring direction).
void DetectionRun::split_into_parts() {
  std::map<uint64_t, uint64_t> part;  // goid -> smallest goid of its part
  std::map<uint64_t, std::set<uint64_t>> undirected;
  for (const auto& [from, edges] : graph_)
    for (const Edge& e : edges) {
      undirected[from].insert(e.to);
      undirected[e.to].insert(from);
    }
  for (uint64_t start : stuck_) {
    if (part.count(start)) continue;
    std::deque<uint64_t> q{start};
    part[start] = start;
    while (!q.empty()) {
      const uint64_t x = q.front();
      q.pop_front();
      for (uint64_t y : undirected[x])
        if (!part.count(y)) {
          part[y] = start;
          q.push_back(y);
        }
    }
  }
  // Every goroutine of the program stuck: one finding about all of them.
  all_asleep_ = stuck_.size() == alive_.size();
  for (const auto& [goid, root] : part) parts_[all_asleep_ ? *stuck_.begin() : root].push_back(goid);
}

// The shortest cycle through the part, starting at its smallest goroutine id.
std::vector<WaitEdge> DetectionRun::shortest_cycle(const std::vector<uint64_t>& members) {
  std::vector<WaitEdge> best;
  for (uint64_t start : members) {
    std::map<uint64_t, std::pair<uint64_t, const Edge*>> prev;  // node -> (from, edge)
    std::deque<uint64_t> q{start};
    const Edge* closing = nullptr;
    uint64_t last = 0;
    while (!q.empty() && !closing) {
      const uint64_t x = q.front();
      q.pop_front();
      for (const Edge& e : graph_[x]) {
        if (e.to == start) {
          closing = &e;
          last = x;
          break;
        }
        if (!prev.count(e.to)) {
          prev[e.to] = {x, &e};
          q.push_back(e.to);
        }
      }
    }
    if (!closing) continue;
    std::vector<WaitEdge> cycle{{last, closing->object, start, closing->relation}};
    for (uint64_t x = last; x != start;) {
      auto [from, e] = prev[x];
      cycle.push_back({from, e->object, x, e->relation});
      x = from;
    }
    std::reverse(cycle.begin(), cycle.end());
    if (best.empty() || cycle.size() < best.size()) best = std::move(cycle);
  }
  return best;
}

std::optional<Location> DetectionRun::site_of(const state::GoroutineInfo* g) const {
  if (const state::CodeFrame* f = symbols_.stack(g->park_stack).site_frame()) return to_location(*f);
  return std::nullopt;
}

FindingGoroutine DetectionRun::describe_goroutine(uint64_t goid, const std::vector<Edge>& held) {
  const state::GoroutineInfo* g = suspects_.count(goid) ? suspects_[goid].g : model_.goroutine(goid);
  FindingGoroutine fg;
  fg.goid = goid;
  if (!g) return fg;
  fg.state = state::goroutine_state_name(g->state);
  fg.wait_reason = std::string(stream_.wait_reason_name(g->wait_reason));
  for (const ObjectRef& o : g->waiting_on) fg.waits_on.push_back(o.address);
  for (const Edge& e : held) fg.holds.push_back(e.object);
  std::sort(fg.holds.begin(), fg.holds.end());
  fg.holds.erase(std::unique(fg.holds.begin(), fg.holds.end()), fg.holds.end());
  fg.blocked_ns = std::max<int64_t>(0, now_ns_ - g->since_ns);
  fg.since_exact = g->since_exact;
  fg.site = site_of(g);
  fg.stack = to_locations(symbols_.stack(g->park_stack), opt_.max_stack_frames);
  if (g->created_pc) {
    auto frames = symbols_.frames_at(g->created_pc, true);
    if (!frames.empty() && frames.front().known()) fg.created_at = to_location(frames.front());
  }
  fg.parent_goid = g->parent_goid;
  return fg;
}

FindingObject DetectionRun::object_of(uint64_t address, ObjectKind kind) const {
  FindingObject o;
  o.address = address;
  o.kind = kind;
  o.name = object_word(kind) + " " + hex(address);
  if (kind == ObjectKind::kChannel) {
    auto it = model_.channels().find(address);
    if (it != model_.channels().end()) {
      const state::ChannelInfo& c = it->second;
      if (c.capacity == 0) o.detail = "unbuffered";
      if (c.capacity > 0) o.detail = "buffer of " + std::to_string(c.capacity);
      if (c.made_at) {
        if (const state::CodeFrame* f = symbols_.stack(c.made_at).site_frame()) o.made_at = to_location(*f);
      }
    }
  }
  if (kind == ObjectKind::kWaitGroup && oracle_ && !opt_.target_exited) {
    // The counter is the high half of the state word (Go 1.19 and later).
    if (auto w = oracle_->read_word(address)) o.detail = "counter " + std::to_string(*w >> 32);
  }
  return o;
}

// 5. Findings: one per connected part, and one per leak site.
std::vector<Finding> DetectionRun::findings() {
  std::vector<Finding> found;
  LeakSites leaks;
  for (const auto& [root, members] : parts_) {
    Part part = gather_part(members);
    // A single goroutine no one can wake: a leak, a WaitGroup or Cond nobody can finish, a
    // lock whose holder is gone.
    const Suspect& first = suspects_[members.front()];
    if (part.cycle.empty() && members.size() == 1 && !all_asleep_ &&
        (first.kind == WaitKind::kChannel || first.kind == WaitKind::kForever)) {
      auto site = site_of(first.g);
      leaks[{site ? site->function : "", site ? site->file : "", site ? site->line : 0, first.g->wait_reason}]
          .push_back(first.g->goid);
      continue;
    }
    found.push_back(part_finding(part));
  }
  for (auto& [site, goids] : leaks) found.push_back(leak_finding(site, goids));
  return found;
}

// The part's shortest cycle, who holds what, and the objects its members wait on.
Part DetectionRun::gather_part(const std::vector<uint64_t>& members) {
  Part part{members, shortest_cycle(members)};
  for (uint64_t goid : members) {
    const Suspect& s = suspects_[goid];
    for (const Edge& e : graph_[goid]) {
      if (e.inferred) part.inferred = true;
      if (s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead) part.holds[e.to].push_back(e);
    }
    if (s.lock.address) part.objects.try_emplace(s.lock.address, object_of(s.lock.address, s.lock.kind));
    for (const ObjectRef& o : s.g->waiting_on)
      if (o.address) part.objects.try_emplace(o.address, object_of(o.address, o.kind));
  }
  for (auto& [address, o] : part.objects) {
    for (const auto& [goid, edges] : part.holds)
      for (const Edge& e : edges)
        if (e.object == address &&
            (e.relation == "held by" || e.relation == "read-locked by" || e.relation == "write-locked by" ||
             e.relation == "queued behind writer")) {
          if (std::find(o.held_by.begin(), o.held_by.end(), goid) == o.held_by.end())
            o.held_by.push_back(goid);
          if (e.inferred) o.holders_inferred = true;
        }
  }
  return part;
}

Rule DetectionRun::rule_of(const Part& part) {
  if (all_asleep_) return Rule::kAllAsleep;
  if (!part.cycle.empty()) {
    bool all_locks = true, all_channels = true, recursive_read = false;
    for (const WaitEdge& e : part.cycle) {
      const Suspect& s = suspects_[e.from];
      const bool lock = s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead;
      all_locks &= lock;
      all_channels &= s.kind == WaitKind::kChannel;
      if (s.kind == WaitKind::kLockRead) {
        // A reader queued behind a writer that itself waits for this reader's read lock.
        for (const WaitEdge& back : part.cycle)
          if (back.from == e.to && back.to == e.from && back.object == e.object) recursive_read = true;
      }
    }
    return recursive_read ? Rule::kRecursiveRLock
           : all_locks    ? Rule::kMutexDeadlock
           : all_channels ? Rule::kChannelDeadlock
                          : Rule::kMixedDeadlock;
  }
  switch (suspects_[part.members.front()].kind) {
    case WaitKind::kWaitGroup:
      return Rule::kWaitGroupDeadlock;
    case WaitKind::kCond:
      return Rule::kCondDeadlock;
    case WaitKind::kLockRead:
    case WaitKind::kLockWrite:
      return Rule::kMutexDeadlock;
    default:
      return Rule::kChannelDeadlock;
  }
}

std::string DetectionRun::title_of(Rule rule, const Part& part) const {
  const std::vector<WaitEdge>& cycle = part.cycle;
  std::vector<uint64_t> sorted = part.members;
  std::sort(sorted.begin(), sorted.end());
  const std::string who = goroutine_list(sorted);
  switch (rule) {
    case Rule::kMutexDeadlock:
      return cycle.size() == 2 ? "deadlock: goroutines " + goroutine_list({cycle[0].from, cycle[1].from}) +
                                     " each hold a mutex the other waits for (AB-BA)"
             : !cycle.empty()
                 ? "deadlock: " + std::to_string(cycle.size()) + " goroutines wait for mutexes in a cycle"
                 : "deadlock: goroutine " + who + " waits for a mutex nobody can release";
    case Rule::kChannelDeadlock:
      return "deadlock: goroutines " + who + " wait on channels only they could use";
    case Rule::kRecursiveRLock:
      return "deadlock: a read lock is taken again while a writer waits for the first (goroutines " + who +
             ")";
    case Rule::kWaitGroupDeadlock:
      return "deadlock: goroutine " + who + " waits on a WaitGroup that can never reach zero";
    case Rule::kCondDeadlock:
      return "deadlock: goroutine " + who + " waits on a sync.Cond nobody can signal";
    case Rule::kAllAsleep:
      return "deadlock: all goroutines are asleep (" + std::to_string(part.members.size()) + " blocked)";
    default:
      return "deadlock: goroutines " + who + " wait for each other";
  }
}

// The story, edge by edge: one sentence per goroutine, what it holds, what it waits for
// and where, and who could end it.
std::string DetectionRun::story(Part& part, Rule rule, const std::vector<uint64_t>& order) {
  auto name = [&](uint64_t address) {
    auto it = part.objects.find(address);
    return it == part.objects.end() ? hex(address) : it->second.name;
  };
  std::string msg;
  for (uint64_t goid : order) {
    const Suspect& s = suspects_[goid];
    std::vector<std::string> held;
    for (const Edge& e : part.holds[goid])
      if (e.relation != "queued behind writer") held.push_back(name(e.object));
    std::sort(held.begin(), held.end());
    held.erase(std::unique(held.begin(), held.end()), held.end());
    if (!msg.empty()) msg += " ";
    msg += "Goroutine " + std::to_string(goid);
    if (!held.empty()) {
      msg += " holds ";
      for (size_t i = 0; i < held.size(); i++) msg += (i ? ", " : "") + held[i];
      msg += " and";
    }
    msg += " waits for ";
    msg += s.lock.address ? name(s.lock.address) : s.targets.empty() ? "nothing" : name(s.targets.front());
    if (s.kind == WaitKind::kLockRead) msg += " (read lock)";
    if (auto site = site_of(s.g)) msg += " at " + site->file + ":" + std::to_string(site->line);
    const auto on_cycle =
        std::find_if(part.cycle.begin(), part.cycle.end(), [&](const WaitEdge& e) { return e.from == goid; });
    if (on_cycle != part.cycle.end())
      msg += ", " + on_cycle->relation + " goroutine " + std::to_string(on_cycle->to);
    else if (!graph_[goid].empty())
      msg += ", " + graph_[goid].front().relation + " goroutine " + std::to_string(graph_[goid].front().to);
    else
      msg += rule == Rule::kAllAsleep ? ""
             : s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead
                 ? ", and no live goroutine can release it"
                 : ", which no other live goroutine can reach";
    msg += ".";
  }
  msg += " ";
  msg += "None of them can be woken by a goroutine outside this set";
  if (rule == Rule::kAllAsleep) msg += ", and no other goroutine of the program is left";
  msg += ".";
  return msg;
}

Finding DetectionRun::part_finding(Part& part) {
  const std::vector<uint64_t>& members = part.members;
  Finding f;
  f.detected_ns = now_ns_;
  std::vector<uint64_t> order;  // cycle members first, then the rest
  for (const WaitEdge& e : part.cycle) order.push_back(e.from);
  for (uint64_t goid : members)
    if (std::find(order.begin(), order.end(), goid) == order.end()) order.push_back(goid);

  f.rule = rule_of(part);
  f.severity = rule_info(f.rule).default_severity;
  f.title = title_of(f.rule, part);
  f.message = story(part, f.rule, order);
  if (part.inferred) {
    f.confidence = Confidence::kLikely;
    f.confidence_reason =
        "lock holders were not traced (no lock events since the locks were taken): they are inferred from "
        "the functions on each goroutine's stack that take locks; run `goscope trace --locks` from the "
        "program's start to observe them";
  }
  for (uint64_t goid : order) f.goroutines.push_back(describe_goroutine(goid, part.holds[goid]));
  for (auto& [address, o] : part.objects) f.objects.push_back(std::move(o));
  f.cycle = std::move(part.cycle);
  if (!f.goroutines.empty()) f.location = f.goroutines.front().site;
  f.since_ns = 0;
  for (uint64_t goid : members) f.since_ns = std::max(f.since_ns, suspects_[goid].g->since_ns);
  f.suggestion = rule_info(f.rule).help;
  if (f.location)
    f.suggestion = "Look at " + f.location->function + " (" + f.location->file + ":" +
                   std::to_string(f.location->line) + "), where goroutine " + std::to_string(order.front()) +
                   " blocks. " + f.suggestion;
  std::set<std::string> sites;
  for (uint64_t goid : members) {
    const auto site = site_of(suspects_[goid].g);
    sites.insert((site ? site->function + "@" + std::to_string(site->line) : std::string("?")) + ":" +
                 std::string(stream_.wait_reason_name(suspects_[goid].g->wait_reason)));
  }
  f.fingerprint = rule_info(f.rule).id;
  for (const auto& site : sites) f.fingerprint += ":" + site;
  std::vector<uint64_t> sorted = members;
  std::sort(sorted.begin(), sorted.end());
  f.key = std::string(rule_info(f.rule).id) + ":" + goroutine_list(sorted);
  for (const auto& o : f.objects) f.key += ":" + hex(o.address);
  return f;
}

Finding DetectionRun::leak_finding(const LeakSites::key_type& site, std::vector<uint64_t>& goids) {
  Finding f;
  f.rule = Rule::kGoroutineLeak;
  f.severity = rule_info(f.rule).default_severity;
  f.detected_ns = now_ns_;
  std::sort(goids.begin(), goids.end());
  const state::GoroutineInfo* g0 = suspects_[goids.front()].g;
  const std::string reason(stream_.wait_reason_name(g0->wait_reason));
  const auto& [function, file, line, wait_reason] = site;
  const bool forever = suspects_[goids.front()].kind == WaitKind::kForever;
  f.title = "goroutine leak: " + std::to_string(goids.size()) +
            (goids.size() == 1 ? " goroutine" : " goroutines") + " blocked forever in " +
            (reason.empty() ? "a channel operation" : reason) +
            (function.empty() ? "" : " at " + file + ":" + std::to_string(line));
  std::string msg;
  for (uint64_t goid : goids) {
    const Suspect& s = suspects_[goid];
    FindingObject o =
        s.targets.empty() ? FindingObject{} : object_of(s.targets.front(), ObjectKind::kChannel);
    msg +=
        "goroutine " + std::to_string(goid) + " waits on " +
        (forever ? std::string("a nil channel") : o.name + (o.detail.empty() ? "" : " (" + o.detail + ")")) +
        " for " + (s.g->since_exact ? "" : "at least ") + duration_text(now_ns_ - s.g->since_ns) + ".\n";
    if (!s.targets.empty()) f.objects.push_back(std::move(o));
    f.goroutines.push_back(describe_goroutine(goid, {}));
  }
  msg += forever ? "An operation on a nil channel blocks forever."
                 : "No other live goroutine can reach the channel any more (no stack, global or heap object "
                   "of another goroutine refers to it), so nothing can ever send, receive or close.";
  f.message = std::move(msg);
  f.location = f.goroutines.front().site;
  f.suggestion = rule_info(f.rule).help;
  f.since_ns = g0->since_ns;
  f.key = std::string(rule_info(f.rule).id) + ":" + function + ":" + std::to_string(line) + ":" + reason;
  f.metrics["goroutines"] = static_cast<double>(goids.size());
  return f;
}

}  // namespace

DeadlockDetector::DeadlockDetector(const state::StateModel& model, const model::StreamInfo& stream,
                                   const LockSites* lock_sites, ReachabilityOracle* oracle)
    : model_(model), stream_(stream), lock_sites_(lock_sites), oracle_(oracle) {}

std::vector<Finding> DeadlockDetector::detect(int64_t now_ns, const DeadlockOptions& opt) {
  notes_.clear();
  DetectionRun run(model_, stream_, lock_sites_, oracle_, notes_, now_ns, opt);
  run.collect_alive();
  // 1. Suspects: blocked long enough on something only another goroutine can end.
  if (!run.find_suspects()) return {};
  // The end of the program: nothing can be read any more, only "all asleep" can be judged.
  if (run.only_all_asleep_is_judged()) return {};
  // 2. Lock holders: traced, or inferred from stacks; who could end each lock wait.
  run.find_lock_wakers();
  // 3. The greatest fixpoint: drop every suspect someone outside the set could wake.
  if (!run.keep_unwakeable()) return {};
  // 4. The wait-for graph inside the set, and its connected parts.
  run.build_graph();
  run.split_into_parts();
  // 5. One finding per part (cycle, WaitGroup, Cond, lost lock holder), one per leak site.
  return run.findings();
}

}  // namespace goscope::detect

#include "detect/deadlock.h"
#include "common/duration.h"
#include "common/hex.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

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

}  // namespace

DeadlockDetector::DeadlockDetector(const state::StateModel& model, const model::StreamInfo& stream,
                                   const LockSites* lock_sites, ReachabilityOracle* oracle)
    : model_(model), stream_(stream), lock_sites_(lock_sites), oracle_(oracle) {}

std::vector<Finding> DeadlockDetector::detect(int64_t now_ns, const DeadlockOptions& opt) {
  std::vector<Finding> findings;
  notes_.clear();
  const state::StackSymbolizer& symbols = model_.symbols();

  // Alive goroutines of the program (the runtime's own never take the program's locks
  // nor use its channels; their stacks still count as roots for the oracle).
  std::vector<const state::GoroutineInfo*> alive;
  for (const state::GoroutineInfo* g : model_.goroutines())
    if (g->state != state::GoroutineState::kExited && !g->runtime) alive.push_back(g);

  std::unordered_map<uint64_t, const model::GoroutineSnapshot*> confirm;
  if (opt.confirm)
    for (const auto& g : opt.confirm->goroutines) confirm[g.goid] = &g;

  auto is_timer_channel = [&](uint64_t address) {
    auto it = model_.channels().find(address);
    if (it == model_.channels().end() || !it->second.made_at) return false;
    for (const state::CodeFrame& f : symbols.stack(it->second.made_at).frames)
      if (f.function.starts_with("time.")) return true;
    return false;
  };

  // 1. Suspects: blocked long enough on something only another goroutine can end.
  std::map<uint64_t, Suspect> suspects;  // by goid
  for (const state::GoroutineInfo* g : alive) {
    if (g->state != state::GoroutineState::kBlocked) continue;
    if (now_ns - g->since_ns < opt.min_blocked_ns) continue;
    const std::string_view reason = stream_.wait_reason_name(g->wait_reason);
    Suspect s;
    s.g = g;
    if (reason == "chan receive (nil chan)" || reason == "chan send (nil chan)") {
      s.kind = WaitKind::kForever;
    } else if (g->waiting_on.empty()) {
      continue;  // sleeping, I/O, timers, GC, or an object nobody could name
    } else {
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
      if (!ok) continue;
    }
    if (opt.confirm) {
      auto it = confirm.find(g->goid);
      if (it == confirm.end() || it->second->status != static_cast<uint32_t>(model::GStatus::kWaiting) ||
          it->second->wait_reason != g->wait_reason)
        continue;  // memory says it moved on (or is gone): the events are behind
    }
    suspects.emplace(g->goid, std::move(s));
  }
  if (suspects.empty()) return findings;

  // The end of the program: nothing can be read any more, only "all asleep" can be judged.
  if (opt.target_exited) {
    if (suspects.size() != alive.size()) return findings;
  }

  // 2. Lock holders: traced, or inferred from stacks.
  auto stack_of = [&](const state::GoroutineInfo* g) { return symbols.stacks().get(g->park_stack); };
  std::set<uint64_t> alive_ids;
  for (const state::GoroutineInfo* g : alive) alive_ids.insert(g->goid);
  struct Holders {
    std::vector<uint64_t> goids;
    bool inferred = false;
    bool unknown = false;  // anyone could: no verdict
  };
  // Inferring holders looks at every goroutine's stack: once per (lock, action), and
  // once per distinct stack (thousands of goroutines waiting on one mutex share both;
  // without the memos a dump of 100,000 goroutines took minutes, quadratically).
  std::map<std::pair<model::StackId, LockAction>, bool> takes_memo;
  auto stack_takes = [&](const state::GoroutineInfo* g, LockAction action) {
    auto [it, fresh] = takes_memo.try_emplace({g->park_stack, action}, false);
    if (fresh) it->second = lock_sites_->stack_takes(stack_of(g), action);
    return it->second;
  };
  std::map<std::pair<LockAction, uint64_t>, Holders> infer_memo;
  auto infer = [&](LockAction action, uint64_t lock) {
    if (auto it = infer_memo.find({action, lock}); it != infer_memo.end()) return it->second;
    Holders h;
    h.inferred = true;
    if (!lock_sites_) {
      h.unknown = true;
      return h;
    }
    for (const state::GoroutineInfo* g : alive) {
      if (g->state != state::GoroutineState::kBlocked || !g->park_stack) {
        h.unknown = true;  // running, runnable or never seen blocked: could hold anything
        break;
      }
      // Another goroutine waiting to take the same lock for writing does not hold it.
      auto s = suspects.find(g->goid);
      const bool waits_for_write = s != suspects.end() && s->second.kind == WaitKind::kLockWrite &&
                                   s->second.lock.address == lock && action == LockAction::kLock;
      if (waits_for_write) continue;
      if (stack_takes(g, action)) h.goids.push_back(g->goid);
    }
    if (h.goids.empty()) h.unknown = true;  // the holder's lock left no trace on its stack
    infer_memo.emplace(std::make_pair(action, lock), h);
    return h;
  };
  auto write_holders = [&](uint64_t lock) {
    if (opt.holders_traced) {
      auto it = model_.mutexes().find(lock);
      if (it != model_.mutexes().end() && it->second.holder)
        return Holders{{it->second.holder}, false, false};
    }
    return infer(LockAction::kLock, lock);
  };
  auto read_holders = [&](uint64_t lock) {
    if (opt.holders_traced) {
      auto it = model_.mutexes().find(lock);
      if (it != model_.mutexes().end() && !it->second.readers.empty()) {
        Holders h;
        for (const auto& [goid, n] : it->second.readers) h.goids.push_back(goid);
        return h;
      }
    }
    return infer(LockAction::kRLock, lock);
  };
  auto writer_waiters = [&](uint64_t lock, uint64_t except) {
    std::vector<uint64_t> out;
    for (const auto& [goid, s] : suspects)
      if (goid != except && s.kind == WaitKind::kLockWrite && s.lock.address == lock) out.push_back(goid);
    return out;
  };

  // Who could end each lock wait (computed once: it does not depend on the set).
  struct LockWakers {
    std::vector<Edge> edges;  // every possible waker
    bool unknown = false;
  };
  std::map<uint64_t, LockWakers> lock_wakers;
  for (auto& [goid, s] : suspects) {
    if (s.kind != WaitKind::kLockWrite && s.kind != WaitKind::kLockRead) continue;
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
      if (opt.holders_traced) {
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
    lock_wakers[goid] = std::move(w);
  }

  // 3. The greatest fixpoint: drop every suspect someone outside the set could wake.
  std::set<uint64_t> stuck;
  for (const auto& [goid, s] : suspects) stuck.insert(goid);
  std::string oracle_unknown;
  for (bool changed = true; changed && !stuck.empty();) {
    changed = false;
    std::vector<uint64_t> targets;
    for (uint64_t goid : stuck)
      for (uint64_t t : suspects[goid].targets) targets.push_back(t);
    ReachabilityOracle::Answer reach;
    if (!targets.empty() && !opt.target_exited) {
      if (oracle_) reach = oracle_->reachable(targets, stuck);
      if (!oracle_) reach.why_unknown = "no process memory to tell who can reach channels and WaitGroups";
      if (!reach.known) oracle_unknown = reach.why_unknown;
    }
    size_t unjudged = 0;
    for (auto it = stuck.begin(); it != stuck.end();) {
      const Suspect& s = suspects[*it];
      bool free = false;
      switch (s.kind) {
        case WaitKind::kForever:
          break;
        case WaitKind::kLockWrite:
        case WaitKind::kLockRead: {
          const LockWakers& w = lock_wakers[*it];
          free = w.unknown;
          for (const Edge& e : w.edges)
            if (!stuck.count(e.to) && alive_ids.count(e.to)) free = true;
          break;
        }
        default:
          if (opt.target_exited) break;  // all asleep: nobody is left to reach anything
          if (!reach.known) {
            free = true;
            unjudged++;
            break;
          }
          for (uint64_t t : s.targets)
            if (reach.reachable.count(t)) free = true;
      }
      if (free) {
        it = stuck.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (unjudged)
      notes_.push_back("the channel, WaitGroup and Cond waits of " + std::to_string(unjudged) +
                       (unjudged == 1 ? " goroutine were" : " goroutines were") +
                       " not judged: " + oracle_unknown);
  }
  if (stuck.empty()) return findings;

  // 4. The wait-for graph inside the set.
  std::map<uint64_t, std::vector<Edge>> graph;
  std::vector<uint64_t> all_targets;
  for (uint64_t goid : stuck)
    for (uint64_t t : suspects[goid].targets) all_targets.push_back(t);
  std::map<uint64_t, std::unordered_set<uint64_t>> reaches;  // goid -> targets its stack reaches
  // One scan per stuck goroutine: bounded, or thousands of leaked goroutines would cost
  // thousands of heap scans. Past the bound, channel waiters are judged one by one (each
  // still stuck for good), without the edges between them.
  constexpr size_t kMaxEdgeScans = 64;
  if (!all_targets.empty() && oracle_ && !opt.target_exited) {
    if (stuck.size() <= kMaxEdgeScans) {
      for (uint64_t goid : stuck)
        if (auto r = oracle_->reachable_from_goroutine(goid, all_targets)) reaches[goid] = std::move(*r);
    } else {
      notes_.push_back(
          "who-waits-for-whom between channel, WaitGroup and Cond waiters was not worked out for " +
          std::to_string(stuck.size()) + " stuck goroutines (more than " + std::to_string(kMaxEdgeScans) +
          "): they are reported per site");
    }
  }
  for (uint64_t goid : stuck) {
    const Suspect& s = suspects[goid];
    auto& out = graph[goid];
    if (s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead) {
      for (const Edge& e : lock_wakers[goid].edges)
        if (stuck.count(e.to) && (e.to != goid || s.kind == WaitKind::kLockWrite)) out.push_back(e);
    } else if (s.kind != WaitKind::kForever) {
      for (uint64_t other : stuck) {
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

  // Connected parts (ignoring direction).
  std::map<uint64_t, uint64_t> part;  // goid -> smallest goid of its part
  {
    std::map<uint64_t, std::set<uint64_t>> undirected;
    for (const auto& [from, edges] : graph)
      for (const Edge& e : edges) {
        undirected[from].insert(e.to);
        undirected[e.to].insert(from);
      }
    for (uint64_t start : stuck) {
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
  }
  std::map<uint64_t, std::vector<uint64_t>> parts;
  // Every goroutine of the program stuck: one finding about all of them.
  const bool all_asleep = stuck.size() == alive.size();
  for (const auto& [goid, root] : part) parts[all_asleep ? *stuck.begin() : root].push_back(goid);

  // The shortest cycle through the part, starting at its smallest goroutine id.
  auto shortest_cycle = [&](const std::vector<uint64_t>& members) {
    std::vector<WaitEdge> best;
    for (uint64_t start : members) {
      std::map<uint64_t, std::pair<uint64_t, const Edge*>> prev;  // node -> (from, edge)
      std::deque<uint64_t> q{start};
      const Edge* closing = nullptr;
      uint64_t last = 0;
      while (!q.empty() && !closing) {
        const uint64_t x = q.front();
        q.pop_front();
        for (const Edge& e : graph[x]) {
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
  };

  auto site_of = [&](const state::GoroutineInfo* g) -> std::optional<Location> {
    if (const state::CodeFrame* f = symbols.stack(g->park_stack).site_frame()) return to_location(*f);
    return std::nullopt;
  };
  auto describe_goroutine = [&](uint64_t goid, const std::vector<Edge>& held) {
    const state::GoroutineInfo* g = suspects.count(goid) ? suspects[goid].g : model_.goroutine(goid);
    FindingGoroutine fg;
    fg.goid = goid;
    if (!g) return fg;
    fg.state = state::goroutine_state_name(g->state);
    fg.wait_reason = std::string(stream_.wait_reason_name(g->wait_reason));
    for (const ObjectRef& o : g->waiting_on) fg.waits_on.push_back(o.address);
    for (const Edge& e : held) fg.holds.push_back(e.object);
    std::sort(fg.holds.begin(), fg.holds.end());
    fg.holds.erase(std::unique(fg.holds.begin(), fg.holds.end()), fg.holds.end());
    fg.blocked_ns = std::max<int64_t>(0, now_ns - g->since_ns);
    fg.since_exact = g->since_exact;
    fg.site = site_of(g);
    fg.stack = to_locations(symbols.stack(g->park_stack), opt.max_stack_frames);
    if (g->created_pc) {
      auto frames = symbols.frames_at(g->created_pc, true);
      if (!frames.empty() && frames.front().known()) fg.created_at = to_location(frames.front());
    }
    fg.parent_goid = g->parent_goid;
    return fg;
  };
  auto object_of = [&](uint64_t address, ObjectKind kind) {
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
          if (const state::CodeFrame* f = symbols.stack(c.made_at).site_frame()) o.made_at = to_location(*f);
        }
      }
    }
    if (kind == ObjectKind::kWaitGroup && oracle_ && !opt.target_exited) {
      // The counter is the high half of the state word (Go 1.19 and later).
      if (auto w = oracle_->read_word(address)) o.detail = "counter " + std::to_string(*w >> 32);
    }
    return o;
  };

  // Leaks of one site are one finding however many goroutines leaked there.
  std::map<std::tuple<std::string, std::string, int, uint32_t>, std::vector<uint64_t>> leaks;

  for (const auto& [root, members] : parts) {
    std::vector<WaitEdge> cycle = shortest_cycle(members);
    bool inferred = false;
    std::map<uint64_t, std::vector<Edge>> holds;  // goid -> lock edges pointing at it
    std::map<uint64_t, FindingObject> objects;
    for (uint64_t goid : members) {
      const Suspect& s = suspects[goid];
      for (const Edge& e : graph[goid]) {
        if (e.inferred) inferred = true;
        if (s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead) holds[e.to].push_back(e);
      }
      if (s.lock.address) objects.try_emplace(s.lock.address, object_of(s.lock.address, s.lock.kind));
      for (const ObjectRef& o : s.g->waiting_on)
        if (o.address) objects.try_emplace(o.address, object_of(o.address, o.kind));
    }
    for (auto& [address, o] : objects) {
      for (const auto& [goid, edges] : holds)
        for (const Edge& e : edges)
          if (e.object == address &&
              (e.relation == "held by" || e.relation == "read-locked by" || e.relation == "write-locked by" ||
               e.relation == "queued behind writer")) {
            if (std::find(o.held_by.begin(), o.held_by.end(), goid) == o.held_by.end())
              o.held_by.push_back(goid);
            if (e.inferred) o.holders_inferred = true;
          }
    }

    // A single goroutine no one can wake: a leak, a WaitGroup or Cond nobody can finish, a
    // lock whose holder is gone.
    const Suspect& first = suspects[members.front()];
    if (cycle.empty() && members.size() == 1 && !all_asleep &&
        (first.kind == WaitKind::kChannel || first.kind == WaitKind::kForever)) {
      auto site = site_of(first.g);
      leaks[{site ? site->function : "", site ? site->file : "", site ? site->line : 0, first.g->wait_reason}]
          .push_back(first.g->goid);
      continue;
    }

    Finding f;
    f.detected_ns = now_ns;
    std::vector<uint64_t> order;  // cycle members first, then the rest
    for (const WaitEdge& e : cycle) order.push_back(e.from);
    for (uint64_t goid : members)
      if (std::find(order.begin(), order.end(), goid) == order.end()) order.push_back(goid);

    if (!cycle.empty()) {
      bool all_locks = true, all_channels = true, recursive_read = false;
      for (const WaitEdge& e : cycle) {
        const Suspect& s = suspects[e.from];
        const bool lock = s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead;
        all_locks &= lock;
        all_channels &= s.kind == WaitKind::kChannel;
        if (s.kind == WaitKind::kLockRead) {
          // A reader queued behind a writer that itself waits for this reader's read lock.
          for (const WaitEdge& back : cycle)
            if (back.from == e.to && back.to == e.from && back.object == e.object) recursive_read = true;
        }
      }
      f.rule = recursive_read ? Rule::kRecursiveRLock
               : all_locks    ? Rule::kMutexDeadlock
               : all_channels ? Rule::kChannelDeadlock
                              : Rule::kMixedDeadlock;
    } else {
      switch (first.kind) {
        case WaitKind::kWaitGroup:
          f.rule = Rule::kWaitGroupDeadlock;
          break;
        case WaitKind::kCond:
          f.rule = Rule::kCondDeadlock;
          break;
        case WaitKind::kLockRead:
        case WaitKind::kLockWrite:
          f.rule = Rule::kMutexDeadlock;
          break;
        default:
          f.rule = Rule::kChannelDeadlock;
      }
    }
    if (all_asleep) f.rule = Rule::kAllAsleep;
    f.severity = rule_info(f.rule).default_severity;

    std::vector<uint64_t> sorted = members;
    std::sort(sorted.begin(), sorted.end());
    const std::string who = goroutine_list(sorted);
    switch (f.rule) {
      case Rule::kMutexDeadlock:
        f.title =
            cycle.size() == 2 ? "deadlock: goroutines " + goroutine_list({cycle[0].from, cycle[1].from}) +
                                    " each hold a mutex the other waits for (AB-BA)"
            : !cycle.empty()
                ? "deadlock: " + std::to_string(cycle.size()) + " goroutines wait for mutexes in a cycle"
                : "deadlock: goroutine " + who + " waits for a mutex nobody can release";
        break;
      case Rule::kChannelDeadlock:
        f.title = "deadlock: goroutines " + who + " wait on channels only they could use";
        break;
      case Rule::kRecursiveRLock:
        f.title = "deadlock: a read lock is taken again while a writer waits for the first (goroutines " +
                  who + ")";
        break;
      case Rule::kWaitGroupDeadlock:
        f.title = "deadlock: goroutine " + who + " waits on a WaitGroup that can never reach zero";
        break;
      case Rule::kCondDeadlock:
        f.title = "deadlock: goroutine " + who + " waits on a sync.Cond nobody can signal";
        break;
      case Rule::kAllAsleep:
        f.title = "deadlock: all goroutines are asleep (" + std::to_string(members.size()) + " blocked)";
        break;
      default:
        f.title = "deadlock: goroutines " + who + " wait for each other";
    }

    // The story, edge by edge.
    auto name = [&](uint64_t address) {
      auto it = objects.find(address);
      return it == objects.end() ? hex(address) : it->second.name;
    };
    // One sentence per goroutine: what it holds, what it waits for and where, and who could end it.
    std::string msg;
    for (uint64_t goid : order) {
      const Suspect& s = suspects[goid];
      std::vector<std::string> held;
      for (const Edge& e : holds[goid])
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
          std::find_if(cycle.begin(), cycle.end(), [&](const WaitEdge& e) { return e.from == goid; });
      if (on_cycle != cycle.end())
        msg += ", " + on_cycle->relation + " goroutine " + std::to_string(on_cycle->to);
      else if (!graph[goid].empty())
        msg += ", " + graph[goid].front().relation + " goroutine " + std::to_string(graph[goid].front().to);
      else
        msg += f.rule == Rule::kAllAsleep ? ""
               : s.kind == WaitKind::kLockWrite || s.kind == WaitKind::kLockRead
                   ? ", and no live goroutine can release it"
                   : ", which no other live goroutine can reach";
      msg += ".";
    }
    msg += " ";
    msg += "None of them can be woken by a goroutine outside this set";
    if (f.rule == Rule::kAllAsleep) msg += ", and no other goroutine of the program is left";
    msg += ".";
    f.message = std::move(msg);

    if (inferred) {
      f.confidence = Confidence::kLikely;
      f.confidence_reason =
          "lock holders were not traced (no lock events since the locks were taken): they are inferred from "
          "the functions on each goroutine's stack that take locks; run `goscope trace --locks` from the "
          "program's start to observe them";
    }
    for (uint64_t goid : order) f.goroutines.push_back(describe_goroutine(goid, holds[goid]));
    for (auto& [address, o] : objects) f.objects.push_back(std::move(o));
    f.cycle = std::move(cycle);
    if (!f.goroutines.empty()) f.location = f.goroutines.front().site;
    f.since_ns = 0;
    for (uint64_t goid : members) f.since_ns = std::max(f.since_ns, suspects[goid].g->since_ns);
    f.suggestion = rule_info(f.rule).help;
    if (f.location)
      f.suggestion = "Look at " + f.location->function + " (" + f.location->file + ":" +
                     std::to_string(f.location->line) + "), where goroutine " +
                     std::to_string(order.front()) + " blocks. " + f.suggestion;
    std::set<std::string> sites;
    for (uint64_t goid : members) {
      const auto site = site_of(suspects[goid].g);
      sites.insert((site ? site->function + "@" + std::to_string(site->line) : std::string("?")) + ":" +
                   std::string(stream_.wait_reason_name(suspects[goid].g->wait_reason)));
    }
    f.fingerprint = rule_info(f.rule).id;
    for (const auto& site : sites) f.fingerprint += ":" + site;
    f.key = std::string(rule_info(f.rule).id) + ":" + who;
    for (const auto& o : f.objects) f.key += ":" + hex(o.address);
    findings.push_back(std::move(f));
  }

  for (auto& [site, goids] : leaks) {
    Finding f;
    f.rule = Rule::kGoroutineLeak;
    f.severity = rule_info(f.rule).default_severity;
    f.detected_ns = now_ns;
    std::sort(goids.begin(), goids.end());
    const state::GoroutineInfo* g0 = suspects[goids.front()].g;
    const std::string reason(stream_.wait_reason_name(g0->wait_reason));
    const auto& [function, file, line, wait_reason] = site;
    const bool forever = suspects[goids.front()].kind == WaitKind::kForever;
    f.title = "goroutine leak: " + std::to_string(goids.size()) +
              (goids.size() == 1 ? " goroutine" : " goroutines") + " blocked forever in " +
              (reason.empty() ? "a channel operation" : reason) +
              (function.empty() ? "" : " at " + file + ":" + std::to_string(line));
    std::string msg;
    for (uint64_t goid : goids) {
      const Suspect& s = suspects[goid];
      FindingObject o =
          s.targets.empty() ? FindingObject{} : object_of(s.targets.front(), ObjectKind::kChannel);
      msg += "goroutine " + std::to_string(goid) + " waits on " +
             (forever ? std::string("a nil channel")
                      : o.name + (o.detail.empty() ? "" : " (" + o.detail + ")")) +
             " for " + (s.g->since_exact ? "" : "at least ") + duration_text(now_ns - s.g->since_ns) + ".\n";
      if (!s.targets.empty()) f.objects.push_back(std::move(o));
      f.goroutines.push_back(describe_goroutine(goid, {}));
    }
    msg += forever
               ? "An operation on a nil channel blocks forever."
               : "No other live goroutine can reach the channel any more (no stack, global or heap object "
                 "of another goroutine refers to it), so nothing can ever send, receive or close.";
    f.message = std::move(msg);
    f.location = f.goroutines.front().site;
    f.suggestion = rule_info(f.rule).help;
    f.since_ns = g0->since_ns;
    f.key = std::string(rule_info(f.rule).id) + ":" + function + ":" + std::to_string(line) + ":" + reason;
    f.metrics["goroutines"] = static_cast<double>(goids.size());
    findings.push_back(std::move(f));
  }
  return findings;
}

}  // namespace goscope::detect

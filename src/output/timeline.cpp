// The timeline follows the state model instead of re-deriving states from events:
// after each event, the goroutines it touched are compared with what the model now
// says about them, and a segment ends where the state (or what a goroutine is
// blocked on) changed. The model already knows every rule (a park of an exited
// goroutine is a straggler, a create's child may have been seen running first, a
// status event is exact), so the timeline cannot disagree with the summary or the
// detectors.
#include "output/timeline.h"

#include <algorithm>
#include <deque>
#include <map>
#include <string_view>
#include <unordered_map>

namespace goscope::output {

using state::GoroutineInfo;
using state::GoroutineState;
using model::Event;
using model::EventKind;

namespace {

// Pairing sends with receives needs every operation (--all-ops); a queue longer than
// the channel's buffer plus this many blocked partners means events were lost.
constexpr size_t kMaxUnpairedOps = 1024;

bool same_wait(const Segment& a, const Segment& b) {
  return a.state == b.state && a.wait_reason == b.wait_reason && a.object == b.object &&
         a.object_kind == b.object_kind && a.stack == b.stack;
}

}  // namespace

struct TimelineBuilder::Impl {
  struct Track {
    GoroutineTrack track;
    Segment current;  // valid when has_current
    bool has_current = false;
    bool current_stored = false;  // current is track.segments.back() (not dropped by the bound)
    bool counted_alive = false;   // its contribution to the counters now
    bool counted_blocked = false;
  };
  struct Operation {
    uint64_t goid = 0;
    int64_t time_ns = 0;
    int64_t begin_ns = 0;
  };
  struct ChannelOps {
    std::deque<Operation> sends;  // completed sends no receive was paired with yet
    std::deque<Operation> recvs;  // receives seen before their send (a blocked sender's value)
  };

  Impl(const state::StateModel& m, const TimelineOptions& o) : model(m), options(o) {
    // The model may be seeded already: those goroutines start in the state it had before any event.
    for (const GoroutineInfo* g : model.goroutines()) initial.emplace(g->goid, *g);
  }

  const state::StateModel& model;
  TimelineOptions options;
  std::unordered_map<uint64_t, GoroutineInfo> initial;  // the model before the first event
  bool started = false;
  int64_t start_ns = 0;
  int64_t last_ns = 0;
  std::map<uint64_t, Track> tracks;
  size_t segments_stored = 0;
  uint64_t segments_dropped = 0;
  std::vector<Flow> flows;
  std::unordered_map<uint64_t, size_t> pending_arrival;  // goid -> flow waiting for it to run
  std::unordered_map<uint64_t, ChannelOps> channel_ops;
  std::unordered_map<uint64_t, uint64_t> closed_by;  // goid -> the channel it is closing now
  bool all_ops = false;  // channel operations are traced (a kChanSend/kChanRecv was seen)
  uint64_t alive = 0;
  uint64_t blocked = 0;
  std::vector<CounterSample> counters;

  bool hidden(const Track& t) const { return t.track.runtime && !options.include_runtime; }

  void begin(int64_t t) {
    started = true;
    start_ns = options.start_ns ? std::min(options.start_ns, t) : t;
    last_ns = start_ns;
    counters.push_back({start_ns, 0, 0});  // the seeded goroutines below update it
    for (const GoroutineInfo* g : model.goroutines()) {
      if (!g->from_snapshot) continue;
      auto it = initial.find(g->goid);
      // Seeded after the builder was made: the model's state now is the best there is.
      const GoroutineInfo& before = it != initial.end() ? it->second : *g;
      Track& track = track_of(*g);
      update(track, before, start_ns, false);
    }
  }

  Track& track_of(const GoroutineInfo& g) {
    auto [it, inserted] = tracks.try_emplace(g.goid);
    Track& t = it->second;
    if (inserted) t.track.goid = g.goid;
    // What the model learns later (classification, creation) refines the track.
    if (g.parent_goid) t.track.parent_goid = g.parent_goid;
    if (g.created_pc) t.track.created_pc = g.created_pc;
    if (g.start_pc) t.track.start_pc = g.start_pc;
    t.track.runtime = g.runtime;
    return t;
  }

  // Brings `goid`'s track to what the model says now. `new_wait`: a park, which starts
  // a new blocked segment even when it looks like the last one (a wake-up was lost).
  void sync(uint64_t goid, int64_t t, bool new_wait) {
    if (!goid) return;
    const GoroutineInfo* g = model.goroutine(goid);
    if (!g) return;
    update(track_of(*g), *g, t, new_wait);
  }

  void update(Track& tr, const GoroutineInfo& g, int64_t t, bool new_wait) {
    if (g.state == GoroutineState::kExited) {
      if (!tr.track.exited_ns) {
        if (tr.has_current && tr.current.state == GoroutineState::kRunnable) arrived(tr.track.goid, t);
        pending_arrival.erase(tr.track.goid);  // it will never run: the flow ends where it began
        close(tr, t);
        tr.track.exited_ns = std::max(t, start_ns);
      }
    } else if (g.state != GoroutineState::kUnknown && !tr.track.exited_ns) {
      Segment next;
      next.state = g.state;
      if (g.state == GoroutineState::kBlocked) {
        next.wait_reason = g.wait_reason;
        if (!g.waiting_on.empty()) {
          next.object = g.waiting_on.front().address;
          next.object_kind = g.waiting_on.front().kind;
        }
        next.stack = g.park_stack;
      }
      if (!tr.has_current || !same_wait(tr.current, next) || new_wait) {
        if (tr.has_current && tr.current.state == GoroutineState::kRunnable) arrived(tr.track.goid, t);
        const int64_t from = close(tr, t);
        next.start_ns = std::max(t, from);
        open(tr, next);
      }
    }
    count(tr, t);
  }

  // Ends the current segment at t (never before it began); returns where it ended.
  int64_t close(Track& tr, int64_t t) {
    if (!tr.has_current) return start_ns;
    const int64_t end = std::max(t, tr.current.start_ns);
    if (tr.current_stored) tr.track.segments.back().end_ns = end;
    tr.has_current = false;
    tr.current_stored = false;
    return end;
  }

  void open(Track& tr, const Segment& s) {
    tr.current = s;
    tr.current.end_ns = s.start_ns;
    tr.has_current = true;
    tr.current_stored = false;
    if (hidden(tr)) return;  // not shown: costs no memory
    if (segments_stored >= options.max_segments) {
      segments_dropped++;
      return;
    }
    tr.track.segments.push_back(tr.current);
    tr.current_stored = true;
    segments_stored++;
  }

  // The goroutine some flow points to left the runnable state: it ran at t.
  void arrived(uint64_t goid, int64_t t) {
    auto it = pending_arrival.find(goid);
    if (it == pending_arrival.end()) return;
    Flow& f = flows[it->second];
    f.to_ns = std::max(t, f.from_ns);
    pending_arrival.erase(it);
  }

  void count(Track& tr, int64_t t) {
    const bool is_alive = !tr.track.runtime && tr.has_current && !tr.track.exited_ns;
    const bool is_blocked = is_alive && tr.current.state == GoroutineState::kBlocked;
    if (is_alive == tr.counted_alive && is_blocked == tr.counted_blocked) return;
    if (is_alive != tr.counted_alive) is_alive ? alive++ : alive--;
    if (is_blocked != tr.counted_blocked) is_blocked ? blocked++ : blocked--;
    tr.counted_alive = is_alive;
    tr.counted_blocked = is_blocked;
    sample(t);
  }

  // At most one sample per kCounterStepNs: a change inside the step updates the step's
  // sample, so each sample holds the counts at the end of its step.
  void sample(int64_t t) {
    CounterSample& last = counters.back();
    if (t >= last.time_ns + kCounterStepNs) {
      if (last.goroutines != alive || last.blocked != blocked) counters.push_back({t, alive, blocked});
      return;
    }
    last.goroutines = alive;
    last.blocked = blocked;
    // Back to what the step before said: this step changed nothing.
    if (counters.size() >= 2) {
      const CounterSample& before = counters[counters.size() - 2];
      if (before.goroutines == alive && before.blocked == blocked) counters.pop_back();
    }
  }

  size_t add_flow(Flow::Kind kind, uint64_t from, int64_t from_ns, uint64_t to, int64_t to_ns,
                  uint64_t object) {
    flows.push_back({kind, from, from_ns, to, std::max(to_ns, from_ns), object});
    return flows.size() - 1;
  }

  // Is `segment` a receive blocked on a channel (so a sender's wake-up hands it the value)?
  bool blocked_receiving(const Segment& s) const {
    if (s.state != GoroutineState::kBlocked || s.object_kind != model::ObjectKind::kChannel) return false;
    for (const auto& frame : model.symbols().stack(s.stack).frames) {
      if (frame.function == "runtime.chanrecv") return true;
      if (frame.function == "runtime.chansend" || frame.function == "runtime.selectgo") return false;
    }
    return false;
  }

  void on_ready(const Event& e) {
    if (!e.goid || !e.other_goid || e.goid == e.other_goid) return;
    Flow::Kind kind = Flow::Kind::kWake;
    uint64_t object = 0;
    // The wakee's segment still says what it was blocked on (it is synced after this).
    auto it = tracks.find(e.other_goid);
    if (!all_ops && it != tracks.end() && it->second.has_current && blocked_receiving(it->second.current)) {
      auto closing = closed_by.find(e.goid);
      // A close wakes receivers without a value: that is a wake-up, not a hand-off.
      if (closing == closed_by.end() || closing->second != it->second.current.object) {
        kind = Flow::Kind::kChannel;
        object = it->second.current.object;
      }
    }
    pending_arrival[e.other_goid] = add_flow(kind, e.goid, e.time_ns, e.other_goid, e.time_ns, object);
  }

  // With every channel operation traced, a value goes from the oldest unpaired send to
  // the next receive that got one (channels are FIFO). Only for channels made during the
  // trace: values already buffered at the start would shift every pair.
  void on_channel_op(uint64_t channel, bool send, uint64_t goid, int64_t t, int64_t begin) {
    if (!channel || !goid) return;
    auto info = model.channels().find(channel);
    if (info == model.channels().end() || info->second.capacity < 0) return;
    ChannelOps& ops = channel_ops[channel];
    std::deque<Operation>& partners = send ? ops.recvs : ops.sends;
    if (partners.empty()) {
      std::deque<Operation>& mine = send ? ops.sends : ops.recvs;
      mine.push_back({goid, t, begin});
      if (mine.size() > static_cast<size_t>(info->second.capacity) + kMaxUnpairedOps) mine.pop_front();
      return;
    }
    const Operation partner = partners.front();
    partners.pop_front();
    const Operation s = send ? Operation{goid, t, begin} : partner;
    const Operation r = send ? partner : Operation{goid, t, begin};
    // A receive that came first took the value of a sender blocked since it began.
    int64_t from = s.time_ns;
    if (from > r.time_ns) from = s.begin_ns > 0 ? std::min(s.begin_ns, r.time_ns) : r.time_ns;
    add_flow(Flow::Kind::kChannel, s.goid, from, r.goid, r.time_ns, channel);
  }

  void on_event(const Event& e) {
    if (!started) begin(e.time_ns);
    const int64_t t = e.time_ns;
    last_ns = std::max(last_ns, t);

    switch (e.kind) {
      case EventKind::kReady:
        on_ready(e);
        break;
      case EventKind::kGoCreate:
        if (e.goid && e.other_goid)
          pending_arrival[e.goid] = add_flow(Flow::Kind::kCreate, e.other_goid, t, e.goid, t, 0);
        break;
      case EventKind::kChanMake:
        channel_ops.erase(e.object);  // a collected channel's address, reused
        break;
      case EventKind::kChanSend:
      case EventKind::kChanRecv: {
        all_ops = true;
        const bool send = e.kind == EventKind::kChanSend;
        if ((e.flags & model::kOk) && (send || (e.flags & model::kReceived)))
          on_channel_op(e.object, send, e.goid, t, e.begin_ns);
        break;
      }
      case EventKind::kSelect:
        if (e.value >= 0 && static_cast<size_t>(e.value) < e.objects.size()) {
          const model::ObjectRef& chosen = e.objects[e.value];
          const bool send = !(chosen.flags & model::kRecvCase);
          if (send || (e.flags & model::kReceived))
            on_channel_op(chosen.address, send, e.goid, t, e.begin_ns);
        }
        break;
      default:
        break;
    }
    // closechan readies its receivers right after its own event.
    if (e.kind == EventKind::kChanClose && e.goid)
      closed_by[e.goid] = e.object;
    else if (e.kind != EventKind::kReady && e.goid)
      closed_by.erase(e.goid);

    const bool park = e.kind == EventKind::kPark;
    if (e.kind == EventKind::kGoCreate) {
      sync(e.other_goid, t, false);  // the parent first: it ran the go statement
      sync(e.goid, t, false);
      auto it = tracks.find(e.goid);
      if (it != tracks.end() && !it->second.track.created_ns) it->second.track.created_ns = t;
    } else {
      sync(e.goid, t, park);
      if (e.other_goid != e.goid) sync(e.other_goid, t, false);
    }
  }

  Timeline finish(int64_t end_ns) {
    Timeline out;
    if (!started) begin(end_ns ? end_ns : options.start_ns);
    const int64_t end = std::max(end_ns, last_ns);
    out.start_ns = start_ns;
    out.end_ns = end;
    for (auto& [goid, tr] : tracks) {
      close(tr, end);
      if (hidden(tr)) continue;
      out.tracks.push_back(std::move(tr.track));
    }
    auto shown = [&](uint64_t goid) {
      auto it = tracks.find(goid);
      return it != tracks.end() && !hidden(it->second);
    };
    for (const Flow& f : flows)
      if (shown(f.from_goid) && shown(f.to_goid)) out.flows.push_back(f);
    std::stable_sort(out.flows.begin(), out.flows.end(),
                     [](const Flow& a, const Flow& b) { return a.from_ns < b.from_ns; });
    out.counters = std::move(counters);
    // The counts hold until the end: a last sample draws them that far.
    if (out.counters.empty() || out.counters.back().time_ns < end)
      out.counters.push_back({end, alive, blocked});
    out.segments_dropped = segments_dropped;
    tracks.clear();
    flows.clear();
    return out;
  }
};

TimelineBuilder::TimelineBuilder(const state::StateModel& model, const TimelineOptions& options)
    : impl_(std::make_unique<Impl>(model, options)) {}

TimelineBuilder::~TimelineBuilder() = default;

void TimelineBuilder::on_event(const model::Event& e) {
  impl_->on_event(e);
}

Timeline TimelineBuilder::finish(int64_t end_ns) {
  return impl_->finish(end_ns);
}

}  // namespace goscope::output

// The goroutine timeline built next to the state model from synthetic event streams:
// exact segments, flows (wake-ups, channel hand-offs, creations) and counters, the
// attach snapshot, runtime goroutines and the memory bound.
#include "output/timeline.h"

#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "output_timeline_fixture.h"

namespace goscope::output {
namespace {

using state::GoroutineState;
using model::EventKind;
using model::ObjectKind;

class OutputTimeline : public TimelineFixture {};

const GoroutineTrack* track(const Timeline& t, uint64_t goid) {
  for (const auto& tr : t.tracks)
    if (tr.goid == goid) return &tr;
  return nullptr;
}

// (state, start, end) relative to kT0, for compact expectations.
using Span = std::tuple<GoroutineState, int64_t, int64_t>;
std::vector<Span> spans(const GoroutineTrack& tr, int64_t t0) {
  std::vector<Span> out;
  for (const Segment& s : tr.segments) out.emplace_back(s.state, s.start_ns - t0, s.end_ns - t0);
  return out;
}

// (time relative to kT0, alive, blocked).
using Sample = std::tuple<int64_t, uint64_t, uint64_t>;
std::vector<Sample> samples(const Timeline& t, int64_t t0) {
  std::vector<Sample> out;
  for (const CounterSample& c : t.counters) out.emplace_back(c.time_ns - t0, c.goroutines, c.blocked);
  return out;
}
Sample sample(const CounterSample& c, int64_t t0) {
  return {c.time_ns - t0, c.goroutines, c.blocked};
}

constexpr auto kRunning = GoroutineState::kRunning;
constexpr auto kRunnable = GoroutineState::kRunnable;
constexpr auto kBlocked = GoroutineState::kBlocked;

TEST_F(OutputTimeline, SegmentsFlowsAndCountersOfAHandOff) {
  const Timeline t = main_and_sink();
  EXPECT_EQ(t.start_ns, kT0);
  EXPECT_EQ(t.end_ns, kT0 + 10 * kMs);
  EXPECT_EQ(t.segments_dropped, 0u);
  ASSERT_EQ(t.tracks.size(), 2u);
  EXPECT_EQ(t.tracks[0].goid, 1u);  // by goid
  EXPECT_EQ(t.tracks[1].goid, 12u);

  const GoroutineTrack& main_g = t.tracks[0];
  EXPECT_EQ(spans(main_g, kT0), (std::vector<Span>{{kRunning, 0, 1 * kMs},
                                                   {kBlocked, 1 * kMs, 3 * kMs},
                                                   {kRunnable, 3 * kMs, 4 * kMs},
                                                   {kRunning, 4 * kMs, 10 * kMs}}));
  const Segment& wait = main_g.segments[1];
  EXPECT_EQ(wait.wait_reason, s->reason("chan receive"));
  EXPECT_EQ(wait.object, kChan);
  EXPECT_EQ(wait.object_kind, ObjectKind::kChannel);
  EXPECT_EQ(wait.stack, main_park);
  EXPECT_EQ(main_g.segments[0].object, 0u);  // only blocked segments wait on something
  EXPECT_EQ(main_g.created_ns, 0);           // it existed before the trace
  EXPECT_EQ(main_g.exited_ns, 0);

  const GoroutineTrack& sink = t.tracks[1];
  EXPECT_EQ(spans(sink, kT0), (std::vector<Span>{{kRunnable, 0, 2 * kMs}, {kRunning, 2 * kMs, 5 * kMs}}));
  EXPECT_EQ(sink.created_ns, kT0);
  EXPECT_EQ(sink.exited_ns, kT0 + 5 * kMs);
  EXPECT_EQ(sink.parent_goid, 1u);
  EXPECT_EQ(sink.created_pc, sink_go_pc);
  EXPECT_EQ(sink.start_pc, s->entry("main.main.func4"));
  EXPECT_FALSE(sink.runtime);

  ASSERT_EQ(t.flows.size(), 2u);
  // The go statement: from the parent to the child's first run.
  EXPECT_EQ(t.flows[0].kind, Flow::Kind::kCreate);
  EXPECT_EQ(t.flows[0].from_goid, 1u);
  EXPECT_EQ(t.flows[0].from_ns, kT0);
  EXPECT_EQ(t.flows[0].to_goid, 12u);
  EXPECT_EQ(t.flows[0].to_ns, kT0 + 2 * kMs);
  // The sender woke the receiver blocked in chanrecv: the value went with the wake-up.
  EXPECT_EQ(t.flows[1].kind, Flow::Kind::kChannel);
  EXPECT_EQ(t.flows[1].from_goid, 12u);
  EXPECT_EQ(t.flows[1].from_ns, kT0 + 3 * kMs);
  EXPECT_EQ(t.flows[1].to_goid, 1u);
  EXPECT_EQ(t.flows[1].to_ns, kT0 + 4 * kMs);  // when main ran again
  EXPECT_EQ(t.flows[1].object, kChan);

  EXPECT_EQ(
      samples(t, kT0),
      (std::vector<Sample>{{0, 2, 0}, {1 * kMs, 2, 1}, {3 * kMs, 2, 0}, {5 * kMs, 1, 0}, {10 * kMs, 1, 0}}));
}

TEST_F(OutputTimeline, WakeUpOfASenderAndByAClose) {
  start();
  feed(park(3, kT0, send_park, "chan send"));  // a blocked sender
  feed(park(4, kT0 + 1 * kMs, sink_park));     // a blocked receiver
  feed(ready(5, 3, kT0 + 2 * kMs));            // a receiver took 3's value
  feed(chan_op(EventKind::kChanClose, 5, kT0 + 3 * kMs, 0));
  feed(ready(5, 4, kT0 + 3 * kMs));  // closechan wakes receivers: no value
  feed(ready(0, 4, kT0 + 4 * kMs));  // the runtime's own wake-ups have no waker to draw from
  const Timeline t = builder->finish(kT0 + 5 * kMs);

  ASSERT_EQ(t.flows.size(), 2u);
  EXPECT_EQ(t.flows[0].kind, Flow::Kind::kWake);
  EXPECT_EQ(std::tie(t.flows[0].from_goid, t.flows[0].to_goid), std::make_tuple(uint64_t{5}, uint64_t{3}));
  EXPECT_EQ(t.flows[0].to_ns, kT0 + 2 * kMs);  // 3 never ran again: it ends at the wake-up
  EXPECT_EQ(t.flows[0].object, 0u);
  EXPECT_EQ(t.flows[1].kind, Flow::Kind::kWake);
  EXPECT_EQ(std::tie(t.flows[1].from_goid, t.flows[1].to_goid), std::make_tuple(uint64_t{5}, uint64_t{4}));
}

TEST_F(OutputTimeline, AllOpsPairsSendsWithReceives) {
  start();
  model::Event make = testing::SyntheticEvents::event(EventKind::kChanMake, 1, kT0);
  make.object = kChan;
  make.object_kind = ObjectKind::kChannel;
  make.value = 0;  // unbuffered
  feed(make);
  // The sender was there first: the receive completes before the blocked send returns.
  feed(chan_op(EventKind::kChanRecv, 13, kT0 + 2 * kMs, kT0 + 2 * kMs - 10 * kUs));
  feed(chan_op(EventKind::kChanSend, 12, kT0 + 3 * kMs, kT0 + 1 * kMs));
  // The receiver was there first: the sender wakes it and the send completes.
  feed(park(13, kT0 + 4 * kMs, sink_park));
  feed(ready(12, 13, kT0 + 5 * kMs));
  feed(chan_op(EventKind::kChanSend, 12, kT0 + 5 * kMs + 10 * kUs, kT0 + 5 * kMs - 10 * kUs));
  feed(chan_op(EventKind::kChanRecv, 13, kT0 + 6 * kMs, kT0 + 4 * kMs - 10 * kUs));
  // A channel made before the trace may hold values already: never paired.
  feed(chan_op(EventKind::kChanSend, 12, kT0 + 7 * kMs, kT0 + 7 * kMs, 0xc0000b0000));
  feed(chan_op(EventKind::kChanRecv, 13, kT0 + 8 * kMs, kT0 + 8 * kMs, 0xc0000b0000));
  const Timeline t = builder->finish(kT0 + 9 * kMs);

  std::vector<std::tuple<Flow::Kind, uint64_t, int64_t, uint64_t, int64_t, uint64_t>> flows;
  for (const Flow& f : t.flows)
    flows.emplace_back(f.kind, f.from_goid, f.from_ns - kT0, f.to_goid, f.to_ns - kT0, f.object);
  using F = Flow::Kind;
  EXPECT_EQ(flows, (decltype(flows){
                       // A blocked sender's value was taken by the receive: from the send's start.
                       {F::kChannel, 12, 1 * kMs, 13, 2 * kMs, kChan},
                       // With every operation traced, a wake-up stays a wake-up...
                       {F::kWake, 12, 5 * kMs, 13, 6 * kMs, 0},
                       // ...and the value is drawn from the send to the receive.
                       {F::kChannel, 12, 5 * kMs + 10 * kUs, 13, 6 * kMs, kChan},
                   }));
}

TEST_F(OutputTimeline, CountersTakeOneSamplePerStep) {
  start();
  feed(act(1, kT0));
  feed(park(1, kT0 + 100 * kUs, main_park));
  feed(ready(0, 1, kT0 + 200 * kUs));  // back to where the step began
  feed(park(1, kT0 + 2 * kMs, main_park));
  feed(park(1, kT0 + 2 * kMs + 500 * kUs, main_park));  // blocked again, the wake-up lost
  const Timeline t = builder->finish(kT0 + 3 * kMs);

  EXPECT_EQ(samples(t, kT0), (std::vector<Sample>{{0, 1, 0}, {2 * kMs, 1, 1}, {3 * kMs, 1, 1}}));
  ASSERT_EQ(t.tracks.size(), 1u);
  // Every park starts a blocked segment, even one that looks like the last.
  EXPECT_EQ(spans(t.tracks[0], kT0), (std::vector<Span>{{kRunning, 0, 100 * kUs},
                                                        {kBlocked, 100 * kUs, 200 * kUs},
                                                        {kRunnable, 200 * kUs, 2 * kMs},
                                                        {kBlocked, 2 * kMs, 2 * kMs + 500 * kUs},
                                                        {kBlocked, 2 * kMs + 500 * kUs, 3 * kMs}}));
  EXPECT_TRUE(t.flows.empty());
}

TEST_F(OutputTimeline, AttachSnapshotStartsInItsState) {
  constexpr uint64_t kBias = 0x7f0000000000;
  auto proc = [&](uint64_t vaddr) { return vaddr + kBias; };
  model::ProcessSnapshot snap;
  snap.taken_at_ns = kT0;
  model::GoroutineSnapshot main_g;
  main_g.goid = 1;
  main_g.status = static_cast<uint32_t>(model::GStatus::kWaiting);
  main_g.wait_reason = s->reason("chan receive");
  main_g.waiting_on = {{model::WaitedObject::Kind::kChannel, kChan, false}};
  main_g.start_pc = proc(s->entry("runtime.main"));
  for (uint64_t pc : s->stacks.get(main_park)) main_g.stack.push_back(proc(pc));
  snap.goroutines.push_back(main_g);
  model::GoroutineSnapshot worker;
  worker.goid = 7;
  worker.status = static_cast<uint32_t>(model::GStatus::kRunnable);
  worker.start_pc = proc(s->entry("main.main.func4"));
  snap.goroutines.push_back(worker);
  model::GoroutineSnapshot gc;
  gc.goid = 8;
  gc.status = static_cast<uint32_t>(model::GStatus::kWaiting);
  gc.wait_reason = s->reason("GC worker (idle)");
  gc.start_pc = proc(s->entry("runtime.gcBgMarkWorker"));
  snap.goroutines.push_back(gc);
  model->seed(snap, kBias, s->stacks);

  TimelineOptions o;
  o.start_ns = kT0;
  start(o);
  feed(ready(7, 1, kT0 + 5 * kMs));
  const Timeline t = builder->finish(kT0 + 6 * kMs);

  ASSERT_EQ(t.tracks.size(), 2u);  // the GC worker is the runtime's
  const GoroutineTrack* g1 = track(t, 1);
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ(spans(*g1, kT0), (std::vector<Span>{{kBlocked, 0, 5 * kMs}, {kRunnable, 5 * kMs, 6 * kMs}}));
  EXPECT_EQ(g1->segments[0].object, kChan);
  EXPECT_EQ(g1->segments[0].stack, main_park);
  EXPECT_EQ(g1->start_pc, s->entry("runtime.main"));
  const GoroutineTrack* g7 = track(t, 7);
  ASSERT_NE(g7, nullptr);
  EXPECT_EQ(spans(*g7, kT0), (std::vector<Span>{{kRunnable, 0, 5 * kMs}, {kRunning, 5 * kMs, 6 * kMs}}));
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(t.flows[0].kind, Flow::Kind::kChannel);  // 1 was blocked in chanrecv
  EXPECT_EQ(samples(t, kT0), (std::vector<Sample>{{0, 2, 1}, {5 * kMs, 2, 0}, {6 * kMs, 2, 0}}));
}

TEST_F(OutputTimeline, RuntimeGoroutinesOnlyWhenAsked) {
  for (bool include : {false, true}) {
    SCOPED_TRACE(include);
    model = std::make_unique<state::StateModel>(symbols);
    TimelineOptions o;
    o.include_runtime = include;
    start(o);
    feed(create(20, 0, kT0, "runtime.gcBgMarkWorker"));
    feed(create(21, 1, kT0 + 1 * kMs, "main.main.func4"));
    feed(ready(20, 21, kT0 + 2 * kMs));
    const Timeline t = builder->finish(kT0 + 3 * kMs);
    EXPECT_EQ(track(t, 20) != nullptr, include);
    ASSERT_NE(track(t, 21), nullptr);
    if (include) {
      EXPECT_TRUE(track(t, 20)->runtime);
    }
    // The wake-up from the GC worker is drawn only when its track is.
    size_t wakes = 0;
    for (const Flow& f : t.flows) wakes += f.kind == Flow::Kind::kWake;
    EXPECT_EQ(wakes, include ? 1u : 0u);
    // Counters never count the runtime's own goroutines: 1 (seen as a parent) and 21.
    EXPECT_EQ(t.counters.back().goroutines, 2u);
  }
}

TEST_F(OutputTimeline, SegmentsBeyondTheBoundAreCounted) {
  TimelineOptions o;
  o.max_segments = 3;
  const Timeline t = main_and_sink(o);
  size_t kept = 0;
  for (const auto& tr : t.tracks) kept += tr.segments.size();
  EXPECT_EQ(kept, 3u);
  EXPECT_EQ(t.segments_dropped, 3u);  // 6 segments in all
  // The counters do not depend on what was kept.
  EXPECT_EQ(sample(t.counters.back(), kT0), (Sample{10 * kMs, 1, 0}));
}

}  // namespace
}  // namespace goscope::output

// The state model fed synthetic events whose stacks are real addresses of the
// pipeline test program (Go 1.22): goroutine life cycles, late-seen goroutines,
// snapshot seeding, blocking time per site and reason, mutexes and channels.
#include "state/state_model.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::detect {
namespace {

using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::ObjectKind;

constexpr uint64_t kChan = 0xc000020060;
constexpr uint64_t kMutex = 0xc0000180a0;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 5'000 * kMs;  // a CLOCK_MONOTONIC time

class DetectStateModel : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>();
    ASSERT_TRUE(s->ok());
    symbols = std::make_shared<state::StackSymbolizer>(*s->binary, s->stacks);
    model = std::make_unique<state::StateModel>(symbols);
    sink_line = s->source_line(R"(^\s*for v := range squares \{)");
    main_recv_line = s->source_line(R"(^\s*sum := <-result$)");
    sink_park = s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv2"),
                          s->call_at("main.main.func4", sink_line), s->in("runtime.goexit")});
    main_park =
        s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv1"),
                  s->call_at("main.main", main_recv_line), s->in("runtime.main"), s->in("runtime.goexit")});
    sink_go_pc = s->call_at("main.main", s->source_line(R"(^\s*go func\(\) \{ // sink)"));
  }

  Event create(uint64_t goid, uint64_t parent, int64_t t, const std::string& start = "main.main.func4") {
    Event e = SyntheticEvents::event(EventKind::kGoCreate, goid, t);
    e.other_goid = parent;
    e.pc = sink_go_pc;
    e.start_pc = s->entry(start);
    return e;
  }
  Event park(uint64_t goid, int64_t t, model::StackId stack, const std::string& reason = "chan receive",
             std::vector<model::ObjectRef> objects = {{kChan, ObjectKind::kChannel, 0}}) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, stack);
    e.wait_reason = s->reason(reason);
    e.objects = std::move(objects);
    if (!e.objects.empty()) {
      e.object = e.objects[0].address;
      e.object_kind = e.objects[0].kind;
    }
    return e;
  }
  Event ready(uint64_t waker, uint64_t wakee, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kReady, waker, t);
    e.other_goid = wakee;
    return e;
  }

  std::unique_ptr<SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> model;
  int sink_line = 0;
  int main_recv_line = 0;
  model::StackId sink_park = 0;
  model::StackId main_park = 0;
  uint64_t sink_go_pc = 0;
};

TEST_F(DetectStateModel, CreateParkReadyExit) {
  model->apply(create(12, 1, kT0));
  const state::GoroutineInfo* g = model->goroutine(12);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state, state::GoroutineState::kRunnable);
  EXPECT_TRUE(g->creation_seen);
  EXPECT_EQ(g->parent_goid, 1u);
  EXPECT_EQ(g->start_pc, s->entry("main.main.func4"));
  EXPECT_FALSE(g->runtime);
  EXPECT_EQ(g->first_seen_ns, kT0);
  // The parent acted, so it is known (and running) too.
  ASSERT_NE(model->goroutine(1), nullptr);
  EXPECT_EQ(model->goroutine(1)->state, state::GoroutineState::kRunning);

  model->apply(park(12, kT0 + 10 * kMs, sink_park));
  g = model->goroutine(12);
  EXPECT_EQ(g->state, state::GoroutineState::kBlocked);
  EXPECT_EQ(g->since_ns, kT0 + 10 * kMs);
  EXPECT_TRUE(g->since_exact);
  EXPECT_EQ(g->wait_reason, s->reason("chan receive"));
  ASSERT_EQ(g->waiting_on.size(), 1u);
  EXPECT_EQ(g->waiting_on[0].address, kChan);
  EXPECT_EQ(g->park_stack, sink_park);
  EXPECT_EQ(model->waiters(kChan), std::vector<uint64_t>{12});
  ASSERT_EQ(model->channels().count(kChan), 1u);
  EXPECT_EQ(model->channels().at(kChan).users, std::vector<uint64_t>{12});

  model->apply(ready(1, 12, kT0 + 35 * kMs));
  g = model->goroutine(12);
  EXPECT_EQ(g->state, state::GoroutineState::kRunnable);
  EXPECT_EQ(g->since_ns, kT0 + 35 * kMs);
  EXPECT_TRUE(g->waiting_on.empty());
  EXPECT_TRUE(model->waiters(kChan).empty());

  model->apply(SyntheticEvents::event(EventKind::kGoExit, 12, kT0 + 40 * kMs));
  EXPECT_EQ(model->goroutine(12)->state, state::GoroutineState::kExited);
  const state::GoroutineCounts c = model->counts();
  EXPECT_EQ(c.seen, 2u);
  EXPECT_EQ(c.created, 1u);
  EXPECT_EQ(c.exited, 1u);
  EXPECT_EQ(c.alive, 1u);
  EXPECT_EQ(model->events(), 4u);
  EXPECT_EQ(model->first_event_ns(), kT0);
  EXPECT_EQ(model->last_event_ns(), kT0 + 40 * kMs);

  // One interval of 25 ms at the sink's range loop.
  const auto sites = model->blocking_by_site(kT0 + 100 * kMs);
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].site.function, "main.main.func4");
  EXPECT_EQ(sites[0].site.line, sink_line);
  EXPECT_TRUE(sites[0].site.file.ends_with("/pipeline/main.go"));
  EXPECT_EQ(sites[0].wait_reason, s->reason("chan receive"));
  EXPECT_EQ(sites[0].example_stack, sink_park);
  EXPECT_EQ(sites[0].totals.count, 1u);
  EXPECT_EQ(sites[0].totals.ongoing, 0u);
  EXPECT_EQ(sites[0].totals.total_ns, 25 * kMs);
  EXPECT_EQ(sites[0].totals.max_ns, 25 * kMs);
  const auto reasons = model->blocking_by_reason(kT0 + 100 * kMs);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].totals.total_ns, 25 * kMs);
}

TEST_F(DetectStateModel, AnyLaterEventOfTheGoroutineEndsItsBlock) {
  model->apply(park(12, kT0, sink_park));
  // The ready was lost; the goroutine's own next event says it runs again.
  Event recv = SyntheticEvents::event(EventKind::kChanRecv, 12, kT0 + 7 * kMs);
  recv.object = kChan;
  recv.flags = model::kOk | model::kReceived;
  model->apply(recv);
  EXPECT_EQ(model->goroutine(12)->state, state::GoroutineState::kRunning);
  const auto sites = model->blocking_by_site(kT0 + 100 * kMs);
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].totals.total_ns, 7 * kMs);
  // Parked again without a ready in between: the first block ends where the second begins.
  model->apply(park(12, kT0 + 10 * kMs, sink_park));
  model->apply(park(12, kT0 + 14 * kMs, sink_park));
  const auto again = model->blocking_by_site(kT0 + 20 * kMs);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].totals.count, 3u);  // 7 ms, 4 ms, and 6 ms still going
  EXPECT_EQ(again[0].totals.ongoing, 1u);
  EXPECT_EQ(again[0].totals.total_ns, 17 * kMs);
  EXPECT_EQ(again[0].totals.max_ns, 7 * kMs);
}

TEST_F(DetectStateModel, BlockingTimeAggregatesPerSiteAndReason) {
  // Three sink parks of 10, 20 and 30 ms; main blocked 50 ms; one sink still blocked.
  for (int64_t i = 0; i < 3; i++) {
    model->apply(park(20 + i, kT0, sink_park));
    model->apply(ready(2, 20 + i, kT0 + (i + 1) * 10 * kMs));
  }
  model->apply(park(1, kT0, main_park));
  model->apply(ready(30, 1, kT0 + 50 * kMs));
  model->apply(park(23, kT0 + 60 * kMs, sink_park));

  const auto sites = model->blocking_by_site(kT0 + 100 * kMs);
  ASSERT_EQ(sites.size(), 2u);
  // Sink: 10 + 20 + 30 + 40 (ongoing) = 100 ms, before main's 50 ms.
  EXPECT_EQ(sites[0].site.function, "main.main.func4");
  EXPECT_EQ(sites[0].totals.count, 4u);
  EXPECT_EQ(sites[0].totals.ongoing, 1u);
  EXPECT_EQ(sites[0].totals.total_ns, 100 * kMs);
  EXPECT_EQ(sites[0].totals.max_ns, 40 * kMs);
  EXPECT_EQ(sites[1].site.function, "main.main");
  EXPECT_EQ(sites[1].site.line, main_recv_line);
  EXPECT_EQ(sites[1].totals.total_ns, 50 * kMs);

  const auto reasons = model->blocking_by_reason(kT0 + 100 * kMs);
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_EQ(reasons[0].wait_reason, s->reason("chan receive"));
  EXPECT_EQ(reasons[0].totals.count, 5u);
  EXPECT_EQ(reasons[0].totals.total_ns, 150 * kMs);
}

TEST_F(DetectStateModel, LateSeenGoroutinesAreCreatedAndClassifiedFromTheirStack) {
  // Goroutine 77 was created before the trace: its first event is a park.
  model->apply(park(77, kT0, sink_park));
  const state::GoroutineInfo* g = model->goroutine(77);
  ASSERT_NE(g, nullptr);
  EXPECT_FALSE(g->creation_seen);
  EXPECT_EQ(g->state, state::GoroutineState::kBlocked);
  EXPECT_FALSE(g->runtime);
  EXPECT_EQ(model->counts().seen, 1u);
  EXPECT_EQ(model->counts().created, 0u);

  // A GC worker: its stack ends in runtime.gcBgMarkWorker, runtime.goexit.
  const auto worker_park =
      s->stack({s->entry("runtime.gopark"), s->in("runtime.gcBgMarkWorker"), s->in("runtime.goexit")});
  model->apply(park(78, kT0, worker_park, "GC worker (idle)", {}));
  ASSERT_NE(model->goroutine(78), nullptr);
  EXPECT_TRUE(model->goroutine(78)->runtime);
  EXPECT_EQ(model->counts().runtime, 1u);
  // Its site is nobody's: only runtime frames.
  EXPECT_EQ(symbols->stack(worker_park).site, -1);
  EXPECT_EQ(symbols->stack(worker_park).start_function, "runtime.gcBgMarkWorker");

  // Known from its creation too: the start function decides.
  model->apply(create(79, 0, kT0, "runtime.gcBgMarkWorker"));
  EXPECT_TRUE(model->goroutine(79)->runtime);
  EXPECT_EQ(model->goroutine(79)->parent_goid, 0u);
  model->apply(create(80, 1, kT0, "runtime.main"));  // the main goroutine is the program's
  EXPECT_FALSE(model->goroutine(80)->runtime);
}

TEST_F(DetectStateModel, TimestampsSlightlyOutOfOrderNeverGoBack) {
  model->apply(park(12, kT0 + 10 * kMs, sink_park));
  // Another CPU's ready stamped 2 µs before the park.
  model->apply(ready(1, 12, kT0 + 10 * kMs - 2000));
  const state::GoroutineInfo* g = model->goroutine(12);
  EXPECT_EQ(g->state, state::GoroutineState::kRunnable);
  EXPECT_EQ(g->since_ns, kT0 + 10 * kMs);  // not before the park
  const auto sites = model->blocking_by_site(kT0 + 20 * kMs);
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0].totals.total_ns, 0);
  EXPECT_EQ(model->first_event_ns(), kT0 + 10 * kMs - 2000);

  // A straggler of an exited goroutine does not bring it back.
  model->apply(SyntheticEvents::event(EventKind::kGoExit, 12, kT0 + 30 * kMs));
  model->apply(ready(1, 12, kT0 + 29 * kMs));
  EXPECT_EQ(model->goroutine(12)->state, state::GoroutineState::kExited);
  EXPECT_EQ(model->counts().exited, 1u);
}

TEST_F(DetectStateModel, StatusChangesFromTheSchedulerView) {
  auto status = [&](uint64_t goid, uint64_t by, model::GStatus from, model::GStatus to, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kStatus, goid, t);
    e.other_goid = by;
    e.value = static_cast<int64_t>((uint64_t(from) << 32) | uint64_t(to));
    return e;
  };
  model->apply(status(12, 12, model::GStatus::kRunnable, model::GStatus::kRunning, kT0));
  EXPECT_EQ(model->goroutine(12)->state, state::GoroutineState::kRunning);
  model->apply(park(12, kT0 + kMs, sink_park));
  // The park came with the reason; the status change that follows keeps it.
  model->apply(status(12, 12, model::GStatus::kRunning, model::GStatus::kWaiting, kT0 + kMs + 100));
  EXPECT_EQ(model->goroutine(12)->wait_reason, s->reason("chan receive"));
  EXPECT_EQ(model->goroutine(12)->since_ns, kT0 + kMs);
  // Made runnable by goroutine 5 (with the scan bit set meanwhile).
  Event woken = status(12, 5, model::GStatus::kWaiting, model::GStatus::kRunnable, kT0 + 3 * kMs);
  woken.value |= model::kGScanBit;
  model->apply(woken);
  EXPECT_EQ(model->goroutine(12)->state, state::GoroutineState::kRunnable);
  EXPECT_EQ(model->goroutine(5)->state, state::GoroutineState::kRunning);
  model->apply(status(12, 12, model::GStatus::kRunning, model::GStatus::kDead, kT0 + 4 * kMs));
  EXPECT_EQ(model->goroutine(12)->state, state::GoroutineState::kExited);
  EXPECT_EQ(model->counts().exited, 1u);
}

TEST_F(DetectStateModel, MutexContentionHolderWaitersAndReaders) {
  const auto lock_stack =
      s->stack({s->entry("sync.(*Mutex).lockSlow"), s->call_at("main.main", main_recv_line)});
  Event block = SyntheticEvents::event(EventKind::kSyncBlock, 7, kT0, lock_stack);
  block.object = kMutex;
  block.object_kind = ObjectKind::kMutex;
  model->apply(block);
  model->apply(park(7, kT0 + 1000, lock_stack, "sync.Mutex.Lock", {{kMutex, ObjectKind::kMutex, 0}}));
  model->apply(park(8, kT0 + 2000, lock_stack, "sync.Mutex.Lock", {{kMutex, ObjectKind::kMutex, 0}}));
  EXPECT_EQ(model->waiters(kMutex), (std::vector<uint64_t>{7, 8}));

  Event unlock = SyntheticEvents::event(EventKind::kMutexUnlock, 3, kT0 + 5 * kMs);
  unlock.object = kMutex;
  unlock.object_kind = ObjectKind::kMutex;
  unlock.flags = model::kContended;
  model->apply(unlock);
  model->apply(ready(3, 7, kT0 + 5 * kMs + 10));
  Event lock = SyntheticEvents::event(EventKind::kMutexLock, 7, kT0 + 6 * kMs, lock_stack);
  lock.object = kMutex;
  lock.object_kind = ObjectKind::kMutex;
  lock.flags = model::kContended;
  lock.begin_ns = kT0;
  model->apply(lock);

  ASSERT_EQ(model->mutexes().count(kMutex), 1u);
  const state::MutexInfo& m = model->mutexes().at(kMutex);
  EXPECT_EQ(m.kind, ObjectKind::kMutex);
  EXPECT_EQ(m.holder, 7u);
  EXPECT_EQ(m.acquisitions, 1u);
  EXPECT_EQ(m.contended, 1u);
  EXPECT_EQ(m.wait_total_ns, 6 * kMs);
  EXPECT_EQ(m.wait_max_ns, 6 * kMs);
  EXPECT_EQ(model->waiters(kMutex), std::vector<uint64_t>{8});

  unlock.goid = 7;
  unlock.time_ns = kT0 + 7 * kMs;
  model->apply(unlock);
  EXPECT_EQ(model->mutexes().at(kMutex).holder, 0u);

  // A second contended acquisition: totals add up, the max is the longest.
  lock.goid = 8;
  lock.begin_ns = kT0 + 2000;
  lock.time_ns = kT0 + 2000 + 2 * kMs;
  model->apply(lock);
  EXPECT_EQ(model->mutexes().at(kMutex).wait_total_ns, 8 * kMs);
  EXPECT_EQ(model->mutexes().at(kMutex).wait_max_ns, 6 * kMs);
  EXPECT_EQ(model->mutexes().at(kMutex).holder, 8u);

  // RWMutex read locks, taken twice by one goroutine.
  constexpr uint64_t kRw = 0xc000100000;
  Event rlock = SyntheticEvents::event(EventKind::kRLock, 9, kT0);
  rlock.object = kRw;
  rlock.object_kind = ObjectKind::kRWMutex;
  model->apply(rlock);
  model->apply(rlock);
  rlock.goid = 10;
  model->apply(rlock);
  const state::MutexInfo& rw = model->mutexes().at(kRw);
  EXPECT_EQ(rw.kind, ObjectKind::kRWMutex);
  EXPECT_EQ(rw.readers, (std::map<uint64_t, uint32_t>{{9, 2}, {10, 1}}));
  Event runlock = rlock;
  runlock.kind = EventKind::kRUnlock;
  runlock.goid = 9;
  model->apply(runlock);
  model->apply(runlock);
  runlock.goid = 11;  // never took it (before the trace, or another goroutine): nothing to undo
  model->apply(runlock);
  EXPECT_EQ(model->mutexes().at(kRw).readers, (std::map<uint64_t, uint32_t>{{10, 1}}));
}

TEST_F(DetectStateModel, ChannelCountsFromOperationsSelectsAndParks) {
  Event make = SyntheticEvents::event(EventKind::kChanMake, 1, kT0, main_park);
  make.object = kChan;
  make.object_kind = ObjectKind::kChannel;
  make.value = 8;
  make.value2 = 8;
  model->apply(make);
  auto op = [&](EventKind kind, uint64_t goid, uint16_t flags) {
    Event e = SyntheticEvents::event(kind, goid, kT0 + kMs);
    e.object = kChan;
    e.object_kind = ObjectKind::kChannel;
    e.flags = flags;
    model->apply(e);
  };
  op(EventKind::kChanSend, 2, model::kOk | model::kBlocking);
  op(EventKind::kChanSend, 2, model::kOk | model::kBlocking);
  op(EventKind::kChanSend, 2, 0);  // a select-less non-blocking send that did not happen
  op(EventKind::kChanRecv, 3, model::kOk | model::kReceived | model::kBlocking);
  op(EventKind::kChanClose, 2, 0);
  op(EventKind::kChanRecv, 3, model::kOk | model::kBlocking);  // closed: no value

  // A select with a send case on another channel and a receive case on this one; the receive won.
  constexpr uint64_t kOther = 0xc000020120;
  Event sel = SyntheticEvents::event(EventKind::kSelect, 4, kT0 + 2 * kMs);
  sel.objects = {{kOther, ObjectKind::kChannel, 0}, {kChan, ObjectKind::kChannel, model::kRecvCase}};
  sel.value = 1;
  sel.flags = model::kBlocking;  // not kReceived: the channel was closed
  model->apply(sel);
  // A goroutine parked on it.
  model->apply(park(5, kT0 + 3 * kMs, sink_park));

  const state::ChannelInfo& c = model->channels().at(kChan);
  EXPECT_EQ(c.capacity, 8);
  EXPECT_EQ(c.elem_size, 8);
  EXPECT_EQ(c.made_at, main_park);
  EXPECT_EQ(c.sends, 2u);
  EXPECT_EQ(c.recvs, 1u);
  EXPECT_EQ(c.recvs_closed, 2u);
  EXPECT_EQ(c.closes, 1u);
  EXPECT_TRUE(c.closed);
  EXPECT_EQ(c.users, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_FALSE(c.users_truncated);
  const state::ChannelInfo& other = model->channels().at(kOther);
  EXPECT_EQ(other.capacity, -1);  // never seen made
  EXPECT_EQ(other.sends, 0u);
  EXPECT_EQ(other.users, std::vector<uint64_t>{4});

  // The address made again is a new channel.
  make.value = 0;
  model->apply(make);
  EXPECT_EQ(model->channels().at(kChan).sends, 0u);
  EXPECT_FALSE(model->channels().at(kChan).closed);
  EXPECT_EQ(model->channels().at(kChan).capacity, 0);
}

TEST_F(DetectStateModel, SnapshotSeedsGoroutinesAtAttach) {
  const auto& offsets = s->binary->offsets().offsets;
  ASSERT_TRUE(offsets.mutex_sema.has_value());
  constexpr uint64_t kBias = 0x7f0000000000;  // as if PIE: process addresses = vaddr + bias
  auto proc = [&](uint64_t vaddr) { return vaddr + kBias; };

  model::ProcessSnapshot snap;
  snap.taken_at_ns = kT0;
  model::GoroutineSnapshot main_g;
  main_g.goid = 1;
  main_g.status = static_cast<uint32_t>(model::GStatus::kWaiting);
  main_g.wait_reason = s->reason("chan receive");
  main_g.wait_since_ns = kT0 - 2000 * kMs;
  main_g.waiting_on = {{model::WaitedObject::Kind::kChannel, kChan, false}};
  main_g.start_pc = proc(s->entry("runtime.main"));
  for (uint64_t pc : symbols->stacks().get(main_park)) main_g.stack.push_back(proc(pc));
  snap.goroutines.push_back(main_g);

  model::GoroutineSnapshot locker;  // blocked in Mutex.Lock since an unknown time
  locker.goid = 7;
  locker.status = static_cast<uint32_t>(model::GStatus::kWaiting);
  locker.wait_reason = s->reason("sync.Mutex.Lock");
  locker.waiting_on = {{model::WaitedObject::Kind::kSemaphore, kMutex + *offsets.mutex_sema, false}};
  locker.go_pc = proc(s->call_at("main.main", main_recv_line));
  locker.start_pc = proc(s->entry("main.main.func4"));
  locker.parent_goid = 1;
  locker.stack = {proc(s->entry("runtime.gopark")), proc(s->in("sync.(*Mutex).lockSlow")),
                  proc(s->call_at("main.main.func4", sink_line)), proc(s->in("runtime.goexit"))};
  snap.goroutines.push_back(locker);

  model::GoroutineSnapshot runnable;
  runnable.goid = 8;
  runnable.status = static_cast<uint32_t>(model::GStatus::kRunnable);
  runnable.start_pc = proc(s->entry("runtime.gcBgMarkWorker"));
  snap.goroutines.push_back(runnable);

  model::GoroutineSnapshot dead;
  dead.goid = 9;
  dead.status = static_cast<uint32_t>(model::GStatus::kDead);
  snap.goroutines.push_back(dead);

  model::GoroutineSnapshot moved_on;  // the events saw it after the snapshot: they win
  moved_on.goid = 10;
  moved_on.status = static_cast<uint32_t>(model::GStatus::kWaiting);
  moved_on.wait_reason = s->reason("chan receive");
  snap.goroutines.push_back(moved_on);
  model->apply(ready(0, 10, kT0 + kMs));  // woken by the runtime itself (a timer, the netpoller)

  model->seed(snap, kBias, s->stacks);

  const state::GoroutineInfo* g1 = model->goroutine(1);
  ASSERT_NE(g1, nullptr);
  EXPECT_TRUE(g1->from_snapshot);
  EXPECT_EQ(g1->state, state::GoroutineState::kBlocked);
  EXPECT_EQ(g1->since_ns, kT0 - 2000 * kMs);
  EXPECT_TRUE(g1->since_exact);
  EXPECT_EQ(g1->park_stack, main_park);  // the same vaddrs: the same interned stack
  ASSERT_EQ(g1->waiting_on.size(), 1u);
  EXPECT_EQ(g1->waiting_on[0].kind, ObjectKind::kChannel);
  EXPECT_FALSE(g1->runtime);

  const state::GoroutineInfo* g7 = model->goroutine(7);
  ASSERT_NE(g7, nullptr);
  EXPECT_EQ(g7->state, state::GoroutineState::kBlocked);
  EXPECT_EQ(g7->since_ns, kT0);
  EXPECT_FALSE(g7->since_exact);
  ASSERT_EQ(g7->waiting_on.size(), 1u);
  EXPECT_EQ(g7->waiting_on[0].address, kMutex);  // the semaphore named after its Mutex
  EXPECT_EQ(g7->waiting_on[0].kind, ObjectKind::kMutex);
  EXPECT_EQ(g7->created_pc, s->call_at("main.main", main_recv_line));
  EXPECT_EQ(g7->start_pc, s->entry("main.main.func4"));
  EXPECT_EQ(g7->parent_goid, 1u);
  EXPECT_EQ(model->waiters(kMutex), std::vector<uint64_t>{7});

  ASSERT_NE(model->goroutine(8), nullptr);
  EXPECT_EQ(model->goroutine(8)->state, state::GoroutineState::kRunnable);
  EXPECT_TRUE(model->goroutine(8)->runtime);
  EXPECT_EQ(model->goroutine(9), nullptr);
  EXPECT_EQ(model->goroutine(10)->state, state::GoroutineState::kRunnable);

  EXPECT_EQ(model->counts().seen, 4u);  // 1, 7, 8 and 10; not the dead 9
  // Blocked time is counted from the attach on, not from before it.
  const auto sites = model->blocking_by_site(kT0 + 10 * kMs);
  int64_t total = 0;
  for (const auto& site : sites) total += site.totals.total_ns;
  EXPECT_EQ(total, 20 * kMs);
}

TEST_F(DetectStateModel, ExitedGoroutinesAreForgottenButCounted) {
  const size_t n = state::StateModel::kKeepExited + 500;
  for (uint64_t goid = 100; goid < 100 + n; goid++) {
    model->apply(create(goid, 1, kT0));
    model->apply(SyntheticEvents::event(EventKind::kGoExit, goid, kT0 + kMs));
  }
  const state::GoroutineCounts c = model->counts();
  EXPECT_EQ(c.created, n);
  EXPECT_EQ(c.exited, n);
  EXPECT_EQ(c.seen, n + 1);
  EXPECT_EQ(c.alive, 1u);
  EXPECT_EQ(model->goroutines().size(), state::StateModel::kKeepExited + 1);
  EXPECT_EQ(model->goroutine(100), nullptr);  // the oldest exits are gone
  ASSERT_NE(model->goroutine(100 + n - 1), nullptr);
  EXPECT_EQ(model->goroutine(100 + n - 1)->state, state::GoroutineState::kExited);
}

TEST(DetectGoNames, PackagesRuntimeAndSystemGoroutines) {
  EXPECT_EQ(state::package_of("net/http.(*conn).serve"), "net/http");
  EXPECT_EQ(state::package_of("main.main.func1"), "main");
  EXPECT_EQ(state::package_of("goscope.test/testprogs/internal/tp.Fact"), "goscope.test/testprogs/internal/tp");
  EXPECT_EQ(state::package_of("main.Map[go.shape.struct { net/http.x int }]"), "main");
  EXPECT_EQ(state::package_of("gopkg.in/yaml%2ev3.Unmarshal"), "gopkg.in/yaml%2ev3");

  EXPECT_TRUE(state::is_runtime_function("runtime.gopark"));
  EXPECT_TRUE(state::is_runtime_function("runtime/internal/atomic.Load"));
  EXPECT_TRUE(state::is_runtime_function("internal/runtime/atomic.Load"));
  EXPECT_TRUE(state::is_runtime_function("sync.(*Mutex).lockSlow"));
  EXPECT_TRUE(state::is_runtime_function("internal/sync.(*Mutex).Lock"));
  EXPECT_TRUE(state::is_runtime_function("sync.runtime_SemacquireMutex"));
  EXPECT_TRUE(state::is_runtime_function("internal/poll.runtime_pollWait"));
  EXPECT_TRUE(state::is_runtime_function("gogo"));
  EXPECT_FALSE(state::is_runtime_function("runtime/pprof.profileWriter"));
  EXPECT_FALSE(state::is_runtime_function("internal/poll.(*FD).Read"));
  EXPECT_FALSE(state::is_runtime_function("main.main"));
  EXPECT_FALSE(state::is_runtime_function("time.Sleep"));
  EXPECT_FALSE(state::is_runtime_function("github.com/x/runtime.Run"));

  EXPECT_TRUE(state::is_system_goroutine("runtime.gcBgMarkWorker"));
  EXPECT_TRUE(state::is_system_goroutine("runtime.forcegchelper"));
  EXPECT_FALSE(state::is_system_goroutine("runtime.main"));
  EXPECT_FALSE(state::is_system_goroutine("runtime/pprof.profileWriter"));
  EXPECT_FALSE(state::is_system_goroutine("main.worker"));
  EXPECT_FALSE(state::is_system_goroutine(""));
}

TEST_F(DetectStateModel, SitesSkipTheRuntimeTheSyncPackageAndTheStandardLibrary) {
  const auto& park = symbols->stack(sink_park);
  ASSERT_GE(park.frames.size(), 5u);
  EXPECT_EQ(park.frames.front().function, "runtime.gopark");
  EXPECT_EQ(park.frames.back().function, "runtime.goexit");
  ASSERT_NE(park.site_frame(), nullptr);
  EXPECT_EQ(park.site_frame()->function, "main.main.func4");
  EXPECT_EQ(park.site_frame()->line, sink_line);
  EXPECT_EQ(park.start_function, "main.main.func4");

  // A standard library frame (fmt) above the program's own: the program's is the site.
  const auto via_fmt =
      s->stack({s->entry("runtime.gopark"), s->in("fmt.Sprintf"),
                s->in("goscope.test/testprogs/internal/tp.Fact"), s->call_at("main.main", main_recv_line)});
  ASSERT_NE(symbols->stack(via_fmt).site_frame(), nullptr);
  EXPECT_EQ(symbols->stack(via_fmt).site_frame()->function, "goscope.test/testprogs/internal/tp.Fact");
  EXPECT_EQ(symbols->stack(via_fmt).start_function, "");  // not complete down to goexit
  // Only the standard library: its first frame outside the runtime.
  const auto std_only =
      s->stack({s->entry("runtime.gopark"), s->in("sync.(*WaitGroup).Wait"), s->in("fmt.Sprintf")});
  ASSERT_NE(symbols->stack(std_only).site_frame(), nullptr);
  EXPECT_EQ(symbols->stack(std_only).site_frame()->function, "fmt.Sprintf");
  // An address in no function is one unknown frame, never a site.
  const auto unknown = s->stack({0x10, s->call_at("main.main", main_recv_line)});
  ASSERT_EQ(symbols->stack(unknown).frames.size(), 2u);
  EXPECT_FALSE(symbols->stack(unknown).frames[0].known());
  EXPECT_EQ(symbols->stack(unknown).frames[0].pc, 0x10u);
  EXPECT_EQ(symbols->stack(unknown).site, 1);
  EXPECT_EQ(symbols->stack(0).frames.size(), 0u);
  EXPECT_EQ(symbols->stack(9999).frames.size(), 0u);
}

}  // namespace
}  // namespace goscope::detect

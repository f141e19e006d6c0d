// Which events `goscope trace` shows: each criterion alone, globs over inlined
// frames, package prefixes, the runtime's own activity hidden, criteria
// combined (OR within, AND across), and bad input refused with a clear message.
#include "output/event_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::output {
namespace {

using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::ObjectKind;
using ::testing::HasSubstr;

constexpr uint64_t kChan = 0xc000020060;
constexpr uint64_t kOtherChan = 0xc000020120;
constexpr int64_t kT0 = 9'000'000'000;

class OutputEventFilter : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>();
    ASSERT_TRUE(s->ok());
    symbols = std::make_shared<state::StackSymbolizer>(*s->binary, s->stacks);
    state = std::make_unique<state::StateModel>(symbols);
    const int sink_line = s->source_line(R"(^\s*for v := range squares \{)");
    sink_park = s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv2"),
                          s->call_at("main.main.func4", sink_line), s->in("runtime.goexit")});
    fact_stack = s->stack({s->entry("runtime.gopark"), s->in("fmt.Sprintf"),
                           s->in("goscope.test/testprogs/internal/tp.Fact"), s->in("main.main")});
    worker_park =
        s->stack({s->entry("runtime.gopark"), s->in("runtime.gcBgMarkWorker"), s->in("runtime.goexit")});
  }

  Expected<EventFilter> make(const FilterSpec& spec) { return EventFilter::make(spec, symbols, state.get()); }

  Event park(uint64_t goid, model::StackId stack, uint64_t chan = kChan) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, kT0, stack);
    e.objects = {{chan, ObjectKind::kChannel, 0}};
    e.object = chan;
    e.object_kind = ObjectKind::kChannel;
    return e;
  }
  Event ready(uint64_t waker, uint64_t wakee) {
    Event e = SyntheticEvents::event(EventKind::kReady, waker, kT0, sink_park);
    e.other_goid = wakee;
    return e;
  }
  Event create(uint64_t goid, uint64_t parent, const std::string& start) {
    Event e = SyntheticEvents::event(EventKind::kGoCreate, goid, kT0);
    e.other_goid = parent;
    e.start_pc = s->entry(start);
    return e;
  }

  std::unique_ptr<SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> state;
  model::StackId sink_park = 0, fact_stack = 0, worker_park = 0;
};

TEST_F(OutputEventFilter, EmptySpecShowsTheProgramsEvents) {
  auto f = make({});
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_TRUE(f->accepts(park(12, sink_park)));
  EXPECT_TRUE(f->accepts(ready(1, 12)));
  EXPECT_TRUE(f->accepts(create(12, 1, "main.main.func4")));
  EXPECT_TRUE(f->accepts(SyntheticEvents::event(EventKind::kStopTheWorld, 0, kT0)));
  EXPECT_TRUE(f->accepts(park(12, 0)));  // no stack: nothing says it is the runtime's
}

TEST_F(OutputEventFilter, KindsByNameAndGroup) {
  auto parks = make({.kinds = {"park"}});
  ASSERT_TRUE(parks);
  EXPECT_TRUE(parks->accepts(park(12, sink_park)));
  EXPECT_FALSE(parks->accepts(ready(1, 12)));

  auto sched = make({.kinds = {"sched"}});
  ASSERT_TRUE(sched);
  for (EventKind k :
       {EventKind::kGoCreate, EventKind::kGoExit, EventKind::kPark, EventKind::kReady, EventKind::kStatus})
    EXPECT_TRUE(sched->accepts(SyntheticEvents::event(k, 12, kT0, sink_park))) << model::event_kind_name(k);
  EXPECT_FALSE(sched->accepts(SyntheticEvents::event(EventKind::kChanSend, 12, kT0, sink_park)));

  auto chan_and_gc = make({.kinds = {"chan", "gc"}});
  ASSERT_TRUE(chan_and_gc);
  for (EventKind k : {EventKind::kChanMake, EventKind::kChanSend, EventKind::kChanRecv, EventKind::kChanClose,
                      EventKind::kSelect, EventKind::kStopTheWorld, EventKind::kStartTheWorld})
    EXPECT_TRUE(chan_and_gc->accepts(SyntheticEvents::event(k, 12, kT0, sink_park)))
        << model::event_kind_name(k);
  EXPECT_FALSE(chan_and_gc->accepts(SyntheticEvents::event(EventKind::kMutexLock, 12, kT0, sink_park)));
  EXPECT_FALSE(chan_and_gc->accepts(park(12, sink_park)));

  for (const char* group : {"sync", "lock"}) {
    auto sync = make({.kinds = {group}});
    ASSERT_TRUE(sync);
    for (EventKind k : {EventKind::kSyncBlock, EventKind::kSyncRelease, EventKind::kMutexLock,
                        EventKind::kMutexUnlock, EventKind::kRLock, EventKind::kRUnlock,
                        EventKind::kWaitGroupWait, EventKind::kCondWait, EventKind::kCondSignal})
      EXPECT_TRUE(sync->accepts(SyntheticEvents::event(k, 12, kT0, sink_park)))
          << group << " " << model::event_kind_name(k);
    EXPECT_FALSE(sync->accepts(SyntheticEvents::event(EventKind::kChanRecv, 12, kT0, sink_park))) << group;
  }
}

TEST_F(OutputEventFilter, GoroutinesMatchAsActorOrAsTheOneActedOn) {
  auto f = make({.goids = {12}});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->accepts(park(12, sink_park)));
  EXPECT_FALSE(f->accepts(park(13, sink_park)));
  EXPECT_TRUE(f->accepts(ready(1, 12)));                       // its wake-up
  EXPECT_TRUE(f->accepts(ready(12, 30)));                      // it woke someone
  EXPECT_TRUE(f->accepts(create(40, 12, "main.main.func4")));  // it created one
  EXPECT_TRUE(f->accepts(create(12, 1, "main.main.func4")));   // its creation
  EXPECT_FALSE(f->accepts(ready(1, 13)));
  auto two = make({.goids = {12, 13}});
  ASSERT_TRUE(two);
  EXPECT_TRUE(two->accepts(park(13, sink_park)));
}

TEST_F(OutputEventFilter, ObjectsMatchTheObjectOrAnyOfItsObjects) {
  auto f = make({.objects = {"0xc000020060"}});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->accepts(park(12, sink_park, kChan)));
  EXPECT_FALSE(f->accepts(park(12, sink_park, kOtherChan)));
  Event sel = SyntheticEvents::event(EventKind::kSelect, 12, kT0, sink_park);
  sel.objects = {{kOtherChan, ObjectKind::kChannel, 0}, {kChan, ObjectKind::kChannel, model::kRecvCase}};
  sel.value = -1;
  EXPECT_TRUE(f->accepts(sel));
  EXPECT_FALSE(f->accepts(ready(1, 12)));
  auto upper = make({.objects = {"0XC000020120"}});
  ASSERT_TRUE(upper);
  EXPECT_TRUE(upper->accepts(park(12, sink_park, kOtherChan)));
}

TEST_F(OutputEventFilter, FunctionGlobsOverEveryFrameInlinedOnesToo) {
  for (const char* pattern : {"main.main.func4", "*.func4", "main.*", "main.main.func?"}) {
    auto f = make({.functions = {pattern}});
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->accepts(park(12, sink_park))) << pattern;
  }
  auto tp = make({.functions = {"*/internal/tp.Fact"}});
  ASSERT_TRUE(tp);
  EXPECT_TRUE(tp->accepts(park(12, fact_stack)));
  EXPECT_FALSE(tp->accepts(park(12, sink_park)));
  auto none = make({.functions = {"main.worker", "net/http.*"}});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->accepts(park(12, sink_park)));
  // A created goroutine's function counts, though not on the creator's stack.
  auto gen = make({.functions = {"main.main.func1"}});
  ASSERT_TRUE(gen);
  EXPECT_TRUE(gen->accepts(create(12, 1, "main.main.func1")));
  EXPECT_FALSE(gen->accepts(create(12, 1, "main.main.func4")));

  // An inlined callee: a frame of its own, matched like any other.
  const auto& tab = s->binary->pclntab();
  const auto idx = tab.function_named("runtime.chanrecv");
  ASSERT_TRUE(idx);
  std::optional<std::pair<uint64_t, std::string>> inlined;
  for (uint64_t pc = tab.function_entry(*idx); pc < tab.function_end(*idx) && !inlined; pc++) {
    const auto frames = tab.frames_at(pc);
    if (frames.size() > 1 && frames[0].inlined) inlined = {pc, std::string(frames[0].function)};
  }
  ASSERT_TRUE(inlined) << "runtime.chanrecv has no inlined call";
  const auto with_inlined = s->stack({s->entry("runtime.gopark"), inlined->first + 1, s->in("main.main")});
  auto f = make({.functions = {inlined->second}});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->accepts(park(12, with_inlined)));
  EXPECT_FALSE(f->accepts(park(12, sink_park)));
}

TEST_F(OutputEventFilter, PackagesArePathPrefixesAtElementBoundaries) {
  auto tp = make({.packages = {"goscope.test/testprogs"}});
  ASSERT_TRUE(tp);
  EXPECT_TRUE(tp->accepts(park(12, fact_stack)));
  EXPECT_FALSE(tp->accepts(park(12, sink_park)));
  auto half = make({.packages = {"goscope.test/testprogs/intern"}});
  ASSERT_TRUE(half);
  EXPECT_FALSE(half->accepts(park(12, fact_stack)));
  auto fmt_pkg = make({.packages = {"fmt/"}});  // a trailing slash is the same package
  ASSERT_TRUE(fmt_pkg);
  EXPECT_TRUE(fmt_pkg->accepts(park(12, fact_stack)));
  auto main_pkg = make({.packages = {"main"}});
  ASSERT_TRUE(main_pkg);
  EXPECT_TRUE(main_pkg->accepts(park(12, sink_park)));
  auto ma = make({.packages = {"ma"}});
  ASSERT_TRUE(ma);
  EXPECT_FALSE(ma->accepts(park(12, sink_park)));
}

TEST_F(OutputEventFilter, TheRuntimesOwnActivityIsHiddenUnlessAsked) {
  auto hide = make({});
  auto show = make({.include_runtime = true});
  ASSERT_TRUE(hide);
  ASSERT_TRUE(show);

  // A GC worker is created, parks with only runtime frames, is woken.
  const Event worker = create(50, 0, "runtime.gcBgMarkWorker");
  state->apply(worker);
  EXPECT_FALSE(hide->accepts(worker));
  EXPECT_TRUE(show->accepts(worker));
  Event idle = park(50, worker_park);
  state->apply(idle);
  EXPECT_FALSE(hide->accepts(idle));
  EXPECT_TRUE(show->accepts(idle));
  const Event wake = ready(0, 50);
  EXPECT_FALSE(hide->accepts(wake));
  EXPECT_TRUE(show->accepts(wake));
  // Anything a runtime goroutine does.
  Event lock = SyntheticEvents::event(EventKind::kMutexLock, 50, kT0, sink_park);
  state->apply(lock);
  EXPECT_FALSE(hide->accepts(lock));
  // A park with nothing but runtime frames, even of a goroutine the model does not know.
  EXPECT_FALSE(hide->accepts(park(77, worker_park)));

  // The program's goroutines stay, also when a runtime goroutine wakes them.
  EXPECT_TRUE(hide->accepts(ready(50, 12)));
  EXPECT_TRUE(hide->accepts(park(12, sink_park)));
  // Stopping the world concerns everyone.
  EXPECT_TRUE(hide->accepts(SyntheticEvents::event(EventKind::kStopTheWorld, 50, kT0)));
  // Without a state model only what the event itself says can hide it.
  auto no_state = EventFilter::make({}, symbols, nullptr);
  ASSERT_TRUE(no_state);
  EXPECT_TRUE(no_state->accepts(lock));
  EXPECT_FALSE(no_state->accepts(idle));
}

TEST_F(OutputEventFilter, CriteriaCombineWithAnd) {
  auto f = make({.goids = {12, 13}, .kinds = {"park", "ready"}});
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->accepts(park(12, sink_park)));
  EXPECT_TRUE(f->accepts(ready(1, 13)));
  EXPECT_FALSE(f->accepts(park(14, sink_park)));
  EXPECT_FALSE(f->accepts(SyntheticEvents::event(EventKind::kChanSend, 12, kT0, sink_park)));
  auto g = make({.objects = {"0xc000020060"}, .functions = {"main.main.func4"}});
  ASSERT_TRUE(g);
  EXPECT_TRUE(g->accepts(park(12, sink_park, kChan)));
  EXPECT_FALSE(g->accepts(park(12, sink_park, kOtherChan)));
  EXPECT_FALSE(g->accepts(park(12, fact_stack, kChan)));
}

TEST_F(OutputEventFilter, BadInputIsRefusedWithAClearMessage) {
  auto kind = make({.kinds = {"park", "parking"}});
  ASSERT_FALSE(kind);
  EXPECT_THAT(kind.error().message, HasSubstr("unknown event kind 'parking'"));
  EXPECT_THAT(kind.error().message, HasSubstr("chan-send"));
  EXPECT_THAT(kind.error().message, HasSubstr("sched, chan, sync (or lock), gc"));
  for (const char* bad : {"c000020060", "0x", "0xzz", "0x1234g", "", "0x12345678901234567", "-0x1"}) {
    auto o = make({.objects = {bad}});
    ASSERT_FALSE(o) << bad;
    EXPECT_THAT(o.error().message, HasSubstr("is not an address")) << bad;
    EXPECT_THAT(o.error().message, HasSubstr("0xc000012080"));
  }
  auto fn = make({.functions = {""}});
  ASSERT_FALSE(fn);
  EXPECT_THAT(fn.error().message, HasSubstr("empty pattern"));
  auto pkg = make({.packages = {"/"}});
  ASSERT_FALSE(pkg);
  EXPECT_THAT(pkg.error().message, HasSubstr("empty package path"));
  auto zero = make({.goids = {0}});
  ASSERT_FALSE(zero);
  EXPECT_THAT(zero.error().message, HasSubstr("0 is no goroutine id"));
}

}  // namespace
}  // namespace goscope::output

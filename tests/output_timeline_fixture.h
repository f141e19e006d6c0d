// Synthetic event streams fed to the state model and the timeline builder together,
// as the commands do, with stacks made of real addresses of the pipeline test program
// (Go 1.22). Shared by the timeline and the Perfetto exporter tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "state/state_model.h"
#include "output/timeline.h"
#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::output {

class TimelineFixture : public ::testing::Test {
 protected:
  static constexpr uint64_t kChan = 0xc000020060;
  static constexpr uint64_t kMutex = 0xc0000180a0;
  static constexpr int64_t kUs = 1'000;
  static constexpr int64_t kMs = 1'000'000;
  static constexpr int64_t kT0 = 5'000 * kMs;

  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<testing::SyntheticEvents>();
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
    send_park = s->stack({s->entry("runtime.gopark"), s->in("runtime.chansend"), s->in("runtime.chansend1"),
                          s->call_at("main.main.func4", sink_line), s->in("runtime.goexit")});
    sink_go_pc = s->call_at("main.main", s->source_line(R"(^\s*go func\(\) \{ // sink)"));
  }

  void start(TimelineOptions o = {}) { builder = std::make_unique<TimelineBuilder>(*model, o); }
  void feed(const model::Event& e) {
    model->apply(e);
    builder->on_event(e);
  }

  model::Event create(uint64_t goid, uint64_t parent, int64_t t,
                      const std::string& function = "main.main.func4") {
    model::Event e = testing::SyntheticEvents::event(model::EventKind::kGoCreate, goid, t);
    e.other_goid = parent;
    e.pc = sink_go_pc;
    e.start_pc = s->entry(function);
    return e;
  }
  model::Event park(uint64_t goid, int64_t t, model::StackId stack,
                    const std::string& reason = "chan receive", uint64_t object = kChan,
                    model::ObjectKind kind = model::ObjectKind::kChannel) {
    model::Event e = testing::SyntheticEvents::event(model::EventKind::kPark, goid, t, stack);
    e.wait_reason = s->reason(reason);
    e.objects = {{object, kind, 0}};
    e.object = object;
    e.object_kind = kind;
    return e;
  }
  model::Event ready(uint64_t waker, uint64_t wakee, int64_t t) {
    model::Event e = testing::SyntheticEvents::event(model::EventKind::kReady, waker, t);
    e.other_goid = wakee;
    return e;
  }
  // Any event of the goroutine: it is running.
  model::Event act(uint64_t goid, int64_t t) {
    model::Event e = testing::SyntheticEvents::event(model::EventKind::kCondSignal, goid, t);
    e.object = 0xc0000a0000;
    e.object_kind = model::ObjectKind::kCond;
    return e;
  }
  model::Event exit(uint64_t goid, int64_t t) {
    return testing::SyntheticEvents::event(model::EventKind::kGoExit, goid, t);
  }
  model::Event chan_op(model::EventKind kind, uint64_t goid, int64_t t, int64_t begin,
                       uint64_t channel = kChan) {
    model::Event e = testing::SyntheticEvents::event(kind, goid, t);
    e.object = channel;
    e.object_kind = model::ObjectKind::kChannel;
    e.begin_ns = begin;
    e.flags = model::kBlocking | model::kOk;
    if (kind == model::EventKind::kChanRecv) e.flags |= model::kReceived;
    return e;
  }

  // main (G1) starts the sink (G12) and waits for its result on kChan; the sink runs,
  // sends (waking main: a channel hand-off) and exits.
  //   G1:  running [0,1ms)  chan receive [1,3)  runnable [3,4)  running [4,10]
  //   G12: runnable [0,2)   running [2,5)       exited at 5
  Timeline main_and_sink(TimelineOptions o = {}) {
    start(o);
    feed(create(12, 1, kT0));
    feed(park(1, kT0 + 1 * kMs, main_park));
    feed(act(12, kT0 + 2 * kMs));
    feed(ready(12, 1, kT0 + 3 * kMs));
    feed(act(1, kT0 + 4 * kMs));
    feed(exit(12, kT0 + 5 * kMs));
    return builder->finish(kT0 + 10 * kMs);
  }

  std::unique_ptr<testing::SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> model;
  std::unique_ptr<TimelineBuilder> builder;
  int sink_line = 0;
  int main_recv_line = 0;
  model::StackId sink_park = 0;
  model::StackId main_park = 0;
  model::StackId send_park = 0;
  uint64_t sink_go_pc = 0;
};

}  // namespace goscope::output

// `goscope trace` lines and JSON objects for synthetic events whose stacks are
// real addresses of the pipeline test program (Go 1.22): sites, creation sites,
// every kind's fields, flags, colors, stack listings.
#include "output/event_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "model/snapshot.h"
#include "output/display.h"
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
constexpr int64_t kT0 = 7'000'000'000;

class OutputEventFormat : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>();
    ASSERT_TRUE(s->ok());
    sink_line = s->source_line(R"(^\s*for v := range squares \{)");
    gen_go_line = s->source_line(R"(^\s*go func\(\) \{ // gen)");
    gen_send_line = s->source_line(R"(^\s*nums <- i$)");
    sink_park = s->stack({s->entry("runtime.gopark"), s->in("runtime.chanrecv"), s->in("runtime.chanrecv2"),
                          s->call_at("main.main.func4", sink_line), s->in("runtime.goexit")});
    gen_send = s->stack({s->entry("runtime.chansend"), s->in("runtime.chansend1"),
                         s->call_at("main.main.func1", gen_send_line), s->in("runtime.goexit")});
    format = std::make_unique<EventFormatter>(*s->binary, s->info, FormatOptions{});
  }

  Event park_on_chan(uint64_t goid, int64_t t) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, sink_park);
    e.wait_reason = s->reason("chan receive");
    e.objects = {{kChan, ObjectKind::kChannel, 0}};
    e.object = kChan;
    e.object_kind = ObjectKind::kChannel;
    return e;
  }
  Event create_gen() {
    Event e = SyntheticEvents::event(EventKind::kGoCreate, 12, kT0 + 100'000);
    e.other_goid = 1;
    e.pc = s->call_at("main.main", gen_go_line);
    e.start_pc = s->entry("main.main.func1");
    e.stack = s->stack({s->entry("runtime.newproc1"), s->in("runtime.newproc.func1"),
                        s->in("runtime.systemstack"), s->in("runtime.newproc"), e.pc});
    return e;
  }

  std::unique_ptr<SyntheticEvents> s;
  std::unique_ptr<EventFormatter> format;
  int sink_line = 0, gen_go_line = 0, gen_send_line = 0;
  model::StackId sink_park = 0, gen_send = 0;
};

TEST_F(OutputEventFormat, ParkLineHasTimeGoroutineReasonObjectAndSite) {
  const std::string line = format->text(park_on_chan(12, kT0 + 12'345'000), kT0);
  EXPECT_THAT(line, ::testing::StartsWith("  0.012345  g12    park        chan receive"));
  EXPECT_THAT(line, HasSubstr("chan receive on chan 0xc000020060"));
  EXPECT_THAT(line, ::testing::EndsWith("main.main.func4 (main.go:" + std::to_string(sink_line) + ")"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\033'), std::string::npos);  // no colors unless asked

  // Same columns whatever the details: the site starts at the same place.
  Event ready = SyntheticEvents::event(EventKind::kReady, 1, kT0 + 12'400'000, gen_send);
  ready.other_goid = 12;
  const std::string r = format->text(ready, kT0);
  EXPECT_THAT(r, HasSubstr("g1     ready       → g12 "));
  EXPECT_THAT(r, ::testing::EndsWith("main.main.func1 (main.go:" + std::to_string(gen_send_line) + ")"));
  auto width = [](const std::string& l, const std::string& site) {
    size_t chars = 0;
    for (size_t i = 0; i < l.rfind(site); i++) chars += (static_cast<unsigned char>(l[i]) & 0xC0) != 0x80;
    return chars;
  };
  EXPECT_EQ(width(line, "main.main.func4"), width(r, "main.main.func1"));
}

TEST_F(OutputEventFormat, CreationNamesChildFunctionAndGoStatement) {
  const Event e = create_gen();
  const std::string line = format->text(e, kT0);
  EXPECT_THAT(line, HasSubstr("g1     go-create   → g12  main.main.func1"));
  EXPECT_THAT(line, ::testing::EndsWith("main.main (main.go:" + std::to_string(gen_go_line) + ")"));

  const nlohmann::json j = format->json(e, kT0);
  EXPECT_EQ(j["kind"], "go-create");
  EXPECT_EQ(j["goid"], 12);
  EXPECT_EQ(j["parent"], 1);
  EXPECT_THAT(j["created_at"].get<std::string>(),
              ::testing::EndsWith("/pipeline/main.go:" + std::to_string(gen_go_line)));
  EXPECT_EQ(j["created_in"], "main.main");
  EXPECT_EQ(j["start_func"], "main.main.func1");
  EXPECT_EQ(j["func"], "main.main");
  EXPECT_EQ(j["site"], j["created_at"]);
  EXPECT_DOUBLE_EQ(j["t"].get<double>(), 0.0001);
  EXPECT_EQ(j["time_ns"], kT0 + 100'000);

  // Without a stack the go statement still gives the site in text.
  Event bare = e;
  bare.stack = 0;
  EXPECT_THAT(format->text(bare, kT0),
              ::testing::EndsWith("main.main (main.go:" + std::to_string(gen_go_line) + ")"));
  EXPECT_EQ(format->json(bare, kT0)["stack"], nlohmann::json::array());
  EXPECT_FALSE(format->json(bare, kT0).contains("site"));
}

TEST_F(OutputEventFormat, JsonAlwaysFieldsAndTheWholeStack) {
  const nlohmann::json j = format->json(park_on_chan(12, kT0 + 12'345'000), kT0);
  EXPECT_DOUBLE_EQ(j["t"].get<double>(), 0.012345);
  EXPECT_EQ(j["time_ns"], kT0 + 12'345'000);
  EXPECT_EQ(j["kind"], "park");
  EXPECT_EQ(j["goid"], 12);
  EXPECT_EQ(j["tid"], 4242);
  EXPECT_THAT(j["site"].get<std::string>(),
              ::testing::EndsWith("/pipeline/main.go:" + std::to_string(sink_line)));
  EXPECT_EQ(j["site"].get<std::string>().front(), '/');  // the full path
  EXPECT_EQ(j["func"], "main.main.func4");
  EXPECT_FALSE(j.contains("flags"));

  // Every frame, runtime and inlined ones included, innermost first, as the symbolizer has them.
  const auto& frames = format->symbols()->stack(sink_park).frames;
  ASSERT_EQ(j["stack"].size(), frames.size());
  for (size_t i = 0; i < frames.size(); i++) {
    EXPECT_EQ(j["stack"][i]["func"], frames[i].function) << i;
    EXPECT_EQ(j["stack"][i]["file"], frames[i].file) << i;
    EXPECT_EQ(j["stack"][i]["line"], frames[i].line) << i;
  }
  EXPECT_EQ(j["stack"][0]["func"], "runtime.gopark");
  EXPECT_EQ(j["stack"].back()["func"], "runtime.goexit");

  EXPECT_EQ(j["reason"], "chan receive");
  EXPECT_EQ(j["reason_code"], s->reason("chan receive"));
  EXPECT_EQ(j["object"], "0xc000020060");
  EXPECT_EQ(j["object_kind"], "chan");
  ASSERT_EQ(j["objects"].size(), 1u);
  EXPECT_EQ(j["objects"][0],
            (nlohmann::json{{"addr", "0xc000020060"}, {"kind", "chan"}, {"in_select", false}}));

  // json() is json_text() parsed: one line, valid, no newline.
  const std::string text = format->json_text(park_on_chan(12, kT0 + 12'345'000), kT0);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(text), j);
}

TEST_F(OutputEventFormat, ParkOnASelectListsEveryCase) {
  Event e = park_on_chan(12, kT0);
  e.wait_reason = s->reason("select");
  e.objects = {{kChan, ObjectKind::kChannel, model::kInSelect},
               {0xc000020120, ObjectKind::kChannel, model::kInSelect}};
  e.flags = model::kMoreObjects | model::kStackCut;
  const nlohmann::json j = format->json(e, kT0);
  ASSERT_EQ(j["objects"].size(), 2u);
  EXPECT_EQ(j["objects"][1]["addr"], "0xc000020120");
  EXPECT_EQ(j["objects"][1]["in_select"], true);
  EXPECT_EQ(j["flags"], (nlohmann::json{"stack_cut", "more_objects"}));
  EXPECT_THAT(format->text(e, kT0), HasSubstr("select on chan 0xc000020060 +1+ more"));

  // A park on something that is no channel (a lock pointer) still says what.
  Event other = SyntheticEvents::event(EventKind::kPark, 12, kT0, sink_park);
  other.wait_reason = 9999;  // not in this binary's table
  other.object = 0xc0000a0000;
  other.object_kind = ObjectKind::kOther;
  const nlohmann::json o = format->json(other, kT0);
  EXPECT_TRUE(o["reason"].is_null());
  EXPECT_EQ(o["reason_code"], 9999);
  EXPECT_EQ(o["object"], "0xc0000a0000");
  EXPECT_EQ(o["object_kind"], "object");
  EXPECT_THAT(format->text(other, kT0), HasSubstr("wait reason 9999 on object 0xc0000a0000"));
}

TEST_F(OutputEventFormat, EveryKindHasItsFields) {
  auto ev = [&](EventKind k, uint64_t object = 0, ObjectKind ok = ObjectKind::kNone) {
    Event e = SyntheticEvents::event(k, 5, kT0 + 2'000'000, gen_send);
    e.object = object;
    e.object_kind = ok;
    return e;
  };
  {
    Event e = ev(EventKind::kChanMake, kChan, ObjectKind::kChannel);
    e.value = 8;
    e.value2 = 8;
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["chan"], "0xc000020060");
    EXPECT_EQ(j["cap"], 8);
    EXPECT_EQ(j["elem_size"], 8);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("chan-make   chan 0xc000020060 cap 8 elem 8B"));
  }
  {
    Event e = ev(EventKind::kChanSend, kChan, ObjectKind::kChannel);
    e.flags = model::kOk | model::kBlocking;
    e.begin_ns = e.time_ns - 1'500'000;
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["chan"], "0xc000020060");
    EXPECT_EQ(j["ok"], true);
    EXPECT_EQ(j["blocking"], true);
    EXPECT_EQ(j["wait_ns"], 1'500'000);
    EXPECT_FALSE(j.contains("received"));
    EXPECT_THAT(format->text(e, kT0), HasSubstr("chan 0xc000020060 waited 1.5ms"));
    EXPECT_THAT(j["site"].get<std::string>(),
                ::testing::EndsWith("/pipeline/main.go:" + std::to_string(gen_send_line)));
    EXPECT_EQ(j["stack"][0]["func"], "runtime.chansend");
  }
  {
    Event e = ev(EventKind::kChanRecv, kChan, ObjectKind::kChannel);
    e.flags = model::kOk | model::kBlocking;  // completed without a value: closed
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["received"], false);
    EXPECT_EQ(j["ok"], true);
    EXPECT_FALSE(j.contains("wait_ns"));
    EXPECT_THAT(format->text(e, kT0), HasSubstr("chan 0xc000020060 closed"));
  }
  {
    const auto j = format->json(ev(EventKind::kChanClose, kChan, ObjectKind::kChannel), kT0);
    EXPECT_EQ(j["chan"], "0xc000020060");
  }
  {
    Event e = ev(EventKind::kSelect);
    e.objects = {{0xc000020120, ObjectKind::kChannel, 0}, {kChan, ObjectKind::kChannel, model::kRecvCase}};
    e.value = 1;
    e.flags = model::kBlocking | model::kReceived;
    e.begin_ns = e.time_ns - 20'000;
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["cases"], (nlohmann::json{{{"chan", "0xc000020120"}, {"dir", "send"}},
                                          {{"chan", "0xc000020060"}, {"dir", "recv"}}}));
    EXPECT_EQ(j["chosen"], 1);
    EXPECT_EQ(j["received"], true);
    EXPECT_EQ(j["blocking"], true);
    EXPECT_EQ(j["wait_ns"], 20'000);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("2 cases → recv chan 0xc000020060 waited 20µs"));
    e.value = -1;
    e.flags = 0;
    e.begin_ns = 0;
    EXPECT_EQ(format->json(e, kT0)["chosen"], -1);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("2 cases → default"));
  }
  {
    Event e = ev(EventKind::kSyncBlock, 0xc0000b0000, ObjectKind::kRWMutex);
    e.flags = model::kReaderRole;
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["object"], "0xc0000b0000");
    EXPECT_EQ(j["object_kind"], "sync.RWMutex");
    EXPECT_EQ(j["role"], "read");
    EXPECT_FALSE(j.contains("contended"));
    EXPECT_THAT(format->text(e, kT0), HasSubstr("sync.RWMutex 0xc0000b0000 (read)"));
    e.flags = model::kWriterRole;
    EXPECT_EQ(format->json(e, kT0)["role"], "write");
  }
  {
    Event e = ev(EventKind::kMutexLock, 0xc0000180a0, ObjectKind::kMutex);
    e.flags = model::kContended;
    e.begin_ns = e.time_ns - 3'000'000;
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["object_kind"], "sync.Mutex");
    EXPECT_EQ(j["contended"], true);
    EXPECT_EQ(j["wait_ns"], 3'000'000);
    EXPECT_FALSE(j.contains("role"));
    EXPECT_THAT(format->text(e, kT0), HasSubstr("sync.Mutex 0xc0000180a0 contended waited 3ms"));
    Event u = ev(EventKind::kMutexUnlock, 0xc0000180a0, ObjectKind::kMutex);
    EXPECT_EQ(format->json(u, kT0)["contended"], false);
  }
  for (EventKind k : {EventKind::kSyncRelease, EventKind::kRLock, EventKind::kRUnlock,
                      EventKind::kWaitGroupWait, EventKind::kCondWait}) {
    const auto j = format->json(ev(k, 0xc0000c0000, ObjectKind::kWaitGroup), kT0);
    EXPECT_EQ(j["object"], "0xc0000c0000") << model::event_kind_name(k);
    EXPECT_EQ(j["object_kind"], "sync.WaitGroup") << model::event_kind_name(k);
  }
  {
    Event e = ev(EventKind::kCondSignal, 0xc0000d0000, ObjectKind::kCond);
    e.value = 0;
    EXPECT_EQ(format->json(e, kT0)["broadcast"], true);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("broadcast sync.Cond 0xc0000d0000"));
    e.value = 1;
    EXPECT_EQ(format->json(e, kT0)["broadcast"], false);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("signal sync.Cond 0xc0000d0000"));
  }
  {
    Event e = ev(EventKind::kStopTheWorld);
    e.value = 3;
    EXPECT_EQ(format->json(e, kT0)["reason_code"], 3);
    e.value = -1;
    EXPECT_EQ(format->json(e, kT0)["reason_code"], -1);
    EXPECT_EQ(format->json(ev(EventKind::kStartTheWorld), kT0)["kind"], "stw-end");
  }
  {
    Event e = ev(EventKind::kStatus);
    e.goid = 12;
    e.other_goid = 5;
    e.value = static_cast<int64_t>((uint64_t(model::GStatus::kWaiting) << 32) |
                                   uint64_t(model::GStatus::kRunnable));
    const auto j = format->json(e, kT0);
    EXPECT_EQ(j["from"], "waiting");
    EXPECT_EQ(j["to"], "runnable");
    EXPECT_EQ(j["by"], 5);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("g12    status      waiting → runnable by g5"));
  }
  {
    Event e = ev(EventKind::kReady);
    e.goid = 0;  // the runtime (a timer, the netpoller) made it runnable
    e.other_goid = 12;
    EXPECT_EQ(format->json(e, kT0)["wakee"], 12);
    EXPECT_THAT(format->text(e, kT0), HasSubstr("-      ready       → g12"));
  }
  EXPECT_EQ(format->json(ev(EventKind::kGoExit), kT0)["kind"], "go-exit");
}

TEST_F(OutputEventFormat, FlagsUnknownFramesAndRuntimeOnlyStacks) {
  Event e =
      SyntheticEvents::event(EventKind::kReady, 3, kT0, s->stack({0x10, s->in("runtime.gcBgMarkWorker")}));
  e.other_goid = 4;
  e.flags = model::kSystemStack | model::kDataFault;
  const auto j = format->json(e, kT0);
  EXPECT_EQ(j["flags"], (nlohmann::json{"system_stack", "data_fault"}));
  ASSERT_EQ(j["stack"].size(), 2u);
  EXPECT_EQ(j["stack"][0], (nlohmann::json{{"func", "?"}, {"file", ""}, {"line", 0}, {"pc", "0x10"}}));
  EXPECT_EQ(j["stack"][1]["func"], "runtime.gcBgMarkWorker");
  EXPECT_FALSE(j.contains("site"));
  EXPECT_FALSE(j.contains("func"));
  // Text shows the caller of the probed function when only the runtime is there.
  EXPECT_THAT(format->text(e, kT0), HasSubstr("  runtime.gcBgMarkWorker (mgc.go:"));
  EXPECT_THAT(format->text(e, kT0), HasSubstr("[unreadable field]"));
}

TEST_F(OutputEventFormat, ColorsStackFramesAndAddresses) {
  FormatOptions o;
  o.color = true;
  o.stack_frames = 2;
  o.addresses = true;
  EventFormatter colored(format->symbols(), s->info, o);  // the same cache, other options
  const Event e = park_on_chan(12, kT0);
  const std::string text = colored.text(e, kT0);
  EXPECT_THAT(text, HasSubstr("\033[36mpark\033[0m"));  // scheduling: cyan
  // The site line, then the frames from the site on (runtime frames left out).
  const auto lines = [&] {
    std::vector<std::string> v;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
      v.push_back(text.substr(start, nl - start));
    v.push_back(text.substr(start));
    return v;
  }();
  ASSERT_EQ(lines.size(), 2u);  // main.main.func4, then only runtime.goexit: not listed
  const uint64_t site_pc = s->call_at("main.main.func4", sink_line);
  EXPECT_THAT(lines[0], HasSubstr(address_text(site_pc) + " main.main.func4 (main.go:"));
  EXPECT_THAT(lines[1],
              HasSubstr(address_text(site_pc) + " main.main.func4 (main.go:" + std::to_string(sink_line)));

  Event send = SyntheticEvents::event(EventKind::kChanSend, 5, kT0, gen_send);
  send.flags = model::kOk;
  EXPECT_THAT(colored.text(send, kT0), HasSubstr("\033[32mchan-send\033[0m"));
  Event lock = SyntheticEvents::event(EventKind::kMutexLock, 5, kT0, gen_send);
  EXPECT_THAT(colored.text(lock, kT0), HasSubstr("\033[33mmutex-lock\033[0m"));
  EXPECT_THAT(colored.text(SyntheticEvents::event(EventKind::kStopTheWorld, 5, kT0), kT0),
              HasSubstr("\033[35mstw-begin\033[0m"));

  // Runtime frames listed too when asked.
  o.color = false;
  o.addresses = false;
  o.show_runtime = true;
  o.stack_frames = 3;
  EventFormatter all(format->symbols(), s->info, o);
  const std::string with_runtime = all.text(e, kT0);
  EXPECT_THAT(with_runtime, HasSubstr("\n            runtime.gopark (proc.go:"));
  EXPECT_EQ(std::count(with_runtime.begin(), with_runtime.end(), '\n'), 3);
}

TEST(OutputDisplay, DurationsFilesAndAddresses) {
  EXPECT_EQ(duration_text(0), "0ns");
  EXPECT_EQ(duration_text(999), "999ns");
  EXPECT_EQ(duration_text(1'000), "1µs");
  EXPECT_EQ(duration_text(12'345), "12.3µs");
  EXPECT_EQ(duration_text(999'499), "999µs");
  EXPECT_EQ(duration_text(999'500), "1ms");
  EXPECT_EQ(duration_text(1'234'567), "1.23ms");
  EXPECT_EQ(duration_text(4'560'000'000), "4.56s");
  EXPECT_EQ(duration_text(123'000'000'000), "2m03s");
  EXPECT_EQ(short_file("/home/u/app/cmd/main.go"), "main.go");
  EXPECT_EQ(short_file("runtime/proc.go"), "runtime/proc.go");  // -trimpath: short already
  EXPECT_EQ(short_file("main.go"), "main.go");
  EXPECT_EQ(short_file("/main.go"), "main.go");
  EXPECT_EQ(address_text(0xc000020060), "0xc000020060");
  EXPECT_EQ(address_text(0), "0x0");
}

}  // namespace
}  // namespace goscope::output

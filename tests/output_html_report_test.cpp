// The HTML report built from a real detector's AB-BA deadlock (synthetic events with
// real stack addresses of bug_abba, Go 1.22), a hand-made timeline and block profile,
// and hostile names: its sections, findings and wait-for graph, its escaping, that it
// fetches nothing; and (HtmlReportBrowser) that headless Chromium renders it in both
// themes without a script error, with the findings visible and a screenshot that is not blank.
#include "output/html_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "detect/deadlock.h"
#include "synthetic_events.h"
#include "testprogs.h"

namespace goscope::output {
namespace {

using goscope::testing::SyntheticEvents;
using model::Event;
using model::EventKind;
using model::ObjectKind;
using nlohmann::json;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000 * kMs;
constexpr int64_t kT0 = 100 * kS;
constexpr uint64_t kA = 0x5a4f20;
constexpr uint64_t kB = 0x5a4f28;
constexpr uint64_t kChan = 0xc000020060;
// Names a binary may carry: markup, a script end, bytes that are not UTF-8.
const std::string kHostileFunction = "main.(*T).</script><img src=x onerror=alert(1)>\xff\xfe";
const std::string kHostileExe = "bug_abba<b>\xc3\x28</b>";

// Counts of non-overlapping occurrences.
size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    n++;
  return n;
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; k++)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

// The JSON the page's script draws from.
json page_data(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"goscope-data\">";
  const size_t begin = html.find(open);
  if (begin == std::string::npos) return nullptr;
  const size_t end = html.find("</script>", begin);
  return json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

class HtmlReport : public ::testing::Test {
 protected:
  void SetUp() override {
    GS_REQUIRE_TESTPROGS();
    s = std::make_unique<SyntheticEvents>("bug_abba");
    ASSERT_TRUE(s->ok());
    symbols = std::make_shared<state::StackSymbolizer>(*s->binary, s->stacks);
    state = std::make_unique<state::StateModel>(symbols);

    // A channel main made, with a goroutine waiting on it now (below).
    Event make = SyntheticEvents::event(EventKind::kChanMake, 1, kT0 - 2 * kS,
                                        s->stack({s->in("runtime.makechan"), s->in("main.main")}));
    make.object = kChan;
    make.object_kind = ObjectKind::kChannel;
    make.value = 1;
    make.value2 = 8;
    state->apply(make);
    // bug_abba's deadlock, as the detector sees it with traced lock holders.
    lock(7, kT0 - kS, kA);
    lock(8, kT0 - kS, kB);
    park(1, kT0, main_sleep_stack(), "sleep", {});
    park(7, kT0, abba_stack(), "sync.Mutex.Lock", {{kB, ObjectKind::kMutex, 0}});
    park(8, kT0, abba_stack(), "sync.Mutex.Lock", {{kA, ObjectKind::kMutex, 0}});
    detect::DeadlockOptions options;
    options.holders_traced = true;
    detect::DeadlockDetector detector(*state, s->info, nullptr, nullptr);
    findings = detector.detect(kT0 + 5 * kS, options);
    ASSERT_EQ(findings.size(), 1u);
    ASSERT_EQ(findings[0].rule, detect::Rule::kMutexDeadlock);

    park(9, kT0 + kS, abba_stack(), "chan receive", {{kChan, ObjectKind::kChannel, 0}});

    // A leak whose names are hostile.
    detect::Finding leak;
    leak.rule = detect::Rule::kGoroutineLeak;
    leak.severity = detect::Severity::kWarning;
    leak.title = "goroutine 9 leaks on <script>alert(1)</script>";
    leak.message = "it waits on chan 0xc000020060 & nobody sends";
    detect::FindingGoroutine g;
    g.goid = 9;
    g.state = "blocked";
    g.wait_reason = "chan receive";
    g.waits_on = {kChan};
    g.blocked_ns = 4 * kS;
    g.site = detect::Location{.function = kHostileFunction, .file = "/src/app/x.go", .line = 12};
    g.stack = {*g.site,
               detect::Location{.function = "runtime.goexit", .file = "runtime/asm_amd64.s", .line = 1}};
    leak.goroutines.push_back(g);
    leak.objects.push_back({.address = kChan, .kind = ObjectKind::kChannel, .name = "chan 0xc000020060"});
    findings.push_back(leak);

    meta.goscope_version = "0.1.0";
    meta.pid = 4242;
    meta.exe_name = kHostileExe;
    meta.probe_set = "default";
    meta.lock_holders = true;
    meta.stack_depth = 32;
    meta.start_ns = kT0 - 3 * kS;
    meta.start_unix_ns = 1'700'000'000'000'000'000;
    meta.hostname = "web-7";
    meta.kernel = "6.18.0";
    end.end_ns = kT0 + 5 * kS;
    end.reason = "interrupted";
    end.counters.events_seen = 123456;
    end.counters.ringbuf_full = 3;

    timeline = make_timeline(300);
    samples = make_samples();
    notes = {"lock holders are inferred </script> nowhere"};

    in.meta = &meta;
    in.end = &end;
    in.build = &s->binary->build_info();
    in.state = state.get();
    in.symbols = symbols.get();
    in.stream = &s->info;
    in.findings = findings;
    in.notes = notes;
    in.timeline = &timeline;
    in.blocking = samples;
  }

  void park(uint64_t goid, int64_t t, model::StackId stack, const std::string& reason,
            std::vector<model::ObjectRef> objects) {
    Event e = SyntheticEvents::event(EventKind::kPark, goid, t, stack);
    e.wait_reason = s->reason(reason);
    e.objects = std::move(objects);
    state->apply(e);
  }
  void lock(uint64_t goid, int64_t t, uint64_t mutex) {
    Event e = SyntheticEvents::event(EventKind::kMutexLock, goid, t);
    e.object = mutex;
    e.object_kind = ObjectKind::kMutex;
    state->apply(e);
  }
  model::StackId abba_stack() {
    const int line = s->source_line(R"(^\s*second\.Lock\(\))");
    return s->stack({s->entry("runtime.gopark"), s->in("runtime.semacquire1"),
                     s->in("sync.runtime_SemacquireMutex"), s->in("sync.(*Mutex).lockSlow"),
                     s->call_at("main.lockBoth", line), s->in("runtime.goexit")});
  }
  model::StackId main_sleep_stack() {
    return s->stack({s->entry("runtime.gopark"), s->in("time.Sleep"), s->in("main.main"),
                     s->in("runtime.main"), s->in("runtime.goexit")});
  }

  // Goroutines 1, 7, 8 as in the deadlock, then `extra` short-lived workers.
  Timeline make_timeline(size_t extra) {
    Timeline t;
    t.start_ns = kT0 - 3 * kS;
    t.end_ns = kT0 + 5 * kS;
    const uint64_t start = s->entry("main.lockBoth");
    auto track = [&](uint64_t goid, std::vector<Segment> segs) {
      GoroutineTrack tr;
      tr.goid = goid;
      tr.start_pc = goid == 1 ? s->entry("main.main") : start;
      tr.created_pc = goid == 1 ? 0 : s->in("main.main");
      tr.parent_goid = goid == 1 ? 0 : 1;
      tr.segments = std::move(segs);
      t.tracks.push_back(std::move(tr));
    };
    using state::GoroutineState;
    const auto blocked = [&](int64_t a, int64_t b, const char* reason, uint64_t object, ObjectKind kind,
                             model::StackId stack) {
      return Segment{.start_ns = a,
                     .end_ns = b,
                     .state = GoroutineState::kBlocked,
                     .wait_reason = s->reason(reason),
                     .object = object,
                     .object_kind = kind,
                     .stack = stack};
    };
    track(1, {{.start_ns = t.start_ns, .end_ns = kT0, .state = GoroutineState::kRunning},
              blocked(kT0, t.end_ns, "sleep", 0, ObjectKind::kTimer, main_sleep_stack())});
    for (uint64_t goid : {7, 8})
      track(goid, {{.start_ns = t.start_ns, .end_ns = t.start_ns + kS, .state = GoroutineState::kRunnable},
                   {.start_ns = t.start_ns + kS, .end_ns = kT0, .state = GoroutineState::kRunning},
                   blocked(kT0, t.end_ns, "sync.Mutex.Lock", goid == 7 ? kB : kA, ObjectKind::kMutex,
                           abba_stack())});
    for (size_t i = 0; i < extra; i++) {
      const int64_t a = t.start_ns + static_cast<int64_t>(i) * 20 * kMs;
      track(100 + i, {{.start_ns = a, .end_ns = a + 5 * kMs, .state = GoroutineState::kRunning},
                      blocked(a + 5 * kMs, a + 5 * kMs + static_cast<int64_t>(i) * kMs, "chan receive", kChan,
                              ObjectKind::kChannel, abba_stack())});
      t.tracks.back().created_ns = a;
      t.tracks.back().exited_ns = a + 5 * kMs + static_cast<int64_t>(i) * kMs;
    }
    for (int k = 0; k <= 80; k++)
      t.counters.push_back({.time_ns = t.start_ns + k * 100 * kMs,
                            .goroutines = 3 + static_cast<uint64_t>(k % 17),
                            .blocked = 2 + static_cast<uint64_t>(k % 5)});
    return t;
  }

  std::vector<Sample> make_samples() {
    auto at = [](std::string function, std::string file, int64_t line) {
      return Location{
          .address = 0x401000,
          .lines = {Line{.function = std::move(function), .file = std::move(file), .line = line}}};
    };
    const Location gopark = at("runtime.gopark", "runtime/proc.go", 398);
    const Location lock_slow = at("sync.(*Mutex).lockSlow", "sync/mutex.go", 171);
    const Location lock_both = at("main.lockBoth", "/src/bug_abba/main.go", 42);
    const Location main_main = at("main.main", "/src/bug_abba/main.go", 60);
    const Location recv = at("runtime.chanrecv1", "runtime/chan.go", 442);
    const Location hostile = at(kHostileFunction, "/src/app/x.go", 12);
    return {
        {.stack = {gopark, lock_slow, lock_both}, .values = {2, 10 * kS}},
        {.stack = {gopark, recv, hostile, main_main}, .values = {40, 3 * kS}},
        {.stack = {gopark, recv, main_main}, .values = {7, 500 * kMs}},
    };
  }

  std::unique_ptr<SyntheticEvents> s;
  std::shared_ptr<state::StackSymbolizer> symbols;
  std::unique_ptr<state::StateModel> state;
  std::vector<detect::Finding> findings;
  model::TraceMeta meta;
  model::TraceEnd end;
  Timeline timeline;
  std::vector<Sample> samples;
  std::vector<std::string> notes;
  HtmlReportInput in;
};

TEST_F(HtmlReport, HasEverySectionInOrderAndTheHeaderFacts) {
  const std::string html = html_report(in);
  size_t previous = 0;
  for (const char* id : {"findings", "graphs", "timeline", "flamegraph", "sites", "channels", "notes"}) {
    const size_t at = html.find(std::string("<section id=\"") + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_GT(at, previous) << id << " out of order";
    previous = at;
  }
  EXPECT_LT(html.find("<header"), html.find("<section id=\"findings\""));
  EXPECT_NE(html.find("<dt>PID</dt><dd>4242 (attached)</dd>"), std::string::npos);
  EXPECT_NE(html.find("<dt>Go version</dt><dd>go1.22"), std::string::npos);
  EXPECT_NE(html.find("2023-11-14 22:13:20 UTC"), std::string::npos);
  EXPECT_NE(html.find("<dt>duration</dt><dd>8s</dd>"), std::string::npos);
  EXPECT_NE(html.find("123\u2009456 seen"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"bad\"><dt>lost</dt><dd>3</dd>"), std::string::npos);
  EXPECT_NE(html.find("3 events were lost"), std::string::npos);
  EXPECT_NE(html.find("default, lock holders, stacks of 32 frames"), std::string::npos);
  // Blocking sites: main.lockBoth's Lock, with its reason; the channel with its waiter and maker.
  const std::string sites =
      html.substr(html.find("id=\"sites\""), html.find("id=\"channels\"") - html.find("id=\"sites\""));
  EXPECT_NE(sites.find("main.lockBoth (main.go:"), std::string::npos);
  EXPECT_NE(sites.find("sync.Mutex.Lock</td><td class=\"num\">2 <span class=\"dim\">(2 now)</span>"),
            std::string::npos)
      << sites;
  EXPECT_NE(
      sites.find("sleep</td><td class=\"num\">1 <span class=\"dim\">(1 now)</span></td><td class=\"num\">5s"),
      std::string::npos)
      << sites;
  const std::string channels =
      html.substr(html.find("id=\"channels\""), html.find("id=\"notes\"") - html.find("id=\"channels\""));
  EXPECT_NE(channels.find("0xc000020060"), std::string::npos);
  EXPECT_NE(channels.find("g9 "), std::string::npos);
  EXPECT_NE(channels.find("main.main (main.go:"), std::string::npos);
  EXPECT_NE(channels.find(">8 B<"), std::string::npos);
  // Notes: the caller's, and what the report left out.
  EXPECT_NE(html.find("lock holders are inferred &lt;/script&gt; nowhere"), std::string::npos);
  EXPECT_NE(html.find("103 other goroutines are not drawn"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"bad\"><td>lost: ring buffer full</td>"), std::string::npos);
}

TEST_F(HtmlReport, FindingsComeMostSevereFirstWithGoroutinesStacksAndWhereToLook) {
  const std::string html = html_report(in);
  const size_t deadlock = html.find("id=\"finding-1\"");
  const size_t leak = html.find("id=\"finding-2\"");
  ASSERT_NE(deadlock, std::string::npos);
  ASSERT_NE(leak, std::string::npos);
  const std::string first = html.substr(deadlock, leak - deadlock);
  EXPECT_NE(first.find("sev-error"), std::string::npos);
  EXPECT_NE(first.find("GS101 mutex-deadlock"), std::string::npos);
  EXPECT_NE(first.find(html_text(findings[0].title)), std::string::npos) << findings[0].title;
  for (const char* text :
       {"id=\"finding-1-g7\"", "id=\"finding-1-g8\"", "<b>goroutine 7</b>", "<b>goroutine 8</b>",
        "main.lockBoth", "Where to look:", "Help:", "See the wait-for graph", "sync.(*Mutex).lockSlow"})
    EXPECT_NE(first.find(text), std::string::npos) << text;
  // The cycle in words, each goroutine linked to its stack.
  EXPECT_NE(first.find("<a href=\"#finding-1-g7\">goroutine 7</a> waits for"), std::string::npos);
  EXPECT_NE(html.substr(leak).find("GS201 goroutine-leak"), std::string::npos);
  // The text report for pasting, produced by findings_report.
  EXPECT_NE(html.find("The findings as text"), std::string::npos);
  EXPECT_NE(html.find("error[GS101 mutex-deadlock]"), std::string::npos);
  EXPECT_NE(html.find("2 findings: 1 error, 1 warning"), std::string::npos);
}

TEST_F(HtmlReport, DeadlockWaitForGraphIsAnSvgWithTheCycleHighlighted) {
  const std::string html = html_report(in);
  const size_t figure = html.find("<figure class=\"graph\" id=\"graph-1\">");
  ASSERT_NE(figure, std::string::npos);
  const size_t svg_end = html.find("</svg>", figure);
  const std::string svg = html.substr(figure, svg_end - figure);
  EXPECT_NE(svg.find("<svg class=\"wfg\""), std::string::npos);
  // Two goroutines and two mutexes, all in the cycle; four red edges around it.
  EXPECT_EQ(count(svg, "<g class=\"node goroutine in-cycle\">"), 2u);
  EXPECT_EQ(count(svg, "<g class=\"node object in-cycle\">"), 2u);
  EXPECT_EQ(count(svg, "class=\"edge cycle\""), 4u);
  EXPECT_EQ(count(svg, "class=\"edge-label cycle\""), 4u);
  EXPECT_NE(svg.find(">goroutine 7</text>"), std::string::npos);
  EXPECT_NE(svg.find(">goroutine 8</text>"), std::string::npos);
  EXPECT_NE(svg.find(">waits for</text>"), std::string::npos);
  EXPECT_NE(svg.find(">held by</text>"), std::string::npos);
  EXPECT_NE(svg.find("0x5a4f20"), std::string::npos);
  EXPECT_NE(svg.find("0x5a4f28"), std::string::npos);
  // Markers are per graph, so two graphs on one page never share ids.
  EXPECT_NE(svg.find("id=\"wfg1-arrow-cycle\""), std::string::npos);
  // The leak (a warning, not a deadlock) has no graph.
  EXPECT_EQ(html.find("id=\"graph-2\""), std::string::npos);
  // Deterministic: the same input, the same page.
  EXPECT_EQ(html, html_report(in));
}

TEST_F(HtmlReport, EscapesHostileNamesInHtmlAndInTheScriptData) {
  const std::string html = html_report(in);
  EXPECT_TRUE(valid_utf8(html));
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("<b>\xc3"), std::string::npos);
  EXPECT_NE(html.find("bug_abba&lt;b&gt;\xef\xbf\xbd(&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("goroutine 9 leaks on &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("chan 0xc000020060 &amp; nobody sends"), std::string::npos);
  // Exactly the page's own three scripts: the theme, the data, the drawing.
  EXPECT_EQ(count(html, "<script"), 3u);
  EXPECT_EQ(count(html, "</script"), 3u);
  // The data survives the trip: the hostile name is in the flamegraph, bad bytes replaced.
  const json data = page_data(html);
  ASSERT_TRUE(data.is_object());
  const auto& strings = data["flame"]["strings"];
  EXPECT_NE(std::find(strings.begin(), strings.end(),
                      "main.(*T).</script><img src=x onerror=alert(1)>\ufffd\ufffd"),
            strings.end())
      << strings.dump();
}

TEST(HtmlReportText, EscapingHelpers) {
  EXPECT_EQ(html_text("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&#39;c");
  EXPECT_EQ(html_text("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // UTF-8 kept
  EXPECT_EQ(html_text("\xff\xc3"), "\xef\xbf\xbd\xef\xbf\xbd");                  // not UTF-8
  EXPECT_EQ(html_text("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  EXPECT_EQ(html_text("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(html_text("a\x01"
                      "b\tc\n"),
            "a\xef\xbf\xbd"
            "b\tc\n");  // a control character
  const std::string j = script_json(json{{"f", "</script><!-- & \xe2\x80\xa8 \xff"}});
  EXPECT_EQ(j, R"({"f":"\u003c/script\u003e\u003c!-- \u0026 \u2028 \ufffd"})");
  EXPECT_EQ(json::parse(j)["f"], "</script><!-- & \xe2\x80\xa8 \xef\xbf\xbd");
}

TEST_F(HtmlReport, FetchesNothingFromTheNetwork) {
  const std::string html = html_report(in);
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none';"), std::string::npos);
  const std::regex fetch(R"((src|href|action|srcset)\s*=\s*["']?\s*(https?:|//|ftp:))", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, fetch));
  const std::regex css_fetch(R"(@import|url\(\s*["']?(https?:|//))", std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, css_fetch));
  for (const char* api : {"fetch(", "XMLHttpRequest", "WebSocket", "EventSource", "sendBeacon", "import("})
    EXPECT_EQ(html.find(api), std::string::npos) << api;
}

TEST_F(HtmlReport, TimelineKeepsTheLanesBlockedLongestAndMergesBusyLanes) {
  std::string html = html_report(in);
  EXPECT_LT(html.size(), 1'000'000u);
  json data = page_data(html);
  const json& t = data["timeline"];
  ASSERT_EQ(t["lanes"].size(), 200u);
  EXPECT_EQ(t["left_out"], 103);
  EXPECT_EQ(t["total"], 303);
  EXPECT_EQ(t["span"], 8 * kS);
  // Longest blocked first: 7 and 8 (5 s on the mutexes), then main (5 s asleep) by goid.
  EXPECT_EQ(t["lanes"][0]["goid"], 1);
  EXPECT_EQ(t["lanes"][1]["goid"], 7);
  EXPECT_EQ(t["lanes"][2]["goid"], 8);
  EXPECT_EQ(t["lanes"][1]["name"], "main.lockBoth");
  EXPECT_EQ(t["lanes"][0]["born"], -1);  // existed before the trace
  const json& seg = t["lanes"][1]["segs"][2];
  EXPECT_EQ(seg[0], 3 * kS);
  EXPECT_EQ(seg[1], 8 * kS);
  EXPECT_EQ(seg[2], 2);  // blocked
  EXPECT_EQ(t["strings"][seg[3].get<size_t>()], "sync.Mutex.Lock on sync.Mutex 0x5a4f28");
  EXPECT_NE(t["strings"][seg[4].get<size_t>()].get<std::string>().find("main.lockBoth (main.go:"),
            std::string::npos);
  EXPECT_EQ(t["counters"].size(), 81u);

  // A lane of 10 000 alternating segments is drawn as at most about max_segments_per_lane.
  Timeline busy;
  busy.start_ns = 0;
  busy.end_ns = 10'000 * kMs;
  GoroutineTrack track;
  track.goid = 5;
  for (int64_t i = 0; i < 10'000; i++)
    track.segments.push_back(
        {.start_ns = i * kMs,
         .end_ns = (i + 1) * kMs,
         .state = i % 3 ? state::GoroutineState::kRunning : state::GoroutineState::kBlocked,
         .wait_reason = s->reason("chan send")});
  busy.tracks.push_back(track);
  in.timeline = &busy;
  HtmlReportOptions options;
  options.max_segments_per_lane = 1000;
  html = html_report(in, options);
  data = page_data(html);
  const json& segs = data["timeline"]["lanes"][0]["segs"];
  EXPECT_LE(segs.size(), 1001u);
  EXPECT_GE(segs.size(), 999u);
  EXPECT_EQ(data["timeline"]["merged"].get<size_t>() + segs.size(), 10'000u);
  EXPECT_EQ(segs[0][2], 0);  // two thirds running
  EXPECT_EQ(segs.back()[1], 10'000 * kMs);
  EXPECT_NE(html.find("short timeline segments merged"), std::string::npos);
}

TEST_F(HtmlReport, FlamegraphTreeSumsDelaysFromTheRoot) {
  const json data = page_data(html_report(in));
  const json& f = data["flame"];
  const json& strings = f["strings"];
  const json& root = f["root"];
  EXPECT_EQ(strings[root[0].get<size_t>()], "all");
  EXPECT_EQ(root[2], 10 * kS + 3 * kS + 500 * kMs);
  EXPECT_EQ(root[3], 49);
  // Widest first: main.lockBoth (10 s), then main.main (3.5 s).
  ASSERT_EQ(root[4].size(), 2u);
  EXPECT_EQ(strings[root[4][0][0].get<size_t>()], "main.lockBoth");
  EXPECT_EQ(strings[root[4][0][1].get<size_t>()], "/src/bug_abba/main.go:42");
  EXPECT_EQ(root[4][0][2], 10 * kS);
  const json& main_main = root[4][1];
  EXPECT_EQ(strings[main_main[0].get<size_t>()], "main.main");
  EXPECT_EQ(main_main[2], 3 * kS + 500 * kMs);
  EXPECT_EQ(main_main[3], 47);
  ASSERT_EQ(main_main[4].size(), 2u);  // the hostile function, then chanrecv1 directly
}

TEST_F(HtmlReport, WithoutFindingsOrDataItSaysSo) {
  HtmlReportInput empty;
  const std::string html = html_report(empty);
  EXPECT_NE(html.find("No findings"), std::string::npos);
  EXPECT_EQ(html.find("<svg class=\"wfg\""), std::string::npos);
  EXPECT_NE(html.find("No deadlock was found"), std::string::npos);
  EXPECT_NE(html.find("No timeline was recorded"), std::string::npos);
  EXPECT_NE(html.find("No blocking samples"), std::string::npos);
  EXPECT_EQ(page_data(html), json::object());
  EXPECT_TRUE(valid_utf8(html));
}

TEST_F(HtmlReport, WritesTheFile) {
  const std::string path = ::testing::TempDir() + "goscope_report_write.html";
  ASSERT_TRUE(write_html_report(path, in));
  std::ifstream file(path, std::ios::binary);
  std::stringstream content;
  content << file.rdbuf();
  EXPECT_EQ(content.str(), html_report(in));
  std::filesystem::remove(path);
  EXPECT_FALSE(write_html_report("/nonexistent-dir/x.html", in));
}

// Headless Chromium renders the report in both themes: the script runs without an error,
// draws the timeline and the flamegraph, the findings are on screen, the screenshots are
// not blank (tests/check_html_report.py). Chromium is a test dependency (scripts/setup.sh).
TEST_F(HtmlReport, BrowserRendersBothThemesWithoutErrors) {
  if (goscope::testing::run_command("command -v chromium").exit_code != 0) {
    GS_SKIP_OR_FAIL() << "chromium is not installed (scripts/setup.sh installs it)";
  }
  const std::string dir = ::testing::TempDir() + "goscope_html_report_browser";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/report.html";
  ASSERT_TRUE(write_html_report(path, in));
  const std::string cmd = "python3 " GOSCOPE_SOURCE_DIR "/tests/check_html_report.py " + path + " " + dir +
                          " --expect 'GS101 mutex-deadlock' --expect 'goroutine 7' --expect 'Where to look'"
                          " --expect 'class=\"wfg\"' 2>&1";
  const auto result = goscope::testing::run_command(cmd);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("OK"), std::string::npos) << result.output;
  std::printf("%s(screenshots in %s)\n", result.output.c_str(), dir.c_str());
}

}  // namespace
}  // namespace goscope::output

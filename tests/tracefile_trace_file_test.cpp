// Trace files: exact round trips of everything stored (events of every kind with
// extreme values, the seed, findings, notes, meta and end), the code tables
// against a real binary of the matrix, and damage: a file cut at every byte, bit
// flips, files that are not traces or come from a newer goscope, a recorder
// killed before close. Also measures bytes per event on a ping-pong stream.
#include "tracefile/trace_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "state/code_info.h"
#include "tracefile/findings_codec.h"
#include "symbolizer/symbolizer.h"
#include "testprogs.h"

namespace goscope::tracefile {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// ---- helpers

// A CodeInfo with fixed answers, for tests about the format rather than a binary.
class FixedCode final : public state::CodeInfo {
 public:
  FixedCode() {
    build_.go_version = "go1.22.3";
    build_.version = {1, 22, 3};
    build_.main_path = "example.com/app";
    build_.settings = {{"GOARCH", "amd64"}, {"-ldflags", "-s -w"}};
    build_.deps = {"golang.org/x/sync@v0.1.0"};
    build_.inline_strings = true;
    offsets_.g_goid = 152;
    offsets_.hchan_qcount = 0;
    offsets_.p_timers = 4096;
    wait_reasons_ = {"", "GC assist marking", "chan receive", "chan send"};
  }
  std::vector<state::SourceFrame> frames(uint64_t vaddr) const override {
    if (vaddr < 0x401000 || vaddr >= 0x500000) return {};
    const int line = static_cast<int>(vaddr & 0xff);
    if (vaddr & 0x100)
      return {{"main.inlined", "/src/app/util.go", line, true},
              {"main.worker", "/src/app/main.go", 7, false}};
    return {{"main.worker", "/src/app/main.go", line, false}};
  }
  std::optional<uint64_t> function_entry(uint64_t vaddr) const override {
    if (vaddr < 0x401000 || vaddr >= 0x500000) return std::nullopt;
    return vaddr & ~uint64_t(0xfff);
  }
  const state::LockLines& lock_lines(uint64_t entry) const override {
    return entry == 0x402000 ? locks_ : none_;
  }
  std::string_view goroot_src() const override { return "/usr/lib/go-1.22/src/"; }
  const sym::GoOffsets& offsets() const override { return offsets_; }
  const std::vector<std::string>& wait_reasons() const override { return wait_reasons_; }
  const sym::BuildInfo& build_info() const override { return build_; }

 private:
  sym::BuildInfo build_;
  sym::GoOffsets offsets_;
  std::vector<std::string> wait_reasons_;
  state::LockLines locks_{{12, 40}, {55}};
  state::LockLines none_;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "goscope-trace-XXXXXX").string();
    if (mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

model::TraceMeta sample_meta() {
  model::TraceMeta m;
  m.goscope_version = "0.4.0";
  m.pid = 4242;
  m.exe_name = "/srv/app";
  m.command = {"/srv/app", "-port", "8080", ""};
  m.launched = true;
  m.build_id = "deadbeef";
  m.probe_set = "all-ops";
  m.scheduler = true;
  m.lock_holders = true;
  m.holders_traced = true;
  m.stack_depth = 64;
  m.start_ns = 123456789012;
  m.start_unix_ns = 1700000000123456789;
  m.hostname = "host";
  m.kernel = "6.18.0";
  return m;
}

model::TraceEnd sample_end() {
  model::TraceEnd e;
  e.end_ns = 223456789012;
  e.reason = "the program exited with status 0";
  e.target_exited = true;
  e.counters = {1, 2, 3, 4, 5, 6, 7, UINT64_MAX};
  return e;
}

void expect_same_event(const model::Event& a, const model::Event& b) {
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.flags, b.flags);
  EXPECT_EQ(a.tid, b.tid);
  EXPECT_EQ(a.time_ns, b.time_ns);
  EXPECT_EQ(a.begin_ns, b.begin_ns);
  EXPECT_EQ(a.goid, b.goid);
  EXPECT_EQ(a.other_goid, b.other_goid);
  EXPECT_EQ(a.object, b.object);
  EXPECT_EQ(a.object_kind, b.object_kind);
  EXPECT_EQ(a.wait_reason, b.wait_reason);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.value2, b.value2);
  EXPECT_EQ(a.pc, b.pc);
  EXPECT_EQ(a.start_pc, b.start_pc);
  EXPECT_EQ(a.stack, b.stack);
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (size_t i = 0; i < a.objects.size(); i++) {
    EXPECT_EQ(a.objects[i].address, b.objects[i].address);
    EXPECT_EQ(a.objects[i].kind, b.objects[i].kind);
    EXPECT_EQ(a.objects[i].flags, b.objects[i].flags);
  }
}

// Events of every kind: plain ones, then ones with extreme values in every field.
std::vector<model::Event> every_kind_of_event(model::StackTable& stacks) {
  const model::StackId s1 = stacks.intern(std::vector<uint64_t>{0x401010, 0x402020, 0x403030});
  const model::StackId s2 = stacks.intern(std::vector<uint64_t>{0x401110, 0x4ff000});
  std::vector<model::Event> events;
  int64_t t = 1'000'000;
  for (int k = 0; k < static_cast<int>(model::EventKind::kCount_); k++) {
    model::Event e;
    e.kind = static_cast<model::EventKind>(k);
    e.time_ns = t += 1500;
    e.goid = 18 + k % 3;
    e.tid = 1000 + k % 2;
    e.stack = k % 2 ? s1 : s2;
    e.object = 0xc000020060 + 0x60 * (k % 4);
    e.object_kind = static_cast<model::ObjectKind>(k % 10);
    e.flags = static_cast<uint16_t>(k % 3 ? model::kBlocking | model::kOk : 0);
    if (k % 3 == 1) e.begin_ns = t - 700;
    e.pc = 0x401000 + 0x10 * k;
    if (k == 0) e.start_pc = 0x402000;
    e.wait_reason = k % 5;
    e.value = k - 3;
    e.value2 = 8;
    if (k % 4 == 0)
      e.objects = {{0xc000020060, model::ObjectKind::kChannel, model::kRecvCase | model::kInSelect},
                   {0xc000010000, model::ObjectKind::kMutex, 0}};
    events.push_back(e);
    events.push_back(e);  // the same again: encoded as "nothing changed"
    events.back().time_ns = t += 1;
  }
  // Extremes: every field at its limits, time running backwards.
  model::Event x;
  x.kind = model::EventKind::kSelect;
  x.flags = UINT16_MAX;
  x.tid = UINT32_MAX;
  x.time_ns = std::numeric_limits<int64_t>::max();
  x.begin_ns = std::numeric_limits<int64_t>::min();
  x.goid = UINT64_MAX;
  x.other_goid = 0;
  x.object = UINT64_MAX;
  x.object_kind = model::ObjectKind::kOther;
  x.wait_reason = UINT32_MAX;
  x.value = std::numeric_limits<int64_t>::min();
  x.value2 = std::numeric_limits<int64_t>::max();
  x.pc = UINT64_MAX;
  x.start_pc = 1;
  x.stack = s1;
  x.objects = {{UINT64_MAX, model::ObjectKind::kCond, UINT16_MAX}, {0, model::ObjectKind::kNone, 0}};
  events.push_back(x);
  model::Event y = x;
  y.time_ns = std::numeric_limits<int64_t>::min();
  y.begin_ns = -1;
  y.goid = 0;
  y.value = -1;
  y.objects.clear();
  y.stack = 0;
  events.push_back(y);
  model::Event z;  // all defaults, kind 0
  z.kind = model::EventKind::kGoCreate;
  events.push_back(z);
  return events;
}

model::ProcessSnapshot sample_snapshot(uint64_t bias) {
  model::ProcessSnapshot s;
  s.pid = 4242;
  s.taken_at_ns = 99'000'000;
  s.allglen = 5;
  s.dead_skipped = 2;
  s.unreadable_gs = 1;
  model::GoroutineSnapshot g;
  g.goid = 1;
  g.g_address = 0xc000002000;
  g.status = static_cast<uint32_t>(model::GStatus::kWaiting);
  g.scan_bit = true;
  g.wait_reason = 2;
  g.wait_reason_name = "chan receive";
  g.wait_since_ns = 98'000'000;
  g.waiting_on = {{model::WaitedObject::Kind::kChannel, 0xc000020060, true},
                  {model::WaitedObject::Kind::kSemaphore, 0xc000010008, false}};
  g.go_pc = bias + 0x401234;
  g.start_pc = bias + 0x402000;
  g.parent_goid = 0;
  g.stack = {bias + 0x401010, bias + 0x402021, bias + 0x403031, 0x10 /* below the bias: kept */};
  g.stack_state = model::StackState::kTorn;
  g.from_syscall = true;
  g.stack_lo = 0xc000100000;
  g.stack_hi = 0xc000108000;
  g.sched_sp = 0xc000107f00;
  g.sched_pc = bias + 0x401010;
  g.sched_bp = 0xc000107f80;
  g.inconsistent = true;
  g.inconsistency = "status changed";
  s.goroutines.push_back(g);
  model::GoroutineSnapshot h;  // defaults, optionals absent
  h.goid = 7;
  s.goroutines.push_back(h);
  s.g_addresses = {0xc000002000, 0xc000002400, 0xc000001000};
  return s;
}

detect::Finding sample_finding() {
  detect::Finding f;
  f.rule = detect::Rule::kMutexDeadlock;
  f.severity = detect::Severity::kWarning;
  f.confidence = detect::Confidence::kLikely;
  f.confidence_reason = "holders inferred from stacks";
  f.title = "AB-BA deadlock: goroutines 12 and 31";
  f.message = "goroutine 12 waits for\n\"B\"";
  f.suggestion = "take the locks in one order";
  detect::Location at{"main.lockBoth",
                      "/src/app/\xff\xfe"
                      "bad.go",
                      41, 0x4a1234, true};
  detect::FindingGoroutine g;
  g.goid = UINT64_MAX;
  g.state = "blocked";
  g.wait_reason = "sync.Mutex.Lock";
  g.waits_on = {0xc000010000};
  g.holds = {0xc000010008, 1};
  g.blocked_ns = std::numeric_limits<int64_t>::min();
  g.since_exact = false;
  g.site = at;
  g.stack = {at, detect::Location{"main.main", "/src/app/main.go", -3, 0, false}};
  g.created_at = at;
  g.parent_goid = 1;
  f.goroutines = {g, detect::FindingGoroutine{}};
  detect::FindingObject o;
  o.address = 0xc000010000;
  o.kind = model::ObjectKind::kRWMutex;
  o.name = "sync.RWMutex 0xc000010000";
  o.detail = "";
  o.held_by = {31};
  o.holders_inferred = true;
  o.made_at = at;
  f.objects = {o};
  f.cycle = {{12, 0xc000010000, 31, "held by"}, {31, 0xc000010008, 12, "held by"}};
  f.location = at;
  f.detected_ns = 5;
  f.since_ns = -5;
  f.metrics = {{"wait_ns", 1e300},
               {"ratio", 0.1},
               {"tiny", 5e-324},
               {"neg", -0.0},
               {"inf", std::numeric_limits<double>::infinity()},
               {"ninf", -std::numeric_limits<double>::infinity()},
               {"nan", std::nan("")},
               {"\x80odd", 1}};
  f.key = "GS101:12,31";
  f.fingerprint = "";
  return f;
}

struct ReadBack {
  std::vector<TraceReader::Item> items;
  std::string damage;
  std::optional<model::TraceEnd> end;
};

ReadBack read_all(TraceReader& r) {
  ReadBack out;
  while (const auto* item = r.next()) out.items.push_back(*item);
  out.damage = r.damage();
  out.end = r.end();
  return out;
}

size_t count_events(const ReadBack& b) {
  size_t n = 0;
  for (const auto& i : b.items) n += i.kind == TraceReader::Item::Kind::kEvent;
  return n;
}

// ---- findings codec

TEST(OutputTraceFile, FindingCodecIsLossless) {
  const detect::Finding f = sample_finding();
  const std::string text = finding_to_text(f);
  auto back = finding_from_text(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(finding_to_text(*back), text);
  EXPECT_EQ(back->rule, f.rule);
  EXPECT_EQ(back->severity, f.severity);
  EXPECT_EQ(back->confidence, f.confidence);
  EXPECT_EQ(back->goroutines[0].goid, UINT64_MAX);
  EXPECT_EQ(back->goroutines[0].blocked_ns, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(back->goroutines[0].site->file, f.goroutines[0].site->file);  // not UTF-8: kept byte for byte
  EXPECT_EQ(back->goroutines[0].stack[1].line, -3);
  EXPECT_FALSE(back->goroutines[1].site.has_value());
  EXPECT_EQ(back->objects[0].kind, model::ObjectKind::kRWMutex);
  EXPECT_TRUE(back->objects[0].holders_inferred);
  EXPECT_EQ(back->cycle[1].relation, "held by");
  EXPECT_EQ(back->since_ns, -5);
  ASSERT_EQ(back->metrics.size(), f.metrics.size());
  for (const auto& [name, value] : f.metrics) {
    ASSERT_TRUE(back->metrics.count(name)) << name;
    const double got = back->metrics.at(name);
    if (std::isnan(value))
      EXPECT_TRUE(std::isnan(got));
    else
      EXPECT_EQ(std::memcmp(&got, &value, sizeof value), 0) << name << ": " << got << " != " << value;
  }
}

TEST(OutputTraceFile, FindingCodecRejectsWrongTypes) {
  EXPECT_FALSE(finding_from_text("not json"));
  EXPECT_FALSE(finding_from_text("[1,2]"));
  auto bad_rule = finding_from_text(R"({"rule":"GS999"})");
  ASSERT_FALSE(bad_rule);
  EXPECT_THAT(bad_rule.error().message, HasSubstr("rule"));
  auto bad_goid = finding_from_text(R"({"goroutines":[{"goid":-1}]})");
  ASSERT_FALSE(bad_goid);
  EXPECT_THAT(bad_goid.error().message, HasSubstr("goroutines[0].goid"));
  EXPECT_FALSE(finding_from_text(R"({"metrics":{"a":1}})"));
  EXPECT_FALSE(finding_from_text(R"({"objects":[{"kind":200}]})"));
  // Fields it does not know (a later goscope's) are ignored; absent ones keep their defaults.
  auto later = finding_from_text(R"({"rule":"GS201","new_field":[1]})");
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_EQ(later->rule, detect::Rule::kGoroutineLeak);
}

// ---- round trips

TEST(OutputTraceFile, RoundTripsEverythingExactly) {
  TempDir dir;
  const std::string path = dir.file("all.gst");
  model::StackTable stacks;
  const auto events = every_kind_of_event(stacks);
  const auto code = std::make_shared<FixedCode>();
  const uint64_t bias = 0x555500000000;
  {
    auto w = TraceWriter::create(path, sample_meta(), code, stacks);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE((*w)->note("attached"));
    ASSERT_TRUE((*w)->seed(sample_snapshot(bias), bias));
    for (size_t i = 0; i < events.size(); i++) {
      ASSERT_TRUE((*w)->event(events[i]));
      if (i == events.size() / 2) {
        ASSERT_TRUE((*w)->finding(sample_finding()));
        ASSERT_TRUE((*w)->flush());  // deltas restart in the next block
      }
    }
    ASSERT_TRUE((*w)->note(""));
    ASSERT_TRUE((*w)->close(sample_end()));
    EXPECT_EQ((*w)->events_written(), events.size());
    EXPECT_EQ((*w)->bytes_written(), fs::file_size(path));
    EXPECT_FALSE((*w)->event(events[0])) << "writing after close is an error";
  }
  auto r = TraceReader::open(path);
  ASSERT_TRUE(r) << r.error().message;
  TraceReader& reader = **r;

  const model::TraceMeta& m = reader.meta();
  const model::TraceMeta want = sample_meta();
  EXPECT_EQ(m.goscope_version, want.goscope_version);
  EXPECT_EQ(m.pid, want.pid);
  EXPECT_EQ(m.exe_name, want.exe_name);
  EXPECT_EQ(m.command, want.command);
  EXPECT_EQ(m.launched, want.launched);
  EXPECT_EQ(m.build_id, want.build_id);
  EXPECT_EQ(m.probe_set, want.probe_set);
  EXPECT_EQ(m.scheduler, want.scheduler);
  EXPECT_EQ(m.lock_holders, want.lock_holders);
  EXPECT_EQ(m.holders_traced, want.holders_traced);
  EXPECT_EQ(m.stack_depth, want.stack_depth);
  EXPECT_EQ(m.start_ns, want.start_ns);
  EXPECT_EQ(m.start_unix_ns, want.start_unix_ns);
  EXPECT_EQ(m.hostname, want.hostname);
  EXPECT_EQ(m.kernel, want.kernel);

  const auto stored = reader.code();
  EXPECT_EQ(stored->goroot_src(), code->goroot_src());
  EXPECT_EQ(stored->offsets(), code->offsets());
  EXPECT_EQ(stored->wait_reasons(), code->wait_reasons());
  EXPECT_EQ(reader.stream_info().wait_reasons, code->wait_reasons());
  EXPECT_EQ(reader.stream_info().stacks, &reader.stacks());
  const sym::BuildInfo& b = stored->build_info();
  EXPECT_EQ(b.go_version, "go1.22.3");
  EXPECT_EQ(b.version.minor, 22);
  EXPECT_EQ(b.version.patch, 3);
  EXPECT_EQ(b.main_path, "example.com/app");
  EXPECT_EQ(b.settings, code->build_info().settings);
  EXPECT_EQ(b.deps, code->build_info().deps);
  EXPECT_TRUE(b.inline_strings);

  const ReadBack back = read_all(reader);
  EXPECT_EQ(back.damage, "");
  ASSERT_TRUE(back.end.has_value());
  const model::TraceEnd want_end = sample_end();
  EXPECT_EQ(back.end->end_ns, want_end.end_ns);
  EXPECT_EQ(back.end->reason, want_end.reason);
  EXPECT_EQ(back.end->target_exited, want_end.target_exited);
  EXPECT_EQ(back.end->counters.events_seen, 1u);
  EXPECT_EQ(back.end->counters.unpaired, 5u);
  EXPECT_EQ(back.end->counters.stack_cut, UINT64_MAX);

  using Kind = TraceReader::Item::Kind;
  ASSERT_EQ(back.items.size(), events.size() + 4);
  EXPECT_EQ(back.items[0].kind, Kind::kNote);
  EXPECT_EQ(back.items[0].note, "attached");
  EXPECT_EQ(back.items[1].kind, Kind::kSeed);
  size_t next_event = 0;
  for (size_t i = 2; i < back.items.size() - 1; i++) {
    const auto& item = back.items[i];
    if (item.kind == Kind::kFinding) {
      EXPECT_EQ(next_event, events.size() / 2 + 1);
      EXPECT_EQ(finding_to_text(item.finding), finding_to_text(sample_finding()));
      continue;
    }
    ASSERT_EQ(item.kind, Kind::kEvent);
    SCOPED_TRACE("event " + std::to_string(next_event));
    expect_same_event(item.event, events[next_event++]);
  }
  EXPECT_EQ(next_event, events.size());
  EXPECT_EQ(back.items.back().kind, Kind::kNote);
  EXPECT_EQ(back.items.back().note, "");
  EXPECT_EQ(reader.events_read(), events.size());

  // The reader's stack table has the writer's stacks under the same ids.
  ASSERT_EQ(reader.stacks().size(), stacks.size());
  for (model::StackId id = 1; id <= stacks.size(); id++)
    EXPECT_TRUE(std::ranges::equal(reader.stacks().get(id), stacks.get(id))) << "stack " << id;

  // The seed comes back with ELF vaddrs: seeding with load bias 0 is what the live run did with `bias`.
  const model::ProcessSnapshot want_seed = sample_snapshot(bias);
  const model::ProcessSnapshot& seed = back.items[1].seed;
  EXPECT_EQ(seed.pid, want_seed.pid);
  EXPECT_EQ(seed.taken_at_ns, want_seed.taken_at_ns);
  EXPECT_EQ(seed.allglen, want_seed.allglen);
  EXPECT_EQ(seed.dead_skipped, want_seed.dead_skipped);
  EXPECT_EQ(seed.unreadable_gs, want_seed.unreadable_gs);
  EXPECT_EQ(seed.g_addresses, want_seed.g_addresses);
  ASSERT_EQ(seed.goroutines.size(), 2u);
  const auto& g = seed.goroutines[0];
  const auto& wg = want_seed.goroutines[0];
  EXPECT_EQ(g.goid, wg.goid);
  EXPECT_EQ(g.g_address, wg.g_address);
  EXPECT_EQ(g.status, wg.status);
  EXPECT_EQ(g.scan_bit, wg.scan_bit);
  EXPECT_EQ(g.wait_reason, wg.wait_reason);
  EXPECT_EQ(g.wait_reason_name, wg.wait_reason_name);
  EXPECT_EQ(g.wait_since_ns, wg.wait_since_ns);
  ASSERT_EQ(g.waiting_on.size(), 2u);
  EXPECT_EQ(g.waiting_on[0].kind, model::WaitedObject::Kind::kChannel);
  EXPECT_EQ(g.waiting_on[0].address, 0xc000020060u);
  EXPECT_TRUE(g.waiting_on[0].in_select);
  EXPECT_EQ(g.waiting_on[1].kind, model::WaitedObject::Kind::kSemaphore);
  EXPECT_FALSE(g.waiting_on[1].in_select);
  EXPECT_EQ(g.go_pc, 0x401234u);
  EXPECT_EQ(g.start_pc, 0x402000u);
  EXPECT_EQ(g.parent_goid, std::optional<uint64_t>(0));
  EXPECT_EQ(g.stack, (std::vector<uint64_t>{0x401010, 0x402021, 0x403031, 0x10}));
  EXPECT_EQ(g.stack_state, model::StackState::kTorn);
  EXPECT_TRUE(g.from_syscall);
  EXPECT_EQ(g.stack_lo, wg.stack_lo);
  EXPECT_EQ(g.stack_hi, wg.stack_hi);
  EXPECT_EQ(g.sched_sp, wg.sched_sp);
  EXPECT_EQ(g.sched_pc, wg.sched_pc);  // a register value, kept as read
  EXPECT_EQ(g.sched_bp, wg.sched_bp);
  EXPECT_TRUE(g.inconsistent);
  EXPECT_EQ(g.inconsistency, wg.inconsistency);
  EXPECT_EQ(seed.goroutines[1].goid, 7u);
  EXPECT_FALSE(seed.goroutines[1].wait_since_ns);
  EXPECT_FALSE(seed.goroutines[1].parent_goid);

  // The seed's code addresses are in the code tables, as vaddrs (return addresses one back).
  EXPECT_EQ(stored->frames(0x402020).size(), 1u);  // stack[1] - 1
  EXPECT_EQ(stored->frames(0x401233).size(), 1u);  // go_pc - 1
  ASSERT_EQ(stored->frames(0x401110).size(), 2u);  // an event stack's pcs[0]: inlined frame first
  EXPECT_EQ(stored->frames(0x401110)[0].function, "main.inlined");
  EXPECT_TRUE(stored->frames(0x401110)[0].inlined);
  EXPECT_EQ(stored->frames(0x401110)[1].line, 7);
  EXPECT_EQ(stored->function_entry(0x401110), std::optional<uint64_t>(0x401000));
  EXPECT_EQ(stored->lock_lines(0x402000).lock, (std::vector<int>{12, 40}));
  EXPECT_EQ(stored->lock_lines(0x402000).rlock, (std::vector<int>{55}));
  EXPECT_TRUE(stored->lock_lines(0x401000).lock.empty());
  EXPECT_TRUE(stored->frames(0x4ff001).empty()) << "never asked for: unknown";
  EXPECT_FALSE(stored->function_entry(0x123));
}

TEST(OutputTraceFile, CodeTablesAnswerAsTheBinaryDid) {
  GS_REQUIRE_TESTPROGS();
  auto binary = sym::GoBinary::open(testing::testprog("1.22", "default", "bug_abba"));
  ASSERT_TRUE(binary) << binary.error().message;
  const auto live = state::binary_code_info(**binary);
  const auto& tab = (*binary)->pclntab();
  auto entry = [&](const char* name) {
    auto a = (*binary)->function_address(name);
    EXPECT_TRUE(a) << name;
    return a.value_or(0);
  };
  // Stacks through real functions: return addresses in the middle of each.
  model::StackTable stacks;
  std::vector<model::Event> events;
  const char* functions[] = {"main.lockBoth",    "main.main",      "sync.(*Mutex).lockSlow",
                             "runtime.gopark",   "runtime.goexit", "sync.(*WaitGroup).Wait",
                             "runtime.chansend1"};
  int64_t t = 0;
  for (size_t i = 0; i < std::size(functions); i++) {
    const uint64_t a = entry(functions[i]);
    auto idx = tab.function_at(a);
    ASSERT_TRUE(idx);
    const uint64_t mid = a + (tab.function_end(*idx) - a) / 2;
    model::Event e;
    e.kind = model::EventKind::kPark;
    e.time_ns = t += 1000;
    e.goid = 5;
    e.stack = stacks.intern(std::vector<uint64_t>{mid, entry(functions[(i + 1) % std::size(functions)]) + 9,
                                                  entry("main.main") + 17});
    e.pc = mid + 1;
    e.start_pc = entry("main.lockBoth");
    events.push_back(e);
  }
  TempDir dir;
  const std::string path = dir.file("abba.gst");
  {
    auto w = TraceWriter::create(path, sample_meta(), live, stacks);
    ASSERT_TRUE(w) << w.error().message;
    for (const auto& e : events) ASSERT_TRUE((*w)->event(e));
    ASSERT_TRUE((*w)->close(sample_end()));
  }
  auto r = TraceReader::open(path);
  ASSERT_TRUE(r) << r.error().message;
  const ReadBack back = read_all(**r);
  ASSERT_EQ(back.damage, "");
  const auto stored = (*r)->code();
  EXPECT_EQ(stored->goroot_src(), live->goroot_src());
  EXPECT_FALSE(stored->goroot_src().empty());
  EXPECT_EQ(stored->offsets(), live->offsets());
  EXPECT_EQ(stored->wait_reasons(), live->wait_reasons());
  EXPECT_EQ(stored->build_info().go_version, live->build_info().go_version);
  EXPECT_EQ(stored->build_info().deps, live->build_info().deps);

  // Every address a replay asks about, and every function entry behind them.
  std::set<uint64_t> addresses, entries;
  for (const auto& e : events) {
    const auto pcs = stacks.get(e.stack);
    for (size_t i = 0; i < pcs.size(); i++) addresses.insert(i == 0 ? pcs[i] : pcs[i] - 1);
    addresses.insert({e.pc, e.pc - 1, e.start_pc});
  }
  for (uint64_t a : addresses)
    if (auto en = live->function_entry(a)) entries.insert(*en);
  addresses.insert(entries.begin(), entries.end());
  size_t with_locks = 0;
  for (uint64_t a : addresses) {
    SCOPED_TRACE(::testing::Message() << std::hex << "0x" << a);
    const auto want = live->frames(a);
    const auto got = stored->frames(a);
    ASSERT_EQ(got.size(), want.size());
    ASSERT_FALSE(got.empty());
    for (size_t i = 0; i < got.size(); i++) {
      EXPECT_EQ(got[i].function, want[i].function);
      EXPECT_EQ(got[i].file, want[i].file);
      EXPECT_EQ(got[i].line, want[i].line);
      EXPECT_EQ(got[i].inlined, want[i].inlined);
    }
    EXPECT_EQ(stored->function_entry(a), live->function_entry(a));
  }
  for (uint64_t en : entries) {
    EXPECT_EQ(stored->lock_lines(en).lock, live->lock_lines(en).lock);
    EXPECT_EQ(stored->lock_lines(en).rlock, live->lock_lines(en).rlock);
    with_locks += !live->lock_lines(en).lock.empty();
  }
  EXPECT_GT(with_locks, 0u) << "main.lockBoth takes locks: the test must cover lock lines";
  // Views stay valid after more blocks are read: they point into the reader's stable table.
  const auto frames = stored->frames(events[0].pc - 1);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().function, "main.lockBoth");
}

// A small file with real code tables and several blocks: the victim of the damage tests.
struct SmallTrace {
  std::string bytes;
  std::vector<uint64_t> block_ends;   // file offset after each block (the header block first)
  std::vector<size_t> events_before;  // events in the blocks before block_ends[i]
  size_t events = 0;
};

SmallTrace small_trace(const TempDir& dir, bool close = true) {
  SmallTrace out;
  const std::string path = dir.file(close ? "small.gst" : "killed.gst");
  model::StackTable stacks;
  const auto events = every_kind_of_event(stacks);
  auto w = TraceWriter::create(path, sample_meta(), std::make_shared<FixedCode>(), stacks);
  if (!w) {
    ADD_FAILURE() << w.error().message;
    return out;
  }
  out.block_ends.push_back((*w)->bytes_written());
  out.events_before.push_back(0);
  size_t n = 0;
  for (size_t i = 0; i < events.size(); i++) {
    if (i == 3) {
      EXPECT_TRUE((*w)->note("three events in"));
    }
    EXPECT_TRUE((*w)->event(events[i]));
    n++;
    if (i % 12 == 11) {
      EXPECT_TRUE((*w)->flush());
      out.block_ends.push_back((*w)->bytes_written());
      out.events_before.push_back(n);
    }
  }
  EXPECT_TRUE((*w)->finding(sample_finding()));
  out.events = n;
  if (close) {
    EXPECT_TRUE((*w)->close(sample_end()));
    out.block_ends.push_back((*w)->bytes_written());
    out.events_before.push_back(n);
  }
  out.bytes = read_bytes(path);  // while a killed writer's last block is still unwritten
  return out;
}

TEST(OutputTraceFile, TruncatedAtEveryByte) {
  TempDir dir;
  const SmallTrace t = small_trace(dir);
  ASSERT_GT(t.block_ends.size(), 3u);
  ASSERT_EQ(t.block_ends.back(), t.bytes.size());
  for (size_t len = 0; len < t.bytes.size(); len++) {
    SCOPED_TRACE("cut at " + std::to_string(len) + " of " + std::to_string(t.bytes.size()));
    auto r = TraceReader::open_bytes(t.bytes.substr(0, len), "cut.gst");
    if (len < t.block_ends[0]) {
      ASSERT_FALSE(r) << "the header block is incomplete: nothing to open";
      EXPECT_THAT(r.error().message, HasSubstr("cut.gst"));
      if (len > 0 && len < 16) {
        EXPECT_THAT(r.error().message, HasSubstr("cut short inside its 16-byte header"));
      } else if (len > 16) {
        EXPECT_THAT(r.error().message, HasSubstr("block 0 at byte 16 is cut short"));
      }
      continue;
    }
    ASSERT_TRUE(r) << r.error().message;
    const ReadBack back = read_all(**r);
    EXPECT_FALSE(back.end.has_value());
    // Every block that is whole is read; the one cut is named.
    size_t whole = 0;
    while (whole + 1 < t.block_ends.size() && t.block_ends[whole + 1] <= len) whole++;
    EXPECT_EQ(count_events(back), t.events_before[whole]);
    if (len == t.block_ends[whole]) {
      EXPECT_THAT(back.damage, HasSubstr("the recording did not end cleanly"));
      EXPECT_THAT(back.damage, HasSubstr("after " + std::to_string(whole + 1) + " blocks"));
    } else {
      EXPECT_THAT(back.damage, HasSubstr("cut.gst: block " + std::to_string(whole + 1) + " at byte " +
                                         std::to_string(t.block_ends[whole]) + " is cut short"));
      EXPECT_THAT(back.damage, HasSubstr("was the recorder killed?"));
    }
  }
  // The message of the brief, exactly: how many bytes are missing.
  const size_t cut = t.block_ends[2] - 40;
  auto r = TraceReader::open_bytes(t.bytes.substr(0, cut), "trace.gst");
  ASSERT_TRUE(r);
  read_all(**r);
  EXPECT_EQ((*r)->damage(), "trace.gst: block 2 at byte " + std::to_string(t.block_ends[1]) +
                                " is cut short (the file ends 40 bytes early; was the recorder killed?)");
}

TEST(OutputTraceFile, BitFlipsAreChecksumErrorsNamingTheBlock) {
  TempDir dir;
  const SmallTrace t = small_trace(dir);
  for (size_t at = 0; at < t.bytes.size(); at++) {
    SCOPED_TRACE("flip at " + std::to_string(at));
    std::string bytes = t.bytes;
    bytes[at] ^= static_cast<char>(1 << (at % 8));
    auto r = TraceReader::open_bytes(bytes, "flip.gst");
    if (at < t.block_ends[0]) {
      ASSERT_FALSE(r);
      continue;
    }
    ASSERT_TRUE(r) << r.error().message;
    const ReadBack back = read_all(**r);
    size_t block = 0;
    while (t.block_ends[block] <= at) block++;
    const uint64_t start = t.block_ends[block - 1];
    EXPECT_FALSE(back.end.has_value());
    EXPECT_EQ(count_events(back), t.events_before[block - 1])
        << "everything before the damaged block is read";
    const std::string named =
        "flip.gst: block " + std::to_string(block) + " at byte " + std::to_string(start);
    EXPECT_THAT(back.damage, HasSubstr(named));
    EXPECT_THAT(back.damage, HasSubstr("checksum mismatch"));
    EXPECT_THAT(back.damage, HasSubstr("the file is damaged from byte " + std::to_string(start) + " on"));
  }
}

TEST(OutputTraceFile, NotATraceOrNewerFormatFailsAtOpen) {
  TempDir dir;
  const SmallTrace t = small_trace(dir);

  write_bytes(dir.file("text.gst"), "hello, this is not a trace\n");
  auto text = TraceReader::open(dir.file("text.gst"));
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message,
            dir.file("text.gst") +
                " is not a goscope trace file (it does not start with goscope's trace signature)");

  write_bytes(dir.file("empty.gst"), "");
  auto empty = TraceReader::open(dir.file("empty.gst"));
  ASSERT_FALSE(empty);
  EXPECT_THAT(empty.error().message, HasSubstr("is empty"));

  std::string newer = t.bytes;
  newer[8] = 2;
  write_bytes(dir.file("newer.gst"), newer);
  auto future = TraceReader::open(dir.file("newer.gst"));
  ASSERT_FALSE(future);
  EXPECT_THAT(future.error().message,
              HasSubstr("newer.gst was written by a newer goscope (trace format version 2; "
                        "this goscope reads up to version 1)"));

  auto missing = TraceReader::open(dir.file("missing.gst"));
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr("No such file"));
  auto directory = TraceReader::open(dir.file(""));
  ASSERT_FALSE(directory);
  EXPECT_THAT(directory.error().message, HasSubstr("not a regular file"));

  // A gzip or ELF file: also not a trace.
  auto elf = TraceReader::open_bytes(std::string("\x7f"
                                                 "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
                                                 16),
                                     "a.out");
  ASSERT_FALSE(elf);
  EXPECT_THAT(elf.error().message, HasSubstr("a.out is not a goscope trace file"));
}

TEST(OutputTraceFile, KilledRecorderKeepsEveryFlushedBlock) {
  TempDir dir;
  const SmallTrace t = small_trace(dir, /*close=*/false);
  ASSERT_GT(t.events, t.events_before.back()) << "some events were never flushed";
  auto r = TraceReader::open_bytes(t.bytes, "killed.gst");
  ASSERT_TRUE(r) << r.error().message;
  const ReadBack back = read_all(**r);
  EXPECT_EQ(count_events(back), t.events_before.back());
  EXPECT_FALSE(back.end.has_value());
  EXPECT_THAT(back.damage, HasSubstr("killed.gst: the recording did not end cleanly"));
  // The writer went away without close(): its destructor flushed the rest, still without an end.
  const std::string after = read_bytes(dir.file("killed.gst"));
  auto all = TraceReader::open_bytes(after, "killed.gst");
  ASSERT_TRUE(all);
  const ReadBack rest = read_all(**all);
  EXPECT_EQ(count_events(rest), t.events);
  EXPECT_EQ(rest.items.back().kind, TraceReader::Item::Kind::kFinding);
  EXPECT_THAT(rest.damage, HasSubstr("did not end cleanly"));
}

TEST(OutputTraceFile, DataAfterTheEndIsDamage) {
  TempDir dir;
  const SmallTrace t = small_trace(dir);
  const std::string twice = t.bytes + t.bytes.substr(t.block_ends[0], t.block_ends[1] - t.block_ends[0]);
  auto r = TraceReader::open_bytes(twice, "twice.gst");
  ASSERT_TRUE(r);
  const ReadBack back = read_all(**r);
  EXPECT_TRUE(back.end.has_value()) << "the end record was read";
  EXPECT_EQ(count_events(back), t.events);
  EXPECT_THAT(back.damage, HasSubstr("follows the end record"));
}

// ---- size: a channel ping-pong between two goroutines, as the loader decodes it

TEST(OutputTraceFile, PingPongBytesPerEvent) {
  model::StackTable stacks;
  const model::StackId send_stack = stacks.intern(std::vector<uint64_t>{0x4012a0, 0x45e1c5, 0x46b001});
  const model::StackId recv_stack = stacks.intern(std::vector<uint64_t>{0x401320, 0x45e2e5, 0x46b001});
  const model::StackId park_send =
      stacks.intern(std::vector<uint64_t>{0x43a120, 0x4054c9, 0x4012a5, 0x45e1c5});
  const model::StackId park_recv =
      stacks.intern(std::vector<uint64_t>{0x43a120, 0x405a31, 0x401325, 0x45e2e5});
  const model::StackId ready_stack = stacks.intern(std::vector<uint64_t>{0x43b300, 0x405f11, 0x401330});
  const uint64_t ping = 0xc000020060, pong = 0xc0000200c0;
  std::mt19937_64 rng(7);
  std::vector<model::Event> events;
  int64_t t = 5'000'000'000;
  auto add = [&](model::EventKind kind, uint64_t goid, uint64_t object, model::StackId stack, uint16_t flags,
                 uint64_t other = 0, uint32_t reason = 0) {
    model::Event e;
    e.kind = kind;
    e.goid = goid;
    e.tid = 31000 + static_cast<uint32_t>(rng() % 3);
    e.time_ns = t += 200 + static_cast<int64_t>(rng() % 1800);
    e.object = object;
    e.object_kind = object ? model::ObjectKind::kChannel : model::ObjectKind::kNone;
    e.flags = flags;
    e.stack = stack;
    e.other_goid = other;
    if (kind == model::EventKind::kPark) {
      e.wait_reason = reason;
      e.objects = {{object, model::ObjectKind::kChannel, 0}};
    }
    if (flags & model::kBlocking) e.begin_ns = e.time_ns - 150 - static_cast<int64_t>(rng() % 3000);
    events.push_back(std::move(e));
  };
  const uint16_t sent = model::kBlocking | model::kOk,
                 received = model::kBlocking | model::kOk | model::kReceived;
  while (events.size() < 100'000) {
    // g18 sends on ping and waits on pong; g19 receives on ping and answers on pong.
    add(model::EventKind::kPark, 19, ping, park_recv, 0, 0, 2);
    add(model::EventKind::kChanSend, 18, ping, send_stack, sent);
    add(model::EventKind::kReady, 18, 0, ready_stack, 0, 19);
    add(model::EventKind::kPark, 18, pong, park_send, 0, 0, 2);
    add(model::EventKind::kChanRecv, 19, ping, recv_stack, received);
    add(model::EventKind::kChanSend, 19, pong, send_stack, sent);
    add(model::EventKind::kReady, 19, 0, ready_stack, 0, 18);
    add(model::EventKind::kChanRecv, 18, pong, recv_stack, received);
  }
  TempDir dir;
  const std::string path = dir.file("pingpong.gst");
  auto w = TraceWriter::create(path, sample_meta(), std::make_shared<FixedCode>(), stacks);
  ASSERT_TRUE(w);
  const uint64_t header = (*w)->bytes_written();
  for (size_t i = 0; i < events.size(); i++) {
    ASSERT_TRUE((*w)->event(events[i]));
    if (i % 20'000 == 19'999) {
      ASSERT_TRUE((*w)->flush());  // a second of a busy ping-pong
    }
  }
  ASSERT_TRUE((*w)->close(sample_end()));
  const double per_event = double((*w)->bytes_written() - header) / double(events.size());
  std::printf("ping-pong: %zu events, %llu bytes (%llu in the header block), %.2f bytes/event\n",
              events.size(), static_cast<unsigned long long>((*w)->bytes_written()),
              static_cast<unsigned long long>(header), per_event);
  // Go's execution trace spends several bytes per event on such a stream; goscope must not be worse.
  EXPECT_LT(per_event, 4.0);

  auto r = TraceReader::open(path);
  ASSERT_TRUE(r);
  size_t i = 0;
  while (const auto* item = (*r)->next()) {
    ASSERT_LT(i, events.size());
    ASSERT_EQ(item->kind, TraceReader::Item::Kind::kEvent);
    expect_same_event(item->event, events[i++]);
    if (HasFailure()) break;
  }
  EXPECT_EQ(i, events.size());
  EXPECT_EQ((*r)->damage(), "");
}

// ---- the fuzz corpus (tests/fuzz/corpus/trace_reader): small real traces, still readable.
// GOSCOPE_WRITE_FUZZ_CORPUS=1 rewrites them from this test (after a format change).

TEST(OutputTraceFile, FuzzCorpusIsCurrent) {
  const fs::path corpus = fs::path(GOSCOPE_SOURCE_DIR) / "tests/fuzz/corpus/trace_reader";
  if (std::getenv("GOSCOPE_WRITE_FUZZ_CORPUS")) {
    TempDir dir;
    fs::create_directories(corpus);
    write_bytes((corpus / "valid_small.gst").string(), small_trace(dir).bytes);
    write_bytes((corpus / "valid_killed.gst").string(), small_trace(dir, false).bytes);
    model::StackTable stacks;
    const std::string one = dir.file("one.gst");
    auto w = TraceWriter::create(one, sample_meta(), std::make_shared<FixedCode>(), stacks);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->seed(sample_snapshot(0), 0));
    ASSERT_TRUE((*w)->note("n"));
    ASSERT_TRUE((*w)->close(sample_end()));
    write_bytes((corpus / "valid_seed.gst").string(), read_bytes(one));
  }
  size_t valid = 0;
  for (const auto& entry : fs::directory_iterator(corpus)) {
    if (!entry.path().filename().string().starts_with("valid_")) continue;
    SCOPED_TRACE(entry.path().string());
    auto r = TraceReader::open(entry.path().string());
    ASSERT_TRUE(r) << r.error().message;
    const ReadBack back = read_all(**r);
    if (entry.path().filename() == "valid_killed.gst")
      EXPECT_THAT(back.damage, HasSubstr("did not end cleanly"));
    else
      EXPECT_EQ(back.damage, "");
    valid++;
  }
  EXPECT_GE(valid, 3u) << "the corpus lacks its valid traces: run with GOSCOPE_WRITE_FUZZ_CORPUS=1";
}

}  // namespace
}  // namespace goscope::tracefile

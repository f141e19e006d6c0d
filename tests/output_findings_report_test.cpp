// Findings as text, JSON and SARIF, from findings built by hand: an AB-BA mutex
// cycle of two goroutines, a leaked goroutine, a contention rule with metrics, and
// findings with an unknown line, no location at all and a function name that is not UTF-8.
#include "output/findings_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace goscope::output {
namespace {

using detect::Confidence;
using detect::Finding;
using detect::FindingGoroutine;
using detect::Location;
using detect::Rule;
using detect::Severity;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kMutexA = 0xc0000a4000;
constexpr uint64_t kMutexB = 0xc0000a4010;
constexpr uint64_t kChan = 0xc000020060;
constexpr int64_t kSecond = 1'000'000'000;
constexpr const char* kBadName =
    "main.\xff\xfe"
    "bad";                                            // not UTF-8, as a corrupt binary may hold
constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

Location loc(std::string function, std::string file, int line, bool inlined = false) {
  return {.function = std::move(function),
          .file = std::move(file),
          .line = line,
          .pc = 0x4a1b00,
          .inlined = inlined};
}

FindingGoroutine lock_waiter(uint64_t goid, uint64_t waits, uint64_t holds, int line, int64_t blocked_ns,
                             bool exact) {
  FindingGoroutine g;
  g.goid = goid;
  g.state = "blocked";
  g.wait_reason = "sync.Mutex.Lock";
  g.waits_on = {waits};
  g.holds = {holds};
  g.blocked_ns = blocked_ns;
  g.since_exact = exact;
  g.site = loc("main.(*Bank).transfer", "/home/u/app/bank.go", line, true);
  g.stack = {loc("runtime.gopark", "/usr/lib/go/src/runtime/proc.go", 398),
             loc("sync.(*Mutex).lockSlow", "/usr/lib/go/src/sync/mutex.go", 171),
             loc("sync.(*Mutex).Lock", "/usr/lib/go/src/sync/mutex.go", 90, true),
             *g.site,
             loc("main.worker", "/home/u/app/main.go", 30),
             loc("runtime.goexit", "/usr/lib/go/src/runtime/asm_amd64.s", 1650)};
  g.created_at = loc("main.main", "/home/u/app/main.go", 60);
  g.parent_goid = 1;
  return g;
}

Finding abba() {
  Finding f;
  f.rule = Rule::kMutexDeadlock;
  f.severity = Severity::kError;
  f.confidence = Confidence::kLikely;
  f.confidence_reason = "lock holders inferred from stacks (lock events not traced)";
  f.title = "AB-BA deadlock: goroutines 12 and 31";
  f.message = "Goroutine 12 holds A and waits for B; goroutine 31 holds B and waits for A.";
  f.suggestion = "Take A before B in main.(*Bank).transfer, as everywhere else.";
  f.goroutines = {lock_waiter(12, kMutexB, kMutexA, 42, 5'200'000'000, true),
                  lock_waiter(31, kMutexA, kMutexB, 47, 3 * kSecond, false)};
  f.objects = {{.address = kMutexA,
                .kind = model::ObjectKind::kMutex,
                .name = "sync.Mutex 0xc0000a4000 (A)",
                .held_by = {12},
                .holders_inferred = true},
               {.address = kMutexB,
                .kind = model::ObjectKind::kMutex,
                .name = "sync.Mutex 0xc0000a4010 (B)",
                .held_by = {31},
                .holders_inferred = true}};
  f.cycle = {{.from = 12, .object = kMutexB, .to = 31, .relation = "held by"},
             {.from = 31, .object = kMutexA, .to = 12, .relation = "held by"}};
  f.location = f.goroutines[0].site;
  f.detected_ns = 20 * kSecond;
  f.since_ns = 15 * kSecond;
  f.key = "GS101:0xc0000a4000,0xc0000a4010";
  return f;
}

Finding leak() {
  Finding f;
  f.rule = Rule::kGoroutineLeak;
  f.severity = Severity::kError;
  f.title = "goroutine 40 leaked: chan send on a channel nobody can receive from";
  FindingGoroutine g;
  g.goid = 40;
  g.state = "blocked";
  g.wait_reason = "chan send";
  g.waits_on = {kChan};
  g.blocked_ns = 90 * kSecond;
  g.since_exact = false;
  g.site = loc("main.fetch.func1", "/home/u/app/fetch.go", 18);
  g.stack = {loc("runtime.gopark", "/usr/lib/go/src/runtime/proc.go", 398), *g.site};
  g.created_at = loc("main.fetch", "/home/u/app/fetch.go", 15);
  g.parent_goid = 7;
  f.goroutines = {g};
  f.objects = {{.address = kChan,
                .kind = model::ObjectKind::kChannel,
                .name = "chan 0xc000020060",
                .detail = "unbuffered, 1 sender waiting, not closed",
                .made_at = loc("main.fetch", "/home/u/app/fetch.go", 14)}};
  f.location = g.site;
  f.key = "GS201:main.fetch.func1";
  return f;
}

Finding contention() {
  Finding f;
  f.rule = Rule::kMutexContention;
  f.severity = Severity::kWarning;
  f.title = "sync.Mutex 0xc0000180a0: 4.5s spent waiting";
  f.message = "31 goroutines waited for this lock, 4.5s in total.";
  f.metrics = {{"wait_ns", 4.5e9}, {"count", 31}, {"share", 0.25}};
  f.location = loc("main.(*Cache).Get", "/home/u/app/cache.go", 77);
  f.key = "GS302:main.(*Cache).Get";
  return f;
}

// Unknown line, a function name that is not UTF-8, a goroutine with a frame of no file.
Finding unknown_line() {
  Finding f;
  f.rule = Rule::kLongBlocking;
  f.severity = Severity::kInfo;
  f.title = std::string("long blocking in ") + kBadName;
  f.location = loc(kBadName, "/home/u/app/x.go", 0);
  FindingGoroutine g;
  g.goid = 77;
  g.state = "blocked";
  g.wait_reason = "select";
  g.blocked_ns = 2 * kSecond;
  g.stack = {loc(kBadName, "", 0)};
  f.goroutines = {g};
  f.key = "GS301:x";
  return f;
}

Finding nowhere() {
  Finding f;
  f.rule = Rule::kGoroutineGrowth;
  f.severity = Severity::kWarning;
  f.title = "goroutines grew from 10 to 5000 in 60s";
  f.metrics = {{"goroutines", 5000}};
  f.key = "GS202";
  return f;
}

std::string text_of(const std::vector<Finding>& findings, TextOptions options = {}) {
  std::ostringstream out;
  write_findings_text(out, findings, options);
  return out.str();
}

TEST(OutputFindingsReport, TextShowsVerdictCycleAndGoroutines) {
  const std::string t = text_of({abba()});
  EXPECT_THAT(t, HasSubstr("error[GS101 mutex-deadlock]: AB-BA deadlock: goroutines 12 and 31\n"));
  EXPECT_THAT(t, HasSubstr("confidence: likely — lock holders inferred from stacks"));
  EXPECT_THAT(t, HasSubstr("goroutine 12 waits for sync.Mutex 0xc0000a4010 (B), held by goroutine 31\n"));
  EXPECT_THAT(t, HasSubstr("goroutine 31 waits for sync.Mutex 0xc0000a4000 (A), held by goroutine 12\n"));
  EXPECT_THAT(t, HasSubstr("\ngoroutine 12 [sync.Mutex.Lock, 5.2s]:\n"
                           "main.(*Bank).transfer(...)\n\t/home/u/app/bank.go:42\n"
                           "main.worker()\n\t/home/u/app/main.go:30\n"
                           "holds (inferred from stacks): sync.Mutex 0xc0000a4000 (A)\n"
                           "created by main.main in goroutine 1\n\t/home/u/app/main.go:60\n"));
  EXPECT_THAT(t, HasSubstr("\ngoroutine 31 [sync.Mutex.Lock, at least 3s]:\n"));
  EXPECT_THAT(t, HasSubstr("where to look: main.(*Bank).transfer at /home/u/app/bank.go:42\n"));
  EXPECT_THAT(t, HasSubstr("help: Take A before B"));
  EXPECT_THAT(t, HasSubstr("Goroutine 12 holds A and waits for B"));
  EXPECT_TRUE(t.ends_with("\n1 finding: 1 error\n")) << t;
  // Runtime frames and the machinery of sync only when verbose; no colors unless asked.
  EXPECT_THAT(t, Not(HasSubstr("runtime.gopark")));
  EXPECT_THAT(t, Not(HasSubstr("sync.(*Mutex).Lock(")));
  EXPECT_THAT(t, Not(HasSubstr("\033[")));
  const std::string v = text_of({abba()}, {.verbose = true});
  EXPECT_THAT(v, HasSubstr("runtime.gopark()\n\t/usr/lib/go/src/runtime/proc.go:398 pc=0x4a1b00\n"));
  EXPECT_THAT(v, HasSubstr("sync.(*Mutex).Lock(...)\n"));
  EXPECT_THAT(v, HasSubstr("key: GS101:0xc0000a4000,0xc0000a4010"));
  EXPECT_THAT(v, HasSubstr("holds for 5s"));
  EXPECT_THAT(v,
              HasSubstr("object sync.Mutex 0xc0000a4000 (A), held (inferred from stacks) by goroutine 12"));
  const std::string c = text_of({abba()}, {.color = true});
  EXPECT_THAT(c, HasSubstr("\033[1;31merror[GS101 mutex-deadlock]\033[0m"));
}

TEST(OutputFindingsReport, TextMostSevereFirstWithSummary) {
  const std::string t = text_of({contention(), unknown_line(), leak(), nowhere()});
  const size_t leak_at = t.find("error[GS201 goroutine-leak]");
  const size_t contention_at = t.find("warning[GS302 mutex-contention]");
  const size_t growth_at = t.find("warning[GS202 goroutine-growth]");
  const size_t info_at = t.find("info[GS301 long-blocking]");
  ASSERT_NE(leak_at, std::string::npos) << t;
  ASSERT_NE(contention_at, std::string::npos) << t;
  ASSERT_NE(growth_at, std::string::npos) << t;
  ASSERT_NE(info_at, std::string::npos) << t;
  EXPECT_LT(leak_at, contention_at);
  EXPECT_LT(contention_at, growth_at);  // stable within a severity
  EXPECT_LT(growth_at, info_at);
  EXPECT_TRUE(t.ends_with("\n4 findings: 1 error, 2 warnings, 1 info\n")) << t;
  // The leak: how long (at least: the start was not seen), on what, made where.
  EXPECT_THAT(t, HasSubstr("goroutine 40 [chan send, at least 1m30s]:\n"));
  EXPECT_THAT(t, HasSubstr("waits for: chan 0xc000020060 (unbuffered, 1 sender waiting, not closed), made at "
                           "main.fetch (fetch.go:14)\n"));
  EXPECT_THAT(t, HasSubstr("created by main.fetch in goroutine 7\n\t/home/u/app/fetch.go:15\n"));
  // Rules: metrics in one line, durations for people.
  EXPECT_THAT(t, HasSubstr("  count=31, share=0.25, wait=4.5s\n"));
  EXPECT_THAT(t, HasSubstr("where to look: main.(*Cache).Get at /home/u/app/cache.go:77\n"));
  // No line: the file without one; a frame without file.
  EXPECT_THAT(t, HasSubstr(std::string("where to look: ") + kBadName + " at /home/u/app/x.go\n"));
  EXPECT_THAT(t, HasSubstr(std::string(kBadName) + "()\n\t? pc=0x4a1b00\n"));
  // No location at all: no "where to look", the rule's help.
  const std::string g = text_of({nowhere()});
  EXPECT_THAT(g, Not(HasSubstr("where to look")));
  EXPECT_THAT(g, HasSubstr("help: Goroutines are created faster than they exit"));
}

TEST(OutputFindingsReport, TextElidesFramesPastTheLimit) {
  const std::string t = text_of({abba()}, {.max_stack_frames = 1});
  EXPECT_THAT(t, HasSubstr("main.(*Bank).transfer(...)\n\t/home/u/app/bank.go:42\n...1 frames elided...\n"));
  EXPECT_THAT(t, Not(HasSubstr("main.worker()")));
  const std::string all = text_of({abba()}, {.max_stack_frames = 0, .verbose = true});
  EXPECT_THAT(all, HasSubstr("runtime.goexit()"));
  EXPECT_THAT(all, Not(HasSubstr("elided")));
}

TEST(OutputFindingsReport, TextWithoutFindings) {
  EXPECT_EQ(text_of({}), "no findings\n");
}

TEST(OutputFindingsReport, JsonRoundTripsEveryField) {
  const json j = findings_json({contention(), abba(), unknown_line()});
  const json back = json::parse(j.dump());  // must not throw on the name that is not UTF-8
  EXPECT_EQ(back["counts"], json::parse(R"({"error":1,"warning":1,"info":1})"));
  ASSERT_EQ(back["findings"].size(), 3u);
  const json& f = back["findings"][0];  // most severe first
  EXPECT_EQ(f["rule"], "GS101");
  EXPECT_EQ(f["rule_name"], "mutex-deadlock");
  EXPECT_EQ(f["severity"], "error");
  EXPECT_EQ(f["confidence"], "likely");
  EXPECT_EQ(f["confidence_reason"], abba().confidence_reason);
  EXPECT_EQ(f["title"], abba().title);
  EXPECT_EQ(f["message"], abba().message);
  EXPECT_EQ(f["suggestion"], abba().suggestion);
  EXPECT_EQ(f["key"], abba().key);
  EXPECT_EQ(f["since_ns"], 15 * kSecond);
  EXPECT_EQ(f["detected_ns"], 20 * kSecond);
  EXPECT_EQ(f["location"], json::parse(R"({"function":"main.(*Bank).transfer","file":"/home/u/app/bank.go",
                                           "line":42,"inlined":true,"pc":"0x4a1b00"})"));
  ASSERT_EQ(f["goroutines"].size(), 2u);
  const json& g = f["goroutines"][1];
  EXPECT_EQ(g["goid"], 31);
  EXPECT_EQ(g["wait_reason"], "sync.Mutex.Lock");
  EXPECT_EQ(g["blocked_ns"], 3 * kSecond);
  EXPECT_EQ(g["since_exact"], false);
  EXPECT_EQ(g["waits_on"], json::array({"0xc0000a4000"}));
  EXPECT_EQ(g["holds"], json::array({"0xc0000a4010"}));
  EXPECT_EQ(g["parent_goid"], 1);
  EXPECT_EQ(g["created_at"]["function"], "main.main");
  ASSERT_EQ(g["stack"].size(), 6u);
  EXPECT_EQ(g["stack"][2]["function"], "sync.(*Mutex).Lock");
  EXPECT_EQ(g["stack"][2]["inlined"], true);
  EXPECT_EQ(g["stack"][3]["line"], 47);
  ASSERT_EQ(f["objects"].size(), 2u);
  EXPECT_EQ(f["objects"][1]["address"], "0xc0000a4010");
  EXPECT_EQ(f["objects"][1]["kind"], "sync.Mutex");
  EXPECT_EQ(f["objects"][1]["name"], "sync.Mutex 0xc0000a4010 (B)");
  EXPECT_EQ(f["objects"][1]["held_by"], json::array({31}));
  EXPECT_EQ(f["objects"][1]["holders_inferred"], true);
  EXPECT_TRUE(f["objects"][1]["made_at"].is_null());
  EXPECT_EQ(f["cycle"], json::parse(R"([{"from":12,"object":"0xc0000a4010","to":31,"relation":"held by"},
                                        {"from":31,"object":"0xc0000a4000","to":12,"relation":"held by"}])"));
  const json& r = back["findings"][1];
  EXPECT_EQ(r["rule"], "GS302");
  EXPECT_EQ(r["metrics"], json::parse(R"({"count":31,"share":0.25,"wait_ns":4.5e9})"));
  EXPECT_TRUE(r["goroutines"].empty());
  const json& u = back["findings"][2];
  EXPECT_EQ(u["location"]["function"], std::string("main.") + kReplacement + kReplacement + "bad");
  EXPECT_EQ(u["location"]["line"], 0);
  EXPECT_EQ(u["goroutines"][0]["stack"][0]["file"], "");
  EXPECT_TRUE(json::parse(findings_json({}).dump())["findings"].empty());
}

// Every "region" in the log, wherever it is.
void collect_regions(const json& j, std::vector<json>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "region") out.push_back(it.value());
      collect_regions(it.value(), out);
    }
  } else if (j.is_array()) {
    for (const json& e : j) collect_regions(e, out);
  }
}

TEST(OutputFindingsReport, SarifIsWhatCodeScanningAccepts) {
  const json sarif = json::parse(findings_sarif({contention(), abba(), unknown_line(), leak(), nowhere()},
                                                {.tool_version = "0.1.0", .source_root = "/home/u/app/"})
                                     .dump());
  EXPECT_EQ(sarif["version"], "2.1.0");
  EXPECT_EQ(sarif["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  ASSERT_EQ(sarif["runs"].size(), 1u);
  const json& run = sarif["runs"][0];
  const json& driver = run["tool"]["driver"];
  EXPECT_EQ(driver["name"], "goscope");
  EXPECT_EQ(driver["version"], "0.1.0");
  EXPECT_EQ(run["originalUriBaseIds"]["SRCROOT"]["uri"], "file:///home/u/app/");

  // Every rule, once, in enum order (ruleIndex), with texts and a valid level.
  const json& rules = driver["rules"];
  ASSERT_EQ(rules.size(), detect::all_rules().size());
  std::set<std::string> ids;
  for (size_t i = 0; i < rules.size(); i++) {
    EXPECT_EQ(rules[i]["id"], detect::all_rules()[i].id);
    EXPECT_TRUE(ids.insert(rules[i]["id"].get<std::string>()).second) << rules[i]["id"];
    EXPECT_FALSE(rules[i]["name"].get<std::string>().empty());
    EXPECT_FALSE(rules[i]["shortDescription"]["text"].get<std::string>().empty());
    EXPECT_FALSE(rules[i]["fullDescription"]["text"].get<std::string>().empty());
    EXPECT_FALSE(rules[i]["help"]["text"].get<std::string>().empty());
    EXPECT_THAT(rules[i]["defaultConfiguration"]["level"].get<std::string>(),
                ::testing::AnyOf("error", "warning", "note"));
  }
  EXPECT_EQ(rules[0]["id"], "GS101");

  const json& results = run["results"];
  ASSERT_EQ(results.size(), 5u);
  for (const json& r : results) {
    const int index = r["ruleIndex"].get<int>();
    ASSERT_GE(index, 0);
    ASSERT_LT(index, static_cast<int>(rules.size()));
    EXPECT_EQ(r["ruleId"], rules[index]["id"]);
    EXPECT_THAT(r["level"].get<std::string>(), ::testing::AnyOf("error", "warning", "note"));
    EXPECT_FALSE(r["message"]["text"].get<std::string>().empty());
    EXPECT_FALSE(r["partialFingerprints"]["goscope/v1"].get<std::string>().empty());
    EXPECT_TRUE(r["properties"].contains("confidence"));
    EXPECT_TRUE(r["properties"]["goroutines"].is_array());
  }
  for (const json& r : results) {
    ASSERT_FALSE(r["locations"].empty()) << r;
    std::vector<json> all = {r["locations"].begin(), r["locations"].end()};
    if (r.contains("relatedLocations"))
      all.insert(all.end(), r["relatedLocations"].begin(), r["relatedLocations"].end());
    if (r.contains("codeFlows"))
      for (const json& flow : r["codeFlows"][0]["threadFlows"])
        for (const json& step : flow["locations"]) all.push_back(step["location"]);
    for (const json& l : all)
      EXPECT_FALSE(l["physicalLocation"]["artifactLocation"]["uri"].get<std::string>().empty()) << l;
  }
  std::vector<json> regions;
  collect_regions(sarif, regions);
  EXPECT_GT(regions.size(), 5u);
  for (const json& region : regions) EXPECT_GE(region["startLine"].get<int>(), 1) << region;

  // The deadlock: under the source root, relative; the cycle's goroutines as related
  // locations and thread flows (outermost call first, blocking site last).
  const json& d = results[0];
  EXPECT_EQ(d["ruleId"], "GS101");
  EXPECT_EQ(d["level"], "error");
  EXPECT_EQ(d["partialFingerprints"]["goscope/v1"], abba().key);
  EXPECT_EQ(d["properties"]["confidence"], "likely");
  EXPECT_EQ(d["properties"]["goroutines"], json::array({12, 31}));
  EXPECT_THAT(d["message"]["text"].get<std::string>(),
              HasSubstr("goroutine 12 waits for sync.Mutex 0xc0000a4010 (B), held by goroutine 31"));
  const json& physical = d["locations"][0]["physicalLocation"];
  EXPECT_EQ(physical["artifactLocation"], json::parse(R"({"uri":"bank.go","uriBaseId":"SRCROOT"})"));
  EXPECT_EQ(physical["region"]["startLine"], 42);
  EXPECT_EQ(d["locations"][0]["logicalLocations"][0]["fullyQualifiedName"], "main.(*Bank).transfer");
  ASSERT_EQ(d["relatedLocations"].size(), 2u);
  EXPECT_EQ(d["relatedLocations"][1]["id"], 1);
  EXPECT_EQ(d["relatedLocations"][1]["physicalLocation"]["region"]["startLine"], 47);
  ASSERT_EQ(d["codeFlows"].size(), 1u);
  const json& flows = d["codeFlows"][0]["threadFlows"];
  ASSERT_EQ(flows.size(), 2u);
  EXPECT_EQ(flows[0]["id"], "goroutine 12");
  EXPECT_EQ(flows[1]["id"], "goroutine 31");
  const json& steps = flows[0]["locations"];
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0]["location"]["logicalLocations"][0]["fullyQualifiedName"], "runtime.goexit");
  EXPECT_EQ(steps[0]["location"]["physicalLocation"]["artifactLocation"]["uri"],
            "file:///usr/lib/go/src/runtime/asm_amd64.s");
  EXPECT_EQ(steps[2]["importance"], "essential");
  EXPECT_EQ(steps[5]["location"]["logicalLocations"][0]["fullyQualifiedName"], "runtime.gopark");
  for (size_t i = 0; i < steps.size(); i++) EXPECT_EQ(steps[i]["nestingLevel"], i);

  // Then the leak, the warnings in input order, the note.
  EXPECT_EQ(results[1]["ruleId"], "GS201");
  EXPECT_EQ(results[2]["ruleId"], "GS302");
  EXPECT_EQ(results[2]["ruleIndex"], static_cast<int>(Rule::kMutexContention));
  EXPECT_EQ(results[2]["level"], "warning");
  EXPECT_EQ(results[2]["properties"]["metrics"]["count"], 31);
  EXPECT_FALSE(results[2].contains("codeFlows"));
  // No file at all: anchored where the options say (code scanning rejects the whole log
  // for a result without a physical location), and marked.
  EXPECT_EQ(results[3]["ruleId"], "GS202");
  EXPECT_EQ(results[3]["locations"], json::parse(R"([{"physicalLocation":
                                         {"artifactLocation":{"uri":"go.mod","uriBaseId":"SRCROOT"}}}])"));
  EXPECT_EQ(results[3]["properties"]["unlocated"], true);
  EXPECT_FALSE(d["properties"].contains("unlocated"));
  // Line 0: the file without a region; the name that is not UTF-8 made valid.
  const json& u = results[4];
  EXPECT_EQ(u["ruleId"], "GS301");
  EXPECT_EQ(u["level"], "note");
  EXPECT_EQ(u["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "x.go");
  EXPECT_FALSE(u["locations"][0]["physicalLocation"].contains("region"));
  EXPECT_EQ(u["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            std::string("main.") + kReplacement + kReplacement + "bad");
  EXPECT_FALSE(u.contains("codeFlows"));  // its only frame has no file
}

TEST(OutputFindingsReport, SarifUrisWithoutSourceRoot) {
  Finding f = leak();
  f.location = loc("main.f", "/home/u/my app/100%.go", 3);
  f.goroutines[0].site = loc("example.com/app.g", "example.com/app/g.go", 9);
  const json sarif = findings_sarif({f}, {});
  const json& run = sarif["runs"][0];
  EXPECT_FALSE(run.contains("originalUriBaseIds"));
  EXPECT_FALSE(run["tool"]["driver"].contains("version"));
  const json& r = run["results"][0];
  EXPECT_EQ(r["locations"][0]["physicalLocation"]["artifactLocation"],
            json::parse(R"({"uri":"file:///home/u/my%20app/100%25.go"})"));
  EXPECT_EQ(r["relatedLocations"][0]["physicalLocation"]["artifactLocation"],
            json::parse(R"({"uri":"example.com/app/g.go"})"));

  // A location of no file is never written alone (code scanning rejects a logical-only
  // location): the goroutine's site stands in; with nothing at all, the anchor given.
  Finding no_file = leak();
  no_file.location = loc("main.f", "", 0);
  Finding none = nowhere();
  none.location = loc("main.g", "", 0);
  const json log = findings_sarif({no_file, none}, {.unlocated_uri = "/usr/local/bin/app"});
  const json& located = log["runs"][0]["results"][0]["locations"][0];
  EXPECT_EQ(located["physicalLocation"]["artifactLocation"]["uri"], "file:///home/u/app/fetch.go");
  EXPECT_EQ(located["physicalLocation"]["region"]["startLine"], 18);
  const json& anchored = log["runs"][0]["results"][1]["locations"][0];
  EXPECT_EQ(anchored["physicalLocation"],
            json::parse(R"({"artifactLocation":{"uri":"file:///usr/local/bin/app"}})"));
  EXPECT_EQ(anchored["logicalLocations"][0]["fullyQualifiedName"], "main.g");
}

}  // namespace
}  // namespace goscope::output

// What the detectors conclude: deadlocks, leaks and rule violations, as plain
// self-contained data. Locations and stacks are resolved to text when a finding
// is made, so a finding can be printed, written as JSON or SARIF, stored in a
// trace file and read back without the binary. output/findings_report.h writes
// them; the exit code of a command follows the worst severity (exit_code_for).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "model/event.h"

namespace goscope::detect {

enum class Severity : uint8_t { kInfo, kWarning, kError };
const char* severity_name(Severity s);                       // "info", "warning", "error"
std::optional<Severity> parse_severity(std::string_view s);  // also "warn"

// How sure a conclusion is. kCertain: every fact it rests on was observed (lock
// holders from lock events, references from a precise scan of the process).
// kLikely: some fact is inferred (who holds a mutex, from the stacks, when lock
// events were not traced). Finding::confidence_reason says which and why.
enum class Confidence : uint8_t { kLikely, kCertain };
const char* confidence_name(Confidence c);  // "likely", "certain"

// Stable rule ids (SARIF ruleId, JSON "rule"): never renumber, only add.
enum class Rule : uint8_t {
  kMutexDeadlock,      // GS101: goroutines wait for mutexes held inside the set (AB-BA and longer)
  kChannelDeadlock,    // GS102: goroutines wait on channels only each other can use
  kRecursiveRLock,     // GS103: a read lock taken again while a writer waits for the first
  kWaitGroupDeadlock,  // GS104: a WaitGroup wait that can never reach zero
  kCondDeadlock,       // GS105: a Cond wait nobody can signal
  kMixedDeadlock,      // GS106: a cycle through several kinds of objects
  kAllAsleep,          // GS107: every goroutine of the program is blocked
  kGoroutineLeak,      // GS201: blocked forever on an object no live goroutine can use
  kGoroutineGrowth,    // GS202: the goroutine count keeps growing
  kLongBlocking,       // GS301: goroutines blocked long at one site, for one reason
  kMutexContention,    // GS302: much time spent waiting for one lock
  kSchedulingLatency,  // GS303: runnable goroutines waiting long for a CPU
  kStopTheWorld,       // GS304: long stop-the-world pauses
  kCount_,
};
// What kind of problem a rule names (reports group by it; the HTML report draws the
// wait-for graph of every deadlock).
enum class RuleCategory : uint8_t { kDeadlock, kLeak, kGrowth, kLatency };
const char* category_name(RuleCategory c);  // "deadlock", "leak", "growth", "latency"

// Which analysis reaches a rule's verdicts, and so how a replay gets them.
enum class Analysis : uint8_t {
  // The wait-for graph (deadlock.h), judged with a snapshot and the process's memory
  // while it is alive: a recording stores each verdict, a replay adopts them (and
  // judges again what it can without memory, see needs_memory).
  kWaitForGraph,
  // The rules engine (rules.h), from the event stream only: judged again on replay.
  kEventRules,
};

struct RuleInfo {
  Rule rule;
  const char* id;    // "GS101"
  const char* name;  // "mutex-deadlock" (kebab case, for --fail-on style filters and SARIF name)
  const char* short_description;
  const char* help;  // what to look at, one paragraph
  Severity default_severity;
  RuleCategory category;
  Analysis analysis;
  // The verdict rests on who can still reach an object in the live process's memory
  // (channels, WaitGroups, Conds, leaks): nothing can judge it again once the process
  // has gone, only adopt it.
  bool needs_memory;
};
const RuleInfo& rule_info(Rule r);
std::span<const RuleInfo> all_rules();

// A source position, resolved.
struct Location {
  std::string function;  // "main.transfer"
  std::string file;      // as the binary records it
  int line = 0;
  uint64_t pc = 0;  // ELF vaddr; 0 unknown
  bool inlined = false;
  bool known() const { return !function.empty(); }
};

// One object a finding is about.
struct FindingObject {
  uint64_t address = 0;
  model::ObjectKind kind = model::ObjectKind::kNone;
  std::string name;                 // "sync.Mutex 0xc000012345", the way reports name it
  std::string detail;               // "unbuffered, 1 sender waiting, not closed"; "counter 1"; ""
  std::vector<uint64_t> held_by;    // goroutines holding it (mutex, or read locks of an RWMutex)
  bool holders_inferred = false;    // held_by comes from stacks, not from lock events
  std::optional<Location> made_at;  // where a channel was made, when seen
};

// One goroutine a finding is about.
struct FindingGoroutine {
  uint64_t goid = 0;
  std::string state;               // "blocked", "running", ...
  std::string wait_reason;         // the runtime's word ("chan send", "sync.Mutex.Lock", ...)
  std::vector<uint64_t> waits_on;  // object addresses (FindingObject)
  std::vector<uint64_t> holds;     // object addresses it holds (locks)
  int64_t blocked_ns = 0;          // how long it has been blocked (at least, when !since_exact)
  bool since_exact = true;
  std::optional<Location> site;        // where it blocked (first frame of the program's code)
  std::vector<Location> stack;         // innermost first
  std::optional<Location> created_at;  // the go statement
  uint64_t parent_goid = 0;
};

// One edge of a wait-for cycle or chain: `from` waits on `object`, which `to` could
// release (holds it, is its only possible partner, must call Done/Signal...).
struct WaitEdge {
  uint64_t from = 0;
  uint64_t object = 0;
  uint64_t to = 0;
  std::string relation;  // "held by", "only partner", "writer waits for reader", ...
};

struct Finding {
  Rule rule = Rule::kMutexDeadlock;
  Severity severity = Severity::kError;
  Confidence confidence = Confidence::kCertain;
  std::string confidence_reason;  // why it is only likely; what was observed
  std::string title;              // one line: "AB-BA deadlock: goroutines 12 and 31"
  std::string message;            // a paragraph: the story, with the objects and places
  std::string suggestion;         // where to look / what to change
  std::vector<FindingGoroutine> goroutines;
  std::vector<FindingObject> objects;
  std::vector<WaitEdge> cycle;            // in order; empty when not a cycle
  std::optional<Location> location;       // the primary source location (SARIF physicalLocation)
  int64_t detected_ns = 0;                // CLOCK_MONOTONIC when it was concluded
  int64_t since_ns = 0;                   // since when it has held (0: unknown)
  std::map<std::string, double> metrics;  // rule-specific numbers ("wait_ns", "count", ...)
  // A stable key: the same deadlock found again (next tick, same goroutines and
  // objects) has the same key, so live detection reports it once.
  std::string key;
  // Stable across runs of the program (rule and source sites; no addresses, no goroutine
  // ids), for CI systems that match findings between runs (SARIF partialFingerprints).
  // Empty: the key is stable already.
  std::string fingerprint;
};

// The deadlocks and leaks a live session has reported, each once. Judged again and
// again while the program runs, a verdict comes back with the same key; a leak has
// one finding per site, and goroutines that leak at that site later (or that were
// not yet blocked long enough when it was first judged) join it; a deadlock judged
// again with more goroutines replaces the smaller one. Returns true when `found` is new
// (report it now); false when it was known, shows nothing a known one does not (a
// deadlock judged again may come out as a subset of the same set), or grew one.
bool record_finding(std::vector<Finding>& known, Finding found);

// Highest severity present, nullopt for none.
std::optional<Severity> worst_severity(const std::vector<Finding>& findings);
// The command's exit code for these findings: 1 when one is at or above `fail_on`, else 0.
int exit_code_for(const std::vector<Finding>& findings, Severity fail_on);

}  // namespace goscope::detect

#include "detect/findings.h"

#include <algorithm>
#include <array>

namespace goscope::detect {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

std::optional<Severity> parse_severity(std::string_view s) {
  if (s == "info") return Severity::kInfo;
  if (s == "warning" || s == "warn") return Severity::kWarning;
  if (s == "error") return Severity::kError;
  return std::nullopt;
}

const char* confidence_name(Confidence c) {
  return c == Confidence::kCertain ? "certain" : "likely";
}

const char* category_name(RuleCategory c) {
  switch (c) {
    case RuleCategory::kDeadlock:
      return "deadlock";
    case RuleCategory::kLeak:
      return "leak";
    case RuleCategory::kGrowth:
      return "growth";
    case RuleCategory::kLatency:
      return "latency";
  }
  return "?";
}

namespace {

// Every rule with its facts, in enum order. A new rule: a line here (its category, which
// analysis judges it, whether the verdict needs the process's memory), an id never used
// before, and its check in deadlock.cpp or rules.cpp.
constexpr std::array<RuleInfo, static_cast<size_t>(Rule::kCount_)> kRules = {{
    {Rule::kMutexDeadlock, "GS101", "mutex-deadlock",
     "Goroutines wait for mutexes held by each other (AB-BA or a longer cycle)",
     "Each goroutine of the cycle holds a lock another one waits for. Take the locks in one global "
     "order everywhere (for example by address or by a rank), or hold only one at a time.",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, false},
    {Rule::kChannelDeadlock, "GS102", "channel-deadlock",
     "Goroutines wait on channels that only goroutines of the same stuck set can use",
     "Every goroutine that could complete the channel operation is itself stuck. Check the order of "
     "sends and receives, buffer the channel, or use select with the other channel.",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, true},
    {Rule::kRecursiveRLock, "GS103", "recursive-rlock",
     "A read lock is requested again while a writer waits for the first one",
     "sync.RWMutex blocks new readers once a writer waits, so a goroutine that takes RLock twice "
     "deadlocks with any writer. Do not call functions that take RLock while holding it.",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, false},
    {Rule::kWaitGroupDeadlock, "GS104", "waitgroup-deadlock", "A WaitGroup wait can never reach zero",
     "No goroutine that could still call Done (or Add) can reach the WaitGroup. Look for a path that "
     "returns without Done (use defer wg.Done()), or an Add without a matching goroutine.",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, true},
    {Rule::kCondDeadlock, "GS105", "cond-deadlock", "A sync.Cond wait nobody can signal",
     "No goroutine that could call Signal or Broadcast can reach the Cond. Check that every state "
     "change the waiter depends on signals, and that the signaller did not exit first.",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, true},
    {Rule::kMixedDeadlock, "GS106", "deadlock",
     "Goroutines wait for each other through several kinds of objects",
     "Each goroutine of the set waits for something only another goroutine of the set could do. "
     "Follow the cycle: the first edge whose order can change breaks it.",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, true},
    {Rule::kAllAsleep, "GS107", "all-goroutines-asleep",
     "Every goroutine of the program is blocked on a synchronisation object",
     "Nothing can run again: no goroutine is running, sleeping, waiting for a timer or for I/O. "
     "This is the situation in which Go aborts with \"all goroutines are asleep\".",
     Severity::kError, RuleCategory::kDeadlock, Analysis::kWaitForGraph, false},
    {Rule::kGoroutineLeak, "GS201", "goroutine-leak",
     "Goroutines blocked forever on objects no live goroutine can use",
     "The goroutine waits on an object that nothing else references any more: it and what it holds "
     "are never freed. Typical causes: a result channel abandoned after a timeout (make it buffered), "
     "a range over a channel nobody closes (close it when done).",
     Severity::kError, RuleCategory::kLeak, Analysis::kWaitForGraph, true},
    {Rule::kGoroutineGrowth, "GS202", "goroutine-growth", "The number of goroutines keeps growing",
     "Goroutines are created faster than they exit over the whole window. Look at the creation site "
     "with the most live goroutines.",
     Severity::kWarning, RuleCategory::kGrowth, Analysis::kEventRules, false},
    {Rule::kLongBlocking, "GS301", "long-blocking", "Goroutines stay blocked for a long time at one place",
     "The total or longest blocking time at this site and wait reason is above the threshold.",
     Severity::kWarning, RuleCategory::kLatency, Analysis::kEventRules, false},
    {Rule::kMutexContention, "GS302", "mutex-contention", "Much time is spent waiting for one lock",
     "Goroutines waited for this lock longer in total than the threshold. Shorten the critical "
     "section, shard the data, or use a RWMutex for read-mostly data.",
     Severity::kWarning, RuleCategory::kLatency, Analysis::kEventRules, false},
    {Rule::kSchedulingLatency, "GS303", "scheduling-latency", "Runnable goroutines wait long before they run",
     "Goroutines were made runnable but waited longer than the threshold for a CPU: too few "
     "GOMAXPROCS for the load, CPU throttling, or long non-preemptible work.",
     Severity::kWarning, RuleCategory::kLatency, Analysis::kEventRules, false},
    {Rule::kStopTheWorld, "GS304", "stop-the-world", "Long stop-the-world pauses",
     "Stop-the-world pauses longer than the threshold stall every goroutine.",
     Severity::kWarning, RuleCategory::kLatency, Analysis::kEventRules, false},
}};

constexpr bool rules_in_enum_order() {
  for (size_t i = 0; i < kRules.size(); ++i)
    if (static_cast<size_t>(kRules[i].rule) != i) return false;
  return true;
}
static_assert(rules_in_enum_order(), "kRules must list the rules in enum order");

}  // namespace

const RuleInfo& rule_info(Rule r) {
  return kRules[static_cast<size_t>(r)];
}
std::span<const RuleInfo> all_rules() {
  return kRules;
}

std::optional<Severity> worst_severity(const std::vector<Finding>& findings) {
  std::optional<Severity> worst;
  for (const Finding& f : findings)
    if (!worst || f.severity > *worst) worst = f.severity;
  return worst;
}

int exit_code_for(const std::vector<Finding>& findings, Severity fail_on) {
  auto w = worst_severity(findings);
  return w && *w >= fail_on ? 1 : 0;
}

namespace {

bool names_goroutine(const Finding& f, uint64_t goid) {
  return std::any_of(f.goroutines.begin(), f.goroutines.end(),
                     [&](const FindingGoroutine& g) { return g.goid == goid; });
}

// `part` shows nothing `whole` does not: the same rule, and every goroutine of it in `whole`.
bool covered_by(const Finding& part, const Finding& whole) {
  if (part.rule != whole.rule) return false;
  return std::all_of(part.goroutines.begin(), part.goroutines.end(),
                     [&](const FindingGoroutine& g) { return names_goroutine(whole, g.goid); });
}

// The lines of a leak's message about one goroutine ("goroutine 7 waits on ...").
std::string leak_line_of(const std::string& message, uint64_t goid) {
  const std::string head = "goroutine " + std::to_string(goid) + " ";
  for (size_t at = 0; at < message.size();) {
    size_t end = message.find('\n', at);
    if (end == std::string::npos) end = message.size();
    if (message.compare(at, head.size(), head) == 0) return message.substr(at, end - at + 1);
    at = end + 1;
  }
  return {};
}

// `newer` (judged now) also names every goroutine of `older` that it lacks: a leaked
// goroutine stays leaked, even when this judgment did not count it (a moment in
// which it had not been blocked long enough, or was being read).
Finding merged_leak(const Finding& older, Finding newer) {
  std::string lines;
  for (const auto& g : older.goroutines) {
    if (names_goroutine(newer, g.goid)) continue;
    newer.goroutines.push_back(g);
    lines += leak_line_of(older.message, g.goid);
    for (uint64_t a : g.waits_on)
      if (std::none_of(newer.objects.begin(), newer.objects.end(),
                       [&](const FindingObject& o) { return o.address == a; }))
        for (const auto& o : older.objects)
          if (o.address == a) newer.objects.push_back(o);
  }
  // The per-goroutine lines come first, then the explanation.
  const size_t last = newer.message.rfind('\n');
  newer.message.insert(last == std::string::npos ? 0 : last + 1, lines);
  const size_t n = newer.goroutines.size();
  if (const size_t rest = newer.title.find(" blocked forever"); rest != std::string::npos)
    newer.title = "goroutine leak: " + std::to_string(n) + (n == 1 ? " goroutine" : " goroutines") +
                  newer.title.substr(rest);
  newer.metrics["goroutines"] = static_cast<double>(n);
  if (older.since_ns && (!newer.since_ns || older.since_ns < newer.since_ns)) newer.since_ns = older.since_ns;
  return newer;
}

}  // namespace

bool record_finding(std::vector<Finding>& known, Finding found) {
  auto same = std::find_if(known.begin(), known.end(), [&](const Finding& k) { return k.key == found.key; });
  if (same != known.end()) {
    if (found.rule == Rule::kGoroutineLeak && !covered_by(found, *same))
      *same = merged_leak(*same, std::move(found));
    return false;
  }
  if (std::any_of(known.begin(), known.end(), [&](const Finding& k) { return covered_by(found, k); })) return false;
  // The same deadlock judged again with more goroutines (one that blocked on it a moment
  // later is judged once it too has waited long enough): it grows, it is not news.
  if (found.rule != Rule::kGoroutineLeak) {
    auto first = std::find_if(known.begin(), known.end(), [&](const Finding& k) { return covered_by(k, found); });
    if (first != known.end()) {
      const size_t at = size_t(first - known.begin());
      std::erase_if(known, [&](const Finding& k) { return covered_by(k, found); });
      known.insert(known.begin() + std::ptrdiff_t(std::min(at, known.size())), std::move(found));
      return false;
    }
  }
  known.push_back(std::move(found));
  return true;
}

}  // namespace goscope::detect
